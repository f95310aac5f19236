// The Chrome trace-event export (`brrr profile --trace`): every file it writes is checked
// against the trace-event format as Perfetto and chrome://tracing read it (the fields each
// phase needs, durations never negative, slices of one row nested and never half over one
// another, a name for every process and row, flow arrows paired), and against the model it
// comes from: one slice per kernel, copy and set, the idle gaps the model found with their
// causes, the times the model gave every event.

#include <doctest/doctest.h>

#include "process_runner.hpp"
#include "trace_builder.hpp"
#include "trace_events_check.hpp"

#include "collect/stream_format.hpp"
#include "render/trace_events.hpp"
#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <set>

namespace {

using namespace brrr;
using namespace brrr::testing;
using nlohmann::json;
namespace fs = std::filesystem;

struct Exported {
  Run run;
  TimelineDetail timeline;
  TraceEventCounts counts;
  std::string text;
  std::size_t chunks = 0;
};

Exported export_trace(const TraceBuilder& b, const GapLimits& limits = {}) {
  Exported e;
  e.run = build_run(b.trace, b.facts, limits, &e.timeline);
  e.counts = write_trace_events(b.trace, e.run, e.timeline, [&](std::string_view chunk) {
    e.text += chunk;
    e.chunks++;
  });
  return e;
}

// A small training step: launches on one stream with short launch gaps, a pageable copy the
// host waits for, a memset, a kernel on a second stream beside the first, a synchronization and
// the host work after it, inside nested NVTX ranges, and a counter replay cut out of the time.
TraceBuilder training_step() {
  TraceBuilder b(1'000'000);
  b.process(4242, 500);
  b.device("NVIDIA H100 80GB HBM3", 9, 0, 132);
  b.range("step", 900, 900'000);
  b.range("forward", 950, 20'000);
  const uint32_t copy =
      b.copy(1'000, 6'000, 1 << 20, {CopyKind::host_to_device, MemoryKind::pageable, MemoryKind::device, false, 7});
  b.api(copy, 950, 6'100, ApiKind::memcpy);
  b.launch("_Z4gemmPKfS0_Pfi", 6'200, 6'300, 6'500, 12'000, {7});
  b.launch("_Z4reluPf", 6'400, 6'450, 12'500, 13'000, {7});
  b.launch("_Z4reluPf", 13'000, 13'050, 13'200, 13'700, {7});
  b.launch("_Z6reducePf", 13'100, 13'150, 13'300, 15'000, {13});
  b.set(15'500, 16'000, 4096, true, 7);
  b.sync(15'100, 16'100);
  b.range("backward", 20'000, 600'000);
  // Host work after the sync: a long gap.
  b.launch("_Z4gemmPKfS0_Pfi", 400'000, 400'100, 400'300, 410'000, {7});
  // brrr replayed this launch for counters: 5 µs of its time are cut out of the timeline.
  b.launch("_Z4reluPf", 410'100, 410'150, 410'200, 410'700, {7});
  b.tool(410'700, 415'700);
  b.sync(410'800, 416'000);
  return b;
}

TEST_CASE("trace events: a training step, slice by slice") {
  const TraceBuilder b = training_step();
  const Exported e = export_trace(b);
  const ParsedTrace parsed = check_trace_events(e.text);

  // One slice per kernel, copy, set, API call, range and synchronization of the trace.
  CHECK(parsed.of("kernel").size() == b.trace.kernels.size());
  CHECK(parsed.of("copy").size() == b.trace.copies.size());
  CHECK(parsed.of("set").size() == b.trace.sets.size());
  CHECK(parsed.of("api").size() == b.trace.apis.size());
  CHECK(parsed.of("nvtx").size() == b.trace.ranges.size());
  CHECK(parsed.of("sync").size() == b.trace.syncs.size());
  CHECK(e.counts.kernels == b.trace.kernels.size());
  CHECK(e.counts.slices() == parsed.slices.size());
  check_gaps_match_model(parsed, e.run);

  // Times are the model's: the first kernel starts 6.5 µs after the target, and the cut
  // 5 µs of replay move everything after it earlier.
  const auto kernels = parsed.of("kernel");
  const auto gemm = std::find_if(kernels.begin(), kernels.end(), [](const Slice* s) {
    return s->name == "gemm(float const*, float const*, float*, int)";
  });
  REQUIRE(gemm != kernels.end());
  CHECK((*gemm)->start_ns == 6'500);
  CHECK((*gemm)->end_ns == 12'000);
  CHECK((*gemm)->args.at("grid") == "1x1x1");
  CHECK((*gemm)->args.at("block") == "256x1x1");
  CHECK(parsed.other_data.at("wall_ns") == e.run.timeline.wall_ns);
  CHECK(e.run.timeline.wall_ns == 995'000);
  // The synchronization began inside the cut: it starts where the cut was made.
  const auto syncs = parsed.of("sync");
  CHECK(std::any_of(syncs.begin(), syncs.end(),
                    [](const Slice* s) { return s->start_ns == 410'700 && s->end_ns == 411'000; }));

  // Every slice's time is where the model placed it: activities as the timeline has them.
  for (const auto& a : e.timeline.activities) {
    const auto& slices = parsed.slices;
    CHECK(std::any_of(slices.begin(), slices.end(),
                      [&](const Slice& s) { return s.start_ns == a.start && s.end_ns == a.end; }));
  }

  // Tracks: the host threads (the ranges' thread 1; the API calls here carry no thread), the
  // synchronizations, two streams, and the idle gaps in a process of their own.
  std::set<std::string> names;
  for (const auto& [tid, name] : parsed.thread_names) names.insert(name);
  CHECK(names == std::set<std::string>{"host thread 1", "host thread (not recorded)", "host synchronizations",
                                       "GPU 0 stream 7 (context 0)", "GPU 0 stream 13 (context 0)",
                                       "GPU idle, by cause"});
  CHECK(parsed.process_names.at(4242) == "./program");
  CHECK(parsed.process_names.size() == 2);

  // Each launch call points at the work it launched, and the memcpy call at its copy.
  CHECK(parsed.flows == 7);
  CHECK(e.counts.flows == 7);

  // Gap names say their cause as the text report does.
  std::set<std::string> gap_names;
  for (const Slice* s : parsed.of("idle")) gap_names.insert(s->name);
  CHECK(gap_names.count("idle: startup") == 1);
  CHECK(gap_names.count("idle: host work") == 1);
}

TEST_CASE("trace events: work that overlaps on one stream gets a second row") {
  TraceBuilder b(10'000);
  b.process(7, 0);
  // Two kernels of one graph on one stream, the second starting before the first ends.
  b.kernel("a", 1'000, 4'000, {.stream = 3, .graph = 1});
  b.kernel("b", 2'000, 5'000, {.stream = 3, .graph = 1});
  // A third runs inside the first, and a fourth starts with the first, shorter: nothing nests
  // on a stream, so that needs a third row.
  b.kernel("c", 2'500, 3'000, {.stream = 3, .graph = 1});
  b.kernel("d", 1'000, 2'000, {.stream = 3, .graph = 1});
  const Exported e = export_trace(b);
  const ParsedTrace parsed = check_trace_events(e.text);
  CHECK(parsed.of("kernel").size() == 4);
  std::set<std::string> rows;
  for (const Slice* s : parsed.of("kernel")) rows.insert(parsed.thread_names.at(s->tid));
  CHECK(rows == std::set<std::string>{"GPU 0 stream 3 (context 0)", "GPU 0 stream 3 (context 0) (overlapping, row 2)",
                                      "GPU 0 stream 3 (context 0) (overlapping, row 3)"});
}

TEST_CASE("trace events: work of no length is exported, as the report counts it") {
  // A 4-byte memset can start and end on one tick of the GPU's clock; a copy can run inside a
  // cut. The report counts both as transfers, so the export must show them.
  TraceBuilder b(10'000);
  b.process(7, 0);
  b.kernel("a", 1'000, 2'000);
  b.set(3'000, 3'000, 4);
  b.copy(5'000, 5'000, 16);
  b.kernel("b", 6'000, 7'000);
  const Exported e = export_trace(b);
  const ParsedTrace parsed = check_trace_events(e.text);
  uint64_t transfers = 0;
  for (const auto& t : e.run.transfers) transfers += t.count;
  CHECK(transfers == 2);
  CHECK(parsed.of("copy").size() + parsed.of("set").size() == 2);
  CHECK(parsed.of("kernel").size() == 2);
  CHECK(e.run.timeline.wall_ns == 10'000);
}

TEST_CASE("trace events: names that JSON must escape, and bytes that are not UTF-8") {
  TraceBuilder b(10'000);
  b.process(7, 0);
  b.trace.processes[0].command = {"./prog", "--name=\"x\"\\y"};
  b.kernel("k\"quoted\"\\back\nline\xff", 1'000, 2'000);
  b.range(std::string("r\x01\xc3"), 500, 3'000);
  const Exported e = export_trace(b);
  const ParsedTrace parsed = check_trace_events(e.text);
  REQUIRE(parsed.of("kernel").size() == 1);
  CHECK(parsed.of("kernel")[0]->name.rfind("k\"quoted\"\\back\nline", 0) == 0);
  CHECK(parsed.process_names.at(7) == "./prog --name=\"x\"\\y");
  CHECK(parsed.of("nvtx").size() == 1);
}

TEST_CASE("trace events: random timelines keep the format and agree with the model") {
  std::mt19937 rng(20261125);
  for (int i = 0; i < 300; ++i) {
    CAPTURE(i);
    const TraceBuilder b = random_trace(rng);
    const Exported e = export_trace(b);
    const ParsedTrace parsed = check_trace_events(e.text);
    uint64_t kernels = 0, copies = 0, sets = 0;
    for (const auto& a : e.timeline.activities) {
      kernels += a.source() == ActivitySource::kernel ? 1 : 0;
      copies += a.source() == ActivitySource::copy ? 1 : 0;
      sets += a.source() == ActivitySource::set ? 1 : 0;
    }
    CHECK(parsed.of("kernel").size() == kernels);
    CHECK(parsed.of("copy").size() == copies);
    CHECK(parsed.of("set").size() == sets);
    CHECK(kernels <= b.trace.kernels.size());
    CHECK(parsed.of("api").size() == b.trace.apis.size());
    CHECK(parsed.of("nvtx").size() == b.trace.ranges.size());
    CHECK(parsed.of("sync").size() == b.trace.syncs.size());
    CHECK(e.counts.slices() == parsed.slices.size());
    CHECK(e.counts.tracks == parsed.thread_names.size());
    check_gaps_match_model(parsed, e.run);
    // Nothing lies outside the run.
    for (const auto& s : parsed.slices) CHECK(s.end_ns <= e.run.timeline.wall_ns);
  }
}

TEST_CASE("trace events: the file is streamed in pieces") {
  TraceBuilder b(100'000'000);
  b.process(4242, 0);
  for (int64_t i = 0; i < 20'000; ++i)
    b.launch("_Z4tinyPf", 1'000 + i * 4'000, 1'800 + i * 4'000, 2'000 + i * 4'000, 4'000 + i * 4'000);
  const Exported e = export_trace(b);
  CHECK(e.chunks > 2);
  CHECK(e.text.size() / e.chunks < (2u << 20));
  const ParsedTrace parsed = check_trace_events(e.text);
  CHECK(parsed.of("kernel").size() == 20'000);
  CHECK(parsed.flows == 20'000);
  check_gaps_match_model(parsed, e.run);
}

TEST_CASE("write_file_atomically from pieces") {
  TempDir dir("atomic-pieces");
  const auto path = dir / "t.json";
  write_file_atomically(
      path,
      [](const WriteChunk& write) {
        write("{\"a\":");
        write("1}");
      },
      false);
  CHECK(read_text(path) == "{\"a\":1}");
  // A failure while the pieces are made leaves the old file, and nothing else.
  CHECK_THROWS_AS(write_file_atomically(
                      path,
                      [](const WriteChunk& write) {
                        write("half");
                        throw std::runtime_error("no more");
                      },
                      true),
                  std::runtime_error);
  CHECK(read_text(path) == "{\"a\":1}");
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

// A record stream as the injection library would write it, for a process that ran three
// kernels and a copy 10 s from now (after brrr profile has started the target).
std::vector<std::byte> fake_stream() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const uint64_t base = static_cast<uint64_t>(now.tv_sec + 10) * 1'000'000'000ULL;
  std::vector<std::byte> out;
  stream::append_file_header(out);
  stream::append_record(out, stream::ProcessBeginRecord{4242, 1, base}, std::string_view("./app\0", 6));
  stream::append_record(out, stream::StringRecord{0}, std::string_view("_Z6kernelPf"));
  stream::append_record(out, stream::StringRecord{1}, std::string_view("step"));
  stream::append_record(out, stream::StringRecord{2}, std::string_view(""));
  stream::append_record(out, stream::MarkerBeginRecord{base + 500, 1, 1, 2, 99, 0});
  for (uint32_t i = 0; i < 3; ++i) {
    stream::KernelRecord k{};
    k.start_ns = base + 10'000 + i * 20'000;
    k.end_ns = k.start_ns + 5'000;
    k.correlation_id = i + 1;
    k.name = 0;
    k.grid_x = k.grid_y = k.grid_z = 1;
    k.block_x = 128;
    k.block_y = k.block_z = 1;
    k.stream_id = 7;
    stream::append_record(out, k);
    stream::ApiRecord a{};
    a.start_ns = k.start_ns - 3'000;
    a.end_ns = k.start_ns - 1'000;
    a.correlation_id = k.correlation_id;
    a.thread_id = 99;
    a.kind = static_cast<uint8_t>(ApiKind::kernel_launch);
    stream::append_record(out, a);
  }
  stream::CopyRecord c{};
  c.start_ns = base + 80'000;
  c.end_ns = base + 90'000;
  c.bytes = 1 << 20;
  c.correlation_id = 4;
  c.stream_id = 7;
  c.kind = static_cast<uint8_t>(CopyKind::device_to_host);
  c.source = static_cast<uint8_t>(MemoryKind::device);
  c.destination = static_cast<uint8_t>(MemoryKind::pinned);
  stream::append_record(out, c);
  stream::append_record(out, stream::MarkerEndRecord{base + 95'000, 1});
  stream::append_record(out, stream::ProcessEndRecord{base + 100'000});
  return out;
}

TEST_CASE("cli: profile --trace writes the trace-event file") {
  TempDir dir("cli-trace");
  const auto bytes = fake_stream();
  const auto stream_path = dir / "recorded.brrrs";
  {
    std::ofstream out(stream_path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  // The "program" leaves the stream where the injection library would have written it.
  const std::vector<std::string> target{"sh", "-c", "cp " + stream_path.string() + " \"$BRRR_STREAM_DIR/4242.brrrs\""};
  auto profile_target = [&](std::vector<std::string> args, const std::vector<std::string>& program) {
    args.insert(args.begin(), {BRRR_BINARY, "profile"});
    args.insert(args.end(), program.begin(), program.end());
    return run_process(args, profile_options(dir.path()));
  };
  auto profile = [&](std::vector<std::string> args) { return profile_target(std::move(args), target); };

  const auto r = profile({"-q", "-o", "r.json", "--trace", "t.json"});
  CAPTURE(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("brrr: trace written to t.json") != std::string::npos);
  const Report report = read_report(dir / "r.json");
  const ParsedTrace parsed = check_trace_events(read_text(dir / "t.json"));
  CHECK(parsed.of("kernel").size() == 3);
  CHECK(parsed.of("copy").size() == 1);
  CHECK(parsed.of("api").size() == 3);
  CHECK(parsed.of("nvtx").size() == 1);
  CHECK(parsed.flows == 3);
  // The range and the calls made inside it are on one row, the thread's, the range holding them.
  const Slice* step = parsed.of("nvtx").at(0);
  for (const Slice* call : parsed.of("api")) {
    CHECK(call->tid == step->tid);
    CHECK(call->start_ns >= step->start_ns);
    CHECK(call->end_ns <= step->end_ns);
  }
  CHECK(parsed.thread_names.at(step->tid) == "host thread 99");
  CHECK(parsed.process_names.at(4242) == "./app");
  check_gaps_match_model(parsed, report.run);
  CHECK(parsed.other_data.at("command") == json(target));

  SUBCASE("an existing trace file without --force: 125 before the program runs") {
    const auto again = profile({"-q", "-o", "r2.json", "--trace", "t.json"});
    CHECK(again.status == 125);
    CHECK(again.err.find("brrr: error: t.json: exists") == 0);
    CHECK_FALSE(fs::exists(dir / "r2.json"));
    const auto forced = profile({"-q", "--force", "-o", "r2.json", "--trace", "t.json"});
    CHECK(forced.status == 0);
  }
  SUBCASE("a trace file that cannot be written: the report is, and brrr exits 125") {
    // The folder is there when brrr checks it, and gone when the trace is written.
    fs::create_directory(dir / "gone");
    const auto failed = profile_target({"-q", "-o", "r3.json", "--trace", "gone/t.json"},
                                       {"sh", "-c", target.back() + " && rmdir gone"});
    CHECK(failed.status == 125);
    CHECK(failed.err.find("brrr: error: gone/t.json: cannot write") != std::string::npos);
    CHECK(fs::exists(dir / "r3.json"));
  }
  SUBCASE("a trace file whose folder does not take a new file: 125 before the program runs") {
    const auto refused = profile({"-q", "-o", "r3.json", "--trace", "missing/t.json"});
    CHECK(refused.status == 125);
    CHECK(refused.err.find("brrr: error: missing/t.json: cannot write in missing") == 0);
    CHECK_FALSE(fs::exists(dir / "r3.json"));
  }
  SUBCASE("the trace file cannot be the report") {
    const auto same = profile({"-q", "--force", "-o", "r.json", "--trace", "./r.json"});
    CHECK(same.status == 125);
    CHECK(same.err.find("is also the report file") != std::string::npos);
  }
}

} // namespace
