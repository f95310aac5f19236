#pragma once
// Which kernels belong to a communication library (NCCL): the one place where brrr looks at a
// kernel's name to decide something.
//
// Why a name here, when brrr otherwise classifies by measurement only: what makes a kernel a
// collective is not something it does that counters or timing can see (an all-reduce kernel
// moves data at some rate, like a copy kernel), but the library that launched it, and CUPTI
// does not say which library launched a kernel. NCCL names every kernel it launches with a
// fixed prefix; the prefix identifies the library, not the kernel's regime. What its time means
// is then measured: all of it is communication, and how much of it was waiting for other ranks
// comes from comparing ranks (analyse/merge.cpp). The injection library uses the same test to
// leave these kernels out of counter replay: a collective replayed on one rank would wait
// forever for peers that do not replay it.
//
// Header-only and exception-free, because the injection library includes it.

#include <array>
#include <string_view>

namespace brrr {

// Function-name prefixes of the kernels communication libraries launch: NCCL's since 2.19
// ("ncclDevKernel_AllReduce_Sum_f32_RING_LL") and before ("ncclKernel_AllReduce_RING_LL_Sum_float").
inline constexpr std::array<std::string_view, 2> communication_kernel_prefixes{"ncclDevKernel", "ncclKernel"};

// The function name a symbol starts with: the symbol itself for a C name, and for a mangled
// name of a function at namespace scope (_Z, optionally L for internal linkage, then the
// name's length and the name) the name after its length. Names inside a namespace or class
// (_ZN...) give an empty result: no communication library's kernels are such.
constexpr std::string_view leading_function_name(std::string_view symbol) {
  if (!symbol.starts_with("_Z")) return symbol;
  symbol.remove_prefix(2);
  if (symbol.starts_with("L")) symbol.remove_prefix(1);
  std::size_t length = 0;
  std::size_t digits = 0;
  while (digits < symbol.size() && symbol[digits] >= '0' && symbol[digits] <= '9')
    length = length * 10 + static_cast<std::size_t>(symbol[digits++] - '0');
  if (digits == 0 || length > symbol.size() - digits) return {};
  return symbol.substr(digits, length);
}

// True for a kernel symbol (as the driver reports it, mangled or not) or a demangled name that
// a communication library launched.
constexpr bool is_communication_kernel(std::string_view symbol) {
  const std::string_view name = leading_function_name(symbol);
  for (std::string_view prefix : communication_kernel_prefixes)
    if (name.starts_with(prefix)) return true;
  return false;
}

} // namespace brrr
