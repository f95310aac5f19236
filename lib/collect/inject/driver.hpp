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
  // Optional: whether a stream is being captured into a graph.
  CUresult (*cuStreamIsCapturing)(CUstream, CUstreamCaptureStatus*) = nullptr;
};

// The driver's functions, or nullptr when the process has no libcuda loaded (yet).
const Driver* driver();

// The calls of the CUDA runtime that the process loaded as a shared library (PyTorch's, for
// one) that turn a runtime launch's host function into the driver's CUfunction. A failed
// lookup sets the runtime's per-thread last error, which the program reads after its launch:
// callers look only while no error is pending and clear the one their lookup caused.
struct Runtime {
  int (*cudaGetFuncBySymbol)(CUfunction*, const void*) = nullptr;
  int (*cudaPeekAtLastError)() = nullptr;
  int (*cudaGetLastError)() = nullptr;
};

// nullptr while no such runtime is loaded, or when the program links the runtime statically.
const Runtime* runtime();

} // namespace brrr::inject
