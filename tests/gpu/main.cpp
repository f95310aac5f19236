// The GPU tests. They run brrr on real CUDA programs and need a GPU: without one (no driver,
// no device) they exit with 77, which ctest reports as skipped.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

namespace {

// A GPU is there when the driver loads and reports a device.
bool gpu_present() {
  void* cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!cuda) return false;
  using Init = int (*)(unsigned);
  using Count = int (*)(int*);
  auto init = reinterpret_cast<Init>(dlsym(cuda, "cuInit"));
  auto count = reinterpret_cast<Count>(dlsym(cuda, "cuDeviceGetCount"));
  int devices = 0;
  const bool present = init && count && init(0) == 0 && count(&devices) == 0 && devices > 0;
  dlclose(cuda);
  return present;
}

} // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const bool listing = [&] {
    for (int i = 1; i < argc; ++i)
      if (std::strstr(argv[i], "list")) return true;
    return false;
  }();
  if (!listing && !gpu_present()) {
    std::printf("no GPU here: the GPU tests are skipped\n");
    return 77;
  }
  // The user's calibrations would change the roofs the tests check; the calibration test
  // makes its own.
  setenv("XDG_DATA_HOME", "/nonexistent/brrr-gpu-tests", 1);
  return context.run();
}
