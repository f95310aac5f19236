#pragma once
// What the fuzz targets assert beyond "no crash": a report brrr writes must read back.

#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace brrr::fuzz {

// Aborts (libFuzzer saves the input) when `text`, a report brrr wrote, is not one it reads.
inline void check_reads_back(const std::string& text, const char* what) {
  try {
    (void)report_from_json(nlohmann::json::parse(text), "written");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s does not read back: %s\n", what, e.what());
    std::abort();
  }
}

} // namespace brrr::fuzz
