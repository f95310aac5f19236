#include "model/format.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>

namespace brrr {

namespace {

// Three significant digits: 3.14, 31.4, 314.
std::string significant(double v) {
  const double a = std::fabs(v);
  // The thresholds are where rounding carries into another digit: 99.96 prints as "100",
  // not "100.0", and 9.996 as "10.0", not "10.00".
  if (a >= 99.95 || a == 0) return fmt::format("{:.0f}", v);
  if (a >= 9.995) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2f}", v);
}

// Scales v by powers of 1000 to the largest prefix that keeps it at or above 1.
std::string with_prefix(double v, const char* unit) {
  static constexpr std::array<const char*, 7> prefixes{"", "k", "M", "G", "T", "P", "E"};
  std::size_t i = 0;
  while (std::fabs(v) >= 999.5 && i + 1 < prefixes.size()) {
    v /= 1000;
    ++i;
  }
  return significant(v) + " " + prefixes[i] + unit;
}

} // namespace

std::string format_duration(double ns) {
  const double a = std::fabs(ns);
  if (a < 999.5) return significant(ns) + " ns";
  if (a < 999.5e3) return significant(ns / 1e3) + " µs";
  if (a < 999.5e6) return significant(ns / 1e6) + " ms";
  return significant(ns / 1e9) + " s";
}

std::string format_bytes(double bytes) { return with_prefix(bytes, "B"); }
std::string format_bandwidth(double bytes_per_s) { return with_prefix(bytes_per_s, "B/s"); }
std::string format_flop_rate(double flops_per_s) { return with_prefix(flops_per_s, "FLOP/s"); }
std::string format_flops(double flops) { return with_prefix(flops, "FLOP"); }
std::string format_rate(double per_s, const char* unit) { return with_prefix(per_s, unit); }

std::string format_count(double n) {
  if (std::fabs(n) < 10000) return fmt::format("{:.0f}", n);
  // Digits grouped by threes with spaces, as in "38 000", read the same in every locale.
  std::string digits = fmt::format("{:.0f}", std::fabs(n));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string format_signed_duration(int64_t ns) {
  return (ns > 0 ? "+" : "") + format_duration(static_cast<double>(ns));
}

std::string format_percent(double fraction) {
  const double p = fraction * 100;
  if (p != 0 && std::fabs(p) < 1) return fmt::format("{:.1f}%", p);
  return fmt::format("{:.0f}%", p);
}

} // namespace brrr
