#include "collect/inject/cupti_api.hpp"

#include <dlfcn.h>
#include <link.h>

#include <optional>

#include "collect/cupti_locate.hpp"

namespace brrr::inject {
namespace {

// The CUPTI major version whose activity record layouts (CUpti_ActivityKernel10, ...) this
// library was compiled against; another major version delivers other layouts.
constexpr uint32_t supported_cupti_major = CUPTI_API_VERSION / 10000;

std::string loaded_path(void* handle, const std::string& fallback) {
  link_map* map = nullptr;
  if (::dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr &&
      map->l_name[0] != '\0') {
    return map->l_name;
  }
  return fallback;
}

std::string last_dl_error() {
  const char* error = ::dlerror();
  return error != nullptr ? error : "unknown error";
}

} // namespace

std::string load_cupti(CuptiApi& api) {
  void* handle = ::dlopen(cupti_soname, RTLD_NOLOAD | RTLD_NOW);
  std::string tried = cupti_soname;
  if (handle == nullptr) {
    const std::optional<std::string> located = locate_cupti();
    tried = located.value_or(cupti_soname);
    // Never closed: CUPTI keeps threads and driver hooks until the process ends.
    handle = ::dlopen(tried.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  if (handle == nullptr) {
    return "cannot load CUPTI (" + last_dl_error() + "); set BRRR_CUPTI_PATH to the path of " + cupti_soname +
           ": this process is not traced";
  }
  api.path = loaded_path(handle, tried);
#define BRRR_CUPTI_RESOLVE(function)                                                                                   \
  api.function = reinterpret_cast<decltype(api.function)>(::dlsym(handle, #function));                                 \
  if (api.function == nullptr) {                                                                                       \
    return "the CUPTI at " + api.path + " lacks " #function ": this process is not traced";                            \
  }
  BRRR_CUPTI_FUNCTIONS(BRRR_CUPTI_RESOLVE)
#undef BRRR_CUPTI_RESOLVE
  api.InitializeInjectionNvtx2 =
      reinterpret_cast<decltype(api.InitializeInjectionNvtx2)>(::dlsym(handle, "InitializeInjectionNvtx2"));
  uint32_t version = 0;
  if (api.cuptiGetVersion(&version) != CUPTI_SUCCESS || version / 10000 != supported_cupti_major) {
    return "the CUPTI at " + api.path + " has API version " + std::to_string(version) + ", but brrr needs CUPTI " +
           std::to_string(supported_cupti_major) + " (set BRRR_CUPTI_PATH): this process is not traced";
  }
  return {};
}

std::string describe_failure(const CuptiApi& api, std::string_view call, CUptiResult result) {
  const char* text = nullptr;
  if (api.cuptiGetResultString == nullptr || api.cuptiGetResultString(result, &text) != CUPTI_SUCCESS ||
      text == nullptr) {
    text = "unknown CUPTI error";
  }
  std::string message(call);
  message += " failed: ";
  message += text;
  message += " (CUPTI error ";
  message += std::to_string(static_cast<int>(result));
  message += ')';
  return message;
}

} // namespace brrr::inject
