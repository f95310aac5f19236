#pragma once
// Precisions and execution pipes, the two axes along which brrr counts FLOPs, and the
// stable spellings the report and the hardware profiles use for them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace brrr {

enum class Precision : uint8_t { fp64, fp32, tf32, fp16, bf16, fp8, int8 };
inline constexpr std::array all_precisions{Precision::fp64, Precision::fp32, Precision::tf32, Precision::fp16,
                                           Precision::bf16, Precision::fp8,  Precision::int8};

// CUDA cores (the SIMT pipes) or tensor cores.
enum class Pipe : uint8_t { cuda_core, tensor };
inline constexpr std::array all_pipes{Pipe::cuda_core, Pipe::tensor};

[[nodiscard]] std::string_view to_string(Precision p);
[[nodiscard]] std::string_view to_string(Pipe p);
[[nodiscard]] std::optional<Precision> parse_precision(std::string_view s);
[[nodiscard]] std::optional<Pipe> parse_pipe(std::string_view s);

// Floating-point (and int8) operations by precision and pipe. A fused multiply-add is two
// operations, as on every datasheet.
class FlopCounts {
public:
  [[nodiscard]] double get(Precision p, Pipe u) const { return ops_[index(p, u)]; }
  void set(Precision p, Pipe u, double v) { ops_[index(p, u)] = v; }
  void add(Precision p, Pipe u, double v) { ops_[index(p, u)] += v; }
  [[nodiscard]] double total() const;
  [[nodiscard]] double total(Pipe u) const;
  [[nodiscard]] FlopCounts scaled(double factor) const;
  FlopCounts& operator+=(const FlopCounts& other);
  bool operator==(const FlopCounts&) const = default;

private:
  static std::size_t index(Precision p, Pipe u) {
    return static_cast<std::size_t>(p) * 2 + static_cast<std::size_t>(u);
  }
  std::array<double, all_precisions.size() * 2> ops_{};
};

// One number cited as evidence for a conclusion: "median_gap_ns = 3100". The key's suffix
// gives its unit (_ns, _bytes, _fraction, _per_s; none for counts).
struct Evidence {
  std::string key;
  double value = 0;
  bool operator==(const Evidence&) const = default;
};

} // namespace brrr
