#pragma once
// Finds libcupti at run time. Its place differs between machines (<cuda>/extras/CUPTI/lib64,
// <cuda>/targets/<arch>/lib, <cuda>/lib64, ...), so neither brrr nor the injection library
// links it or relies on a build-time RPATH. Plain C++ without exceptions: the injection
// library, built with -fno-exceptions, uses it too.

#include <optional>
#include <string>

namespace brrr {

// The soname brrr's injection library is built against (CUPTI 13).
inline constexpr const char* cupti_soname = "libcupti.so.13";

// The path of libcupti.so.13: $BRRR_CUPTI_PATH when set (returned as it is, so that a wrong
// override fails loudly where it is loaded instead of being silently replaced by another
// copy); else the first existing candidate under $CUDA_HOME, $CUDA_PATH, /usr/local/cuda and
// /usr/local/cuda-13*, then in $LD_LIBRARY_PATH and the system library folders. nullopt when
// none exists.
std::optional<std::string> locate_cupti();

} // namespace brrr
