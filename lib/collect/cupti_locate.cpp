#include "collect/cupti_locate.hpp"

#include <glob.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace brrr {
namespace {

#if defined(__aarch64__)
constexpr std::string_view target_folder = "targets/sbsa-linux/lib";
constexpr std::string_view system_folders[] = {"/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"};
#else
constexpr std::string_view target_folder = "targets/x86_64-linux/lib";
constexpr std::string_view system_folders[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"};
#endif

// Where CUDA toolkits put libcupti, relative to the toolkit's root, most specific first.
constexpr std::string_view toolkit_folders[] = {"extras/CUPTI/lib64", target_folder, "lib64", "lib"};

std::optional<std::string> existing(std::string_view folder) {
  std::string path(folder);
  path += '/';
  path += cupti_soname;
  if (::access(path.c_str(), R_OK) == 0) {
    return path;
  }
  return std::nullopt;
}

std::optional<std::string> in_toolkit(std::string_view root) {
  for (const std::string_view folder : toolkit_folders) {
    std::string candidate(root);
    candidate += '/';
    candidate += folder;
    if (auto path = existing(candidate)) {
      return path;
    }
  }
  return std::nullopt;
}

// Versioned toolkits that /usr/local/cuda may not point to, newest (last in glob's order) first.
std::optional<std::string> in_versioned_toolkits() {
  glob_t found{};
  std::optional<std::string> path;
  if (::glob("/usr/local/cuda-13*", GLOB_ONLYDIR, nullptr, &found) == 0) {
    for (size_t i = found.gl_pathc; i > 0 && !path; --i) {
      path = in_toolkit(found.gl_pathv[i - 1]);
    }
  }
  ::globfree(&found);
  return path;
}

std::optional<std::string> in_search_path(std::string_view folders) {
  while (!folders.empty()) {
    const size_t end = folders.find(':');
    const std::string_view folder = folders.substr(0, end);
    if (!folder.empty()) {
      if (auto path = existing(folder)) {
        return path;
      }
    }
    if (end == std::string_view::npos) {
      break;
    }
    folders.remove_prefix(end + 1);
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> locate_cupti() {
  if (const char* override_path = std::getenv("BRRR_CUPTI_PATH"); override_path != nullptr && *override_path != '\0') {
    return std::string(override_path);
  }
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    if (const char* root = std::getenv(variable); root != nullptr && *root != '\0') {
      if (auto path = in_toolkit(root)) {
        return path;
      }
    }
  }
  if (auto path = in_toolkit("/usr/local/cuda")) {
    return path;
  }
  if (auto path = in_versioned_toolkits()) {
    return path;
  }
  if (const char* folders = std::getenv("LD_LIBRARY_PATH"); folders != nullptr) {
    if (auto path = in_search_path(folders)) {
      return path;
    }
  }
  for (const std::string_view folder : system_folders) {
    if (auto path = existing(folder)) {
      return path;
    }
  }
  return std::nullopt;
}

} // namespace brrr
