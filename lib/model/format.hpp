#pragma once
// Human-readable figures: durations, bytes, rates and fractions, in SI units (the units of
// datasheets: GB/s and TFLOP/s), with three significant digits.

#include <cstdint>
#include <string>

namespace brrr {

[[nodiscard]] std::string format_duration(double ns);
[[nodiscard]] std::string format_bytes(double bytes);
[[nodiscard]] std::string format_bandwidth(double bytes_per_s);
[[nodiscard]] std::string format_flop_rate(double flops_per_s);
[[nodiscard]] std::string format_flops(double flops);
[[nodiscard]] std::string format_count(double n);
// Any other rate: "1.57 POP/s", "252 k/s".
[[nodiscard]] std::string format_rate(double per_s, const char* unit);
[[nodiscard]] std::string format_percent(double fraction);
// A difference: "+1.20 ms", "-3.40 s", "0 ns".
[[nodiscard]] std::string format_signed_duration(int64_t ns);

} // namespace brrr
