#include "model/run.hpp"

#include <cstring>

namespace brrr {

namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> parse_by_name(std::string_view s, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<Enum>(i);
  return std::nullopt;
}

constexpr std::array<std::string_view, 6> idle_cause_names{"startup", "launch", "sync", "copy", "host", "teardown"};
constexpr std::array<std::string_view, 7> transfer_kind_names{"htod", "dtoh",   "dtod",   "htoh",
                                                              "peer", "memset", "unknown"};
constexpr std::array<std::string_view, 6> memory_kind_names{"unknown", "pageable", "pinned",
                                                            "device",  "array",    "managed"};

} // namespace

std::string signal_name(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
}

std::string_view to_string(IdleCause c) { return idle_cause_names[static_cast<std::size_t>(c)]; }
std::optional<IdleCause> parse_idle_cause(std::string_view s) { return parse_by_name<IdleCause>(s, idle_cause_names); }
std::string_view to_string(TransferKind k) { return transfer_kind_names[static_cast<std::size_t>(k)]; }
std::optional<TransferKind> parse_transfer_kind(std::string_view s) {
  return parse_by_name<TransferKind>(s, transfer_kind_names);
}
std::string_view to_string(MemoryKind k) { return memory_kind_names[static_cast<std::size_t>(k)]; }
std::optional<MemoryKind> parse_memory_kind(std::string_view s) {
  return parse_by_name<MemoryKind>(s, memory_kind_names);
}

uint64_t Run::idle_ns(IdleCause c) const {
  for (const auto& s : idle)
    if (s.cause == c) return s.total_ns;
  return 0;
}

uint64_t Run::kernel_launches() const {
  uint64_t n = 0;
  for (const auto& k : kernels) n += k.launches;
  return n;
}

} // namespace brrr
