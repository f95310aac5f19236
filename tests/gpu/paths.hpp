#pragma once
// Where the GPU tests find what they run: the build's programs next to the test executable, and
// the source tree (its examples) at $BRRR_SOURCE_DIR, which ctest sets, else the current folder.

#include <cstdlib>
#include <filesystem>

namespace brrr::gpu_testing {

inline std::filesystem::path bin_dir() { return std::filesystem::read_symlink("/proc/self/exe").parent_path(); }

inline std::filesystem::path source_dir() {
  const char* dir = std::getenv("BRRR_SOURCE_DIR");
  return dir && *dir ? std::filesystem::path(dir) : std::filesystem::current_path();
}

} // namespace brrr::gpu_testing
