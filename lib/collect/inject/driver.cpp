#include "collect/inject/driver.hpp"

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstring>

namespace brrr::inject {

const Driver* driver() {
  // Resolved once, on the first call after the driver is loaded; never freed.
  static const Driver* resolved = []() -> const Driver* {
    void* handle = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) return nullptr;
    auto* d = new Driver;
    d->cuCtxGetCurrent = reinterpret_cast<decltype(d->cuCtxGetCurrent)>(::dlsym(handle, "cuCtxGetCurrent"));
    d->cuCtxGetDevice = reinterpret_cast<decltype(d->cuCtxGetDevice)>(::dlsym(handle, "cuCtxGetDevice"));
    d->cuCtxSynchronize = reinterpret_cast<decltype(d->cuCtxSynchronize)>(::dlsym(handle, "cuCtxSynchronize"));
    d->cuFuncGetParamInfo = reinterpret_cast<decltype(d->cuFuncGetParamInfo)>(::dlsym(handle, "cuFuncGetParamInfo"));
    d->cuStreamIsCapturing = reinterpret_cast<decltype(d->cuStreamIsCapturing)>(::dlsym(handle, "cuStreamIsCapturing"));
    if (d->cuCtxGetCurrent == nullptr || d->cuCtxGetDevice == nullptr || d->cuCtxSynchronize == nullptr) return nullptr;
    return d;
  }();
  return resolved;
}

namespace {

// The runtime's calls from a library handle, or nullptr when it lacks any of them.
const Runtime* runtime_from(void* handle) {
  auto* r = new Runtime;
  r->cudaGetFuncBySymbol = reinterpret_cast<decltype(r->cudaGetFuncBySymbol)>(::dlsym(handle, "cudaGetFuncBySymbol"));
  r->cudaPeekAtLastError = reinterpret_cast<decltype(r->cudaPeekAtLastError)>(::dlsym(handle, "cudaPeekAtLastError"));
  r->cudaGetLastError = reinterpret_cast<decltype(r->cudaGetLastError)>(::dlsym(handle, "cudaGetLastError"));
  if (r->cudaGetFuncBySymbol != nullptr && r->cudaPeekAtLastError != nullptr && r->cudaGetLastError != nullptr)
    return r;
  delete r;
  return nullptr;
}

} // namespace

const Runtime* runtime() {
  // Found once and kept; looked for again while missing, since a Python program loads its
  // runtime long after the driver started brrr.
  static std::atomic<const Runtime*> found{nullptr};
  if (const Runtime* r = found.load(std::memory_order_acquire)) return r;
  const Runtime* r = ::dlsym(RTLD_DEFAULT, "cudaGetFuncBySymbol") != nullptr ? runtime_from(RTLD_DEFAULT) : nullptr;
  if (r == nullptr) {
    // A runtime loaded as a dependency of a library opened with RTLD_LOCAL is not in the
    // global scope: find it among the loaded objects by name.
    ::dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* out) {
          if (info->dlpi_name == nullptr || std::strstr(info->dlpi_name, "libcudart.so") == nullptr) return 0;
          void* handle = ::dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
          if (handle == nullptr) return 0;
          *static_cast<const Runtime**>(out) = runtime_from(handle);
          return *static_cast<const Runtime**>(out) != nullptr ? 1 : 0;
        },
        &r);
  }
  if (r != nullptr) found.store(r, std::memory_order_release);
  return r;
}

} // namespace brrr::inject
