#pragma once
// The few CUDA driver calls the injection library makes itself, resolved from the libcuda the
// process already loaded (the library never links or loads the driver on its own).

#include <cuda.h>

namespace brrr::inject {

struct Driver {
  CUresult (*cuCtxGetCurrent)(CUcontext*) = nullptr;
  CUresult (*cuCtxGetDevice)(CUdevice*) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  // Optional (drivers of CUDA 12.4 and later): the layout of a kernel's parameters.
  CUresult (*cuFuncGetParamInfo)(CUfunction, size_t, size_t*, size_t*) = nullptr;
};

// The driver's functions, or nullptr when the process has no libcuda loaded (yet).
const Driver* driver();

} // namespace brrr::inject
