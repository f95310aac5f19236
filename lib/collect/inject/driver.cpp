#include "collect/inject/driver.hpp"

#include <dlfcn.h>

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
    if (d->cuCtxGetCurrent == nullptr || d->cuCtxGetDevice == nullptr || d->cuCtxSynchronize == nullptr) return nullptr;
    return d;
  }();
  return resolved;
}

} // namespace brrr::inject
