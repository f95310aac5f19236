// libFuzzer target: the hardware-profile reader (`--profile FILE`), and what brrr does with a
// profile it accepts: match it to a GPU, write it into a report, and analyse a run against
// its roofs. Any input must end in an InputError or pass all of that; a profile that is
// accepted must also survive its own round trip unchanged.

#include "fuzz_check.hpp"

#include "analyse/analysis.hpp"
#include "render/render.hpp"
#include "report/profiles.hpp"
#include "report/report.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

// The run every accepted profile is tried on: the synthetic demo, which has kernels of every
// class, transfers and ranges.
brrr::Report demo;

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  demo = brrr::read_report(BRRR_SOURCE_DIR "/tests/fixtures/synthetic-demo.json");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  brrr::HardwareProfile profile;
  try {
    profile = brrr::profile_from_json(brrr::parse_json_text(text, "fuzz.json"), "fuzz.json");
  } catch (const brrr::InputError&) {
    return 0;
  }
  const brrr::HardwareProfile again = brrr::profile_from_json(brrr::profile_to_json(profile), "fuzz.json");
  if (!(again == profile)) {
    std::fprintf(stderr, "an accepted profile changes in its round trip\n");
    std::abort();
  }
  for (const auto& name : profile.match_names) (void)brrr::match_profile({profile}, name, profile.compute_capability);
  brrr::Report report = demo;
  report.profile = profile;
  for (auto ceilings : {brrr::Ceilings::datasheet, brrr::Ceilings::measured}) {
    report.analysis = brrr::analyse(report.run, &profile, {ceilings, {}});
    (void)brrr::render(report, brrr::Format::text, {});
    brrr::fuzz::check_reads_back(brrr::render(report, brrr::Format::json, {}), "a report analysed with this profile");
  }
  return 0;
}
