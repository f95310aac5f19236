// libFuzzer target: the report reader, and everything `brrr explain` does with a report it
// accepts. Any input must end in an InputError (one clear line) or in a report that analyses,
// renders in every format, and whose JSON rendering reads back; anything else (a crash,
// another exception, a sanitizer report, a leak) is a bug.

#include "fuzz_check.hpp"

#include "analyse/analysis.hpp"
#include "render/render.hpp"
#include "report/report.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  brrr::Report report;
  try {
    report = brrr::report_from_json(brrr::parse_json_text(text, "fuzz.json"), "fuzz.json");
  } catch (const brrr::InputError&) {
    return 0;
  }
  const brrr::HardwareProfile* profile = report.profile ? &*report.profile : nullptr;
  report.analysis = brrr::analyse(report.run, profile, {report.analysis.ceilings, {}});
  brrr::RenderOptions options;
  options.unicode = true;
  for (auto format : {brrr::Format::text, brrr::Format::md, brrr::Format::csv})
    (void)brrr::render(report, format, options);
  brrr::fuzz::check_reads_back(brrr::render(report, brrr::Format::json, options), "the JSON rendering of a report");
  return 0;
}
