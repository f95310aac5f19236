#pragma once
// Golden files: output compared byte for byte with a committed file (tests/golden/). Run the
// tests with BRRR_UPDATE_GOLDEN=1 to rewrite the files when a change of output is intended.

#include "trace_builder.hpp"

#include "report/report.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace brrr::testing {

// Whether an environment variable is set to "1".
inline bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && std::string(v) == "1";
}

inline void check_golden(const std::filesystem::path& golden, const std::string& actual) {
  if (env_flag("BRRR_UPDATE_GOLDEN")) {
    write_file_atomically(golden, actual, true);
    MESSAGE("rewrote ", golden.string());
  }
  INFO("golden file ", golden.string(), "; run the tests with BRRR_UPDATE_GOLDEN=1 to accept the new output");
  CHECK(actual == read_text(golden));
}

} // namespace brrr::testing
