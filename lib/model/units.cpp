#include "model/units.hpp"

namespace brrr {

namespace {
constexpr std::array<std::string_view, all_precisions.size()> precision_names{"fp64", "fp32", "tf32", "fp16",
                                                                              "bf16", "fp8",  "int8"};
constexpr std::array<std::string_view, all_pipes.size()> pipe_names{"cuda_core", "tensor"};
} // namespace

std::string_view to_string(Precision p) { return precision_names[static_cast<std::size_t>(p)]; }
std::string_view to_string(Pipe p) { return pipe_names[static_cast<std::size_t>(p)]; }

std::optional<Precision> parse_precision(std::string_view s) {
  for (auto p : all_precisions)
    if (to_string(p) == s) return p;
  return std::nullopt;
}

std::optional<Pipe> parse_pipe(std::string_view s) {
  for (auto u : all_pipes)
    if (to_string(u) == s) return u;
  return std::nullopt;
}

double FlopCounts::total() const {
  double sum = 0;
  for (double v : ops_) sum += v;
  return sum;
}

double FlopCounts::total(Pipe u) const {
  double sum = 0;
  for (auto p : all_precisions) sum += get(p, u);
  return sum;
}

FlopCounts FlopCounts::scaled(double factor) const {
  FlopCounts out = *this;
  for (double& v : out.ops_) v *= factor;
  return out;
}

FlopCounts& FlopCounts::operator+=(const FlopCounts& other) {
  for (std::size_t i = 0; i < ops_.size(); ++i) ops_[i] += other.ops_[i];
  return *this;
}

} // namespace brrr
