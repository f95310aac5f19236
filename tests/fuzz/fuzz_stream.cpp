// libFuzzer target: the record-stream parser (what the injection library writes inside the
// profiled process, read back by brrr after the target ends), and the pipeline behind it, as
// `brrr profile` runs it: merge the streams of two processes, build the run, analyse it on a
// built-in profile, render it, and write the report. A stream may be cut short or corrupt at
// any byte (a process killed mid-write); whatever brrr makes of it must be a report that
// `brrr explain` reads back.

#include "fuzz_check.hpp"

#include "analyse/analysis.hpp"
#include "collect/stream_reader.hpp"
#include "model/build.hpp"
#include "render/render.hpp"
#include "report/profiles.hpp"
#include "report/report.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace {

// The seed streams (tests/fuzz/corpus/stream) place their events in these ten seconds, as a
// real target's events lie between the launcher's start and end.
constexpr uint64_t start_ns = 1'700'000'000'000'000'000ULL;
constexpr uint64_t end_ns = start_ns + 10'000'000'000ULL;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span bytes(reinterpret_cast<const std::byte*>(data), size);
  brrr::Trace trace;
  // Twice, as two processes: merging interns strings and devices across streams.
  for (const char* source : {"1.brrrs", "2.brrrs"})
    if (!brrr::read_stream(bytes, source, trace).ok) return 0;

  brrr::LaunchFacts facts;
  facts.info.tool_version = "fuzz";
  facts.info.command = {"fuzz"};
  facts.info.exit = {brrr::ExitStatus::Kind::exited, 0, 0};
  facts.start_ns = start_ns;
  facts.end_ns = end_ns;
  facts.collection.counters_mode = "first:1";
  facts.collection.counters_available = !trace.counters.empty();
  brrr::Report report;
  report.run = brrr::build_run(trace, facts);
  report.profile = brrr::builtin_profiles().front();
  report.analysis = brrr::analyse(report.run, &*report.profile);
  (void)brrr::render(report, brrr::Format::text, {});
  brrr::fuzz::check_reads_back(brrr::report_to_text(report), "the report of a stream");
  return 0;
}
