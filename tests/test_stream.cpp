// The record stream between the injection library and brrr: encoding helpers, the reader,
// and the reader's behaviour on damaged streams (a process killed mid-write, a corrupt
// header, a stream from another version).

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "collect/stream_format.hpp"
#include "collect/kernel_signature.hpp"
#include "collect/stream_reader.hpp"

namespace {

using namespace brrr;
using namespace std::string_view_literals;

// A folder under the system's temporary directory, removed with everything in it.
class TempDir {
public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("brrr-test-stream-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  [[nodiscard]] std::string write(const std::string& name, const std::vector<std::byte>& bytes) const {
    const std::string file = (path_ / name).string();
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return file;
  }

private:
  std::filesystem::path path_;
};

// Builds a stream record by record and remembers where each record ends, so that tests can
// cut it at any byte and know which records are whole.
struct StreamBuilder {
  std::vector<std::byte> bytes;
  std::vector<size_t> record_ends;
  std::vector<stream::RecordType> record_types;

  StreamBuilder() { stream::append_file_header(bytes); }

  void ended(stream::RecordType type) {
    record_ends.push_back(bytes.size());
    record_types.push_back(type);
  }

  template <stream::Payload T> void add(const T& record, std::string_view tail = {}) {
    stream::append_record(bytes, record, tail);
    ended(T::record_type);
  }

  uint32_t string(std::string_view text) {
    const auto id = next_string++;
    add(stream::StringRecord{id}, text);
    return id;
  }

  void warning(std::string_view text) {
    stream::append_text_record(bytes, stream::RecordType::warning, text);
    ended(stream::RecordType::warning);
  }

  void counter_sample(const stream::CounterSampleRecord& sample, const std::vector<stream::CounterValue>& values) {
    stream::append_counter_sample(bytes, sample, values.data());
    ended(stream::RecordType::counter_sample);
  }

  void process_begin(int32_t pid, uint64_t start_ns, std::string_view command = "prog\0"sv) {
    add(stream::ProcessBeginRecord{pid, 1, start_ns}, command);
  }

  void process_end(uint64_t end_ns) { add(stream::ProcessEndRecord{end_ns}); }

  void environment(std::string_view entries) {
    stream::append_text_record(bytes, stream::RecordType::environment, entries);
    ended(stream::RecordType::environment);
  }

  void kernel(uint32_t name, uint64_t start_ns, uint64_t end_ns, uint32_t correlation_id = 1) {
    stream::KernelRecord record{};
    record.name = name;
    record.start_ns = start_ns;
    record.end_ns = end_ns;
    record.correlation_id = correlation_id;
    record.grid_x = record.grid_y = record.grid_z = 1;
    record.block_x = record.block_y = record.block_z = 1;
    add(record);
  }

  void device(uint32_t id, uint8_t uuid_byte, std::string_view name) {
    stream::DeviceRecord record{};
    record.id = id;
    std::memset(record.uuid, uuid_byte, sizeof(record.uuid));
    add(record, name);
  }

  void marker_begin(uint64_t id, uint32_t name, uint32_t domain, uint64_t timestamp_ns) {
    add(stream::MarkerBeginRecord{timestamp_ns, id, name, domain, 7, 0});
  }

  void marker_end(uint64_t id, uint64_t timestamp_ns) { add(stream::MarkerEndRecord{timestamp_ns, id}); }

  void raw(uint32_t type, std::vector<std::byte> payload) {
    const stream::RecordHeader header{type, static_cast<uint32_t>(payload.size())};
    stream::append_bytes(bytes, &header, sizeof(header));
    stream::append_bytes(bytes, payload.data(), payload.size());
  }

  uint32_t next_string = 0;
};

StreamReadResult read_bytes(const std::vector<std::byte>& bytes, Trace& trace, size_t length) {
  return read_stream(std::span(bytes.data(), length), "test stream", trace);
}

StreamReadResult read_bytes(const std::vector<std::byte>& bytes, Trace& trace) {
  return read_bytes(bytes, trace, bytes.size());
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// A stream holding one record of every type.
StreamBuilder every_record_type() {
  StreamBuilder s;
  s.process_begin(4242, 1000,
                  "python3\0train.py\0--steps\0\0"
                  "10\0"sv);
  s.environment("RANK=3\0LOCAL_RANK=1\0WORLD_SIZE=4\0TORCHELASTIC_RUN_ID=job\0SLURM_PROCID=0"sv);
  const uint32_t gemm = s.string("ampere_sgemm_128x64");
  const uint32_t step = s.string("step");
  const uint32_t domain = s.string("");
  const uint32_t flops = s.string("sm__sass_thread_inst_executed_op_ffma_pred_on.sum");
  const uint32_t reason = s.string("restricted");

  stream::DeviceRecord device{};
  device.id = 0;
  device.compute_capability_major = 9;
  device.compute_capability_minor = 0;
  device.sm_count = 132;
  device.sm_clock_khz = 1980000;
  device.memory_bytes = 85'000'000'000;
  device.memory_bandwidth_bytes_per_s = 3'350'000'000'000;
  device.l2_bytes = 50u << 20;
  for (uint8_t i = 0; i < 16; ++i) {
    device.uuid[i] = static_cast<uint8_t>(i * 17);
  }
  s.add(device, "NVIDIA H100 80GB HBM3");

  stream::KernelRecord kernel{};
  kernel.start_ns = 2000;
  kernel.end_ns = 2500;
  kernel.queued_ns = 1800;
  kernel.submitted_ns = 1900;
  kernel.graph_node_id = 77;
  kernel.correlation_id = 11;
  kernel.name = gemm;
  kernel.grid_x = 128;
  kernel.grid_y = 2;
  kernel.grid_z = 1;
  kernel.block_x = 256;
  kernel.block_y = 1;
  kernel.block_z = 1;
  kernel.registers_per_thread = 96;
  kernel.static_shared_bytes = 1024;
  kernel.dynamic_shared_bytes = 49152;
  kernel.device_id = 0;
  kernel.context_id = 1;
  kernel.stream_id = 7;
  kernel.graph_id = 3;
  s.add(kernel);

  stream::CopyRecord copy{};
  copy.start_ns = 1500;
  copy.end_ns = 1700;
  copy.bytes = 1u << 20;
  copy.correlation_id = 10;
  copy.stream_id = 7;
  copy.context_id = 1;
  copy.kind = static_cast<uint8_t>(CopyKind::host_to_device);
  copy.source = static_cast<uint8_t>(MemoryKind::pinned);
  copy.destination = static_cast<uint8_t>(MemoryKind::device);
  copy.async = 1;
  s.add(copy);

  stream::SetRecord set{};
  set.start_ns = 1710;
  set.end_ns = 1720;
  set.bytes = 4096;
  set.correlation_id = 12;
  set.memory = static_cast<uint8_t>(MemoryKind::device);
  set.async = 1;
  s.add(set);

  s.add(stream::SyncRecord{2600, 2700, 13, 1, 7, static_cast<uint8_t>(SyncKind::stream), {}});
  s.add(stream::ApiRecord{1950, 1990, 11, 555, 211, 0, static_cast<uint8_t>(ApiKind::kernel_launch), {}});
  s.marker_begin(1, step, domain, 1100);
  s.marker_end(1, 2800);
  s.warning("cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MARKER) failed: test");
  s.add(stream::DroppedRecord{3});
  s.add(stream::DroppedRecord{4});
  s.counter_sample({11, gemm, 2, 0}, {{flops, 0, 1.5e9}, {reason, 0, 2.0}});
  s.add(stream::CounterGapRecord{12, gemm, reason, 0});
  s.add(stream::ToolEventRecord{2100, 2200, 0, 0});
  s.process_end(3000);
  return s;
}

} // namespace

TEST_CASE("stream: every record type survives a round trip through a file") {
  const TempDir dir;
  const std::string path = dir.write("4242.brrrs", every_record_type().bytes);
  Trace trace;
  const StreamReadResult result = read_stream_file(path, trace);
  REQUIRE(result.ok);
  CHECK(result.error.empty());
  CHECK(result.process == 0);

  REQUIRE(trace.processes.size() == 1);
  const ProcessTrace& p = trace.processes[0];
  CHECK(p.pid == 4242);
  CHECK(p.parent_pid == 1);
  CHECK(p.command == std::vector<std::string>{"python3", "train.py", "--steps", "", "10"});
  CHECK(p.injection_start_ns == 1000);
  CHECK(p.injection_end_ns == 3000);
  CHECK(p.stream_complete);
  CHECK(p.stream_problem.empty());
  CHECK(p.dropped_records == 7);
  CHECK(p.warnings == std::vector<std::string>{"cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MARKER) failed: test"});
  REQUIRE(p.rank);
  CHECK(p.rank->launcher == "torchrun");
  CHECK(p.rank->variable == "RANK");
  CHECK(p.rank->rank == 3);
  CHECK(p.rank->local_rank == 1u);
  CHECK(p.rank->world_size == 4u);

  REQUIRE(trace.devices.size() == 1);
  const DeviceTrace& d = trace.devices[0];
  CHECK(d.id == 0);
  CHECK(d.name == "NVIDIA H100 80GB HBM3");
  CHECK(d.uuid == "GPU-00112233-4455-6677-8899-aabbccddeeff");
  CHECK(d.compute_capability_major == 9);
  CHECK(d.compute_capability_minor == 0);
  CHECK(d.sm_count == 132);
  CHECK(d.sm_clock_khz == 1980000);
  CHECK(d.memory_bytes == 85'000'000'000);
  CHECK(d.memory_bandwidth_bytes_per_s == 3'350'000'000'000);
  CHECK(d.l2_bytes == 50u << 20);
  CHECK_FALSE(d.mig);

  REQUIRE(trace.kernels.size() == 1);
  const KernelEvent& k = trace.kernels[0];
  CHECK(trace.str(k.name) == "ampere_sgemm_128x64");
  CHECK(k.start_ns == 2000);
  CHECK(k.end_ns == 2500);
  CHECK(k.queued_ns == 1800);
  CHECK(k.correlation_id == 11);
  CHECK(k.grid == Dim3{128, 2, 1});
  CHECK(k.block == Dim3{256, 1, 1});
  CHECK(k.registers_per_thread == 96);
  CHECK(k.static_shared_bytes == 1024);
  CHECK(k.dynamic_shared_bytes == 49152);
  CHECK(k.context_id == 1);
  CHECK(k.stream_id == 7);
  CHECK(k.graph_id == 3);
  CHECK(k.process == 0);

  REQUIRE(trace.copies.size() == 1);
  const CopyEvent& c = trace.copies[0];
  CHECK(c.start_ns == 1500);
  CHECK(c.end_ns == 1700);
  CHECK(c.bytes == 1u << 20);
  CHECK(c.kind == CopyKind::host_to_device);
  CHECK(c.source == MemoryKind::pinned);
  CHECK(c.destination == MemoryKind::device);
  CHECK(c.async);
  CHECK(c.correlation_id == 10);
  CHECK(c.stream_id == 7);

  REQUIRE(trace.sets.size() == 1);
  CHECK(trace.sets[0].bytes == 4096);
  CHECK(trace.sets[0].memory == MemoryKind::device);
  CHECK(trace.sets[0].async);
  CHECK(trace.sets[0].correlation_id == 12);

  REQUIRE(trace.syncs.size() == 1);
  CHECK(trace.syncs[0].kind == SyncKind::stream);
  CHECK(trace.syncs[0].start_ns == 2600);
  CHECK(trace.syncs[0].end_ns == 2700);
  CHECK(trace.syncs[0].stream_id == 7);

  REQUIRE(trace.apis.size() == 1);
  const ApiEvent& a = trace.apis[0];
  CHECK(a.kind == ApiKind::kernel_launch);
  CHECK(a.callback_id == 211);
  CHECK_FALSE(a.driver);
  CHECK(a.thread_id == 555);
  CHECK(a.correlation_id == 11);

  REQUIRE(trace.ranges.size() == 1);
  const RangeEvent& r = trace.ranges[0];
  CHECK(trace.str(r.name) == "step");
  CHECK(trace.str(r.domain).empty());
  CHECK(r.start_ns == 1100);
  CHECK(r.end_ns == 2800);
  CHECK(r.thread_id == 7);

  REQUIRE(trace.counters.size() == 1);
  const CounterSample& sample = trace.counters[0];
  CHECK(sample.correlation_id == 11);
  CHECK(trace.str(sample.kernel_name) == "ampere_sgemm_128x64");
  REQUIRE(sample.values.size() == 2);
  CHECK(trace.str(sample.values[0].first) == "sm__sass_thread_inst_executed_op_ffma_pred_on.sum");
  CHECK(sample.values[0].second == 1.5e9);
  CHECK(sample.values[1].second == 2.0);

  REQUIRE(trace.counter_gaps.size() == 1);
  CHECK(trace.str(trace.counter_gaps[0].reason) == "restricted");
  REQUIRE(trace.tool_events.size() == 1);
  CHECK(trace.tool_events[0].start_ns == 2100);
  CHECK(trace.tool_events[0].end_ns == 2200);
}

TEST_CASE("stream: a stream cut at any byte keeps every whole record before the cut") {
  const StreamBuilder s = every_record_type();
  for (size_t cut = 0; cut <= s.bytes.size(); ++cut) {
    CAPTURE(cut);
    Trace trace;
    const StreamReadResult result = read_bytes(s.bytes, trace, cut);
    if (cut < sizeof(stream::FileHeader)) {
      CHECK_FALSE(result.ok);
      CHECK_FALSE(result.error.empty());
      CHECK(trace.processes.empty());
      continue;
    }
    REQUIRE(result.ok);
    REQUIRE(trace.processes.size() == 1);
    size_t whole = 0;
    size_t kernels = 0, copies = 0, sets = 0, syncs = 0, apis = 0, ranges = 0, samples = 0;
    size_t end_of_whole = sizeof(stream::FileHeader);
    for (size_t i = 0; i < s.record_ends.size() && s.record_ends[i] <= cut; ++i, ++whole) {
      end_of_whole = s.record_ends[i];
      switch (s.record_types[i]) {
      case stream::RecordType::kernel:
        ++kernels;
        break;
      case stream::RecordType::copy:
        ++copies;
        break;
      case stream::RecordType::set:
        ++sets;
        break;
      case stream::RecordType::sync:
        ++syncs;
        break;
      case stream::RecordType::api:
        ++apis;
        break;
      case stream::RecordType::marker_begin:
        ++ranges;
        break;
      case stream::RecordType::counter_sample:
        ++samples;
        break;
      default:
        break;
      }
    }
    CHECK(trace.kernels.size() == kernels);
    CHECK(trace.copies.size() == copies);
    CHECK(trace.sets.size() == sets);
    CHECK(trace.syncs.size() == syncs);
    CHECK(trace.apis.size() == apis);
    CHECK(trace.ranges.size() == ranges);
    CHECK(trace.counters.size() == samples);
    const ProcessTrace& p = trace.processes[0];
    if (cut == s.bytes.size()) {
      CHECK(p.stream_complete);
      CHECK(p.stream_problem.empty());
    } else if (cut == end_of_whole) {
      CHECK_FALSE(p.stream_complete);
      CHECK(contains(p.stream_problem, "without the library's end record"));
    } else {
      CHECK_FALSE(p.stream_complete);
      CHECK(p.stream_problem == "stream cut at byte " + std::to_string(end_of_whole) + " of " + std::to_string(cut) +
                                    ": the process ended while writing a record");
    }
  }
}

TEST_CASE("stream: an open NVTX range at a cut is closed at the last timestamp") {
  StreamBuilder s;
  s.process_begin(1, 100);
  const uint32_t name = s.string("forward");
  const uint32_t domain = s.string("");
  s.marker_begin(5, name, domain, 200);
  s.kernel(name, 300, 450);
  Trace trace;
  REQUIRE(read_bytes(s.bytes, trace).ok);
  REQUIRE(trace.ranges.size() == 1);
  CHECK(trace.ranges[0].start_ns == 200);
  CHECK(trace.ranges[0].end_ns == 450);
  REQUIRE(trace.processes[0].warnings.size() == 1);
  CHECK(contains(trace.processes[0].warnings[0], "1 NVTX range never ended (\"forward\")"));
}

TEST_CASE("stream: NVTX markers pair by id, in any order") {
  StreamBuilder s;
  s.process_begin(1, 100);
  const uint32_t outer = s.string("outer");
  const uint32_t inner = s.string("inner");
  const uint32_t early = s.string("early");
  const uint32_t open = s.string("never closed");
  const uint32_t domain = s.string("my.domain");
  s.marker_begin(1, outer, domain, 110);
  s.marker_begin(2, inner, domain, 120);
  s.marker_end(2, 130);
  s.marker_end(1, 140);
  // CUPTI delivers buffers, not a global order: an end may come before its start.
  s.marker_end(3, 160);
  s.marker_begin(3, early, domain, 150);
  s.marker_begin(4, open, domain, 170);
  s.marker_end(99, 175);
  s.process_end(180);
  Trace trace;
  REQUIRE(read_bytes(s.bytes, trace).ok);
  REQUIRE(trace.ranges.size() == 4);
  const auto range_named = [&](std::string_view name) {
    for (const RangeEvent& range : trace.ranges) {
      if (trace.str(range.name) == name) {
        return range;
      }
    }
    FAIL("no range named " << name);
    return RangeEvent{};
  };
  CHECK(range_named("inner").start_ns == 120);
  CHECK(range_named("inner").end_ns == 130);
  CHECK(range_named("outer").start_ns == 110);
  CHECK(range_named("outer").end_ns == 140);
  CHECK(range_named("early").start_ns == 150);
  CHECK(range_named("early").end_ns == 160);
  CHECK(range_named("never closed").start_ns == 170);
  CHECK(range_named("never closed").end_ns == 180);
  CHECK(trace.str(range_named("outer").domain) == "my.domain");
  const ProcessTrace& p = trace.processes[0];
  CHECK(p.stream_complete);
  REQUIRE(p.warnings.size() == 2);
  CHECK(contains(p.warnings[0], "1 NVTX range never ended (\"never closed\")"));
  CHECK(contains(p.warnings[0], "180 ns"));
  CHECK(contains(p.warnings[1], "1 NVTX range ends or starts could not be paired"));
}

TEST_CASE("stream: a corrupt size field keeps the records before it") {
  StreamBuilder s;
  s.process_begin(1, 100);
  const uint32_t name = s.string("k");
  s.kernel(name, 200, 300);
  const size_t corrupt_at = s.bytes.size();
  s.kernel(name, 400, 500);
  s.kernel(name, 600, 700);
  const uint32_t huge = 0xfffffff0u;
  std::memcpy(s.bytes.data() + corrupt_at + offsetof(stream::RecordHeader, payload_bytes), &huge, sizeof(huge));
  Trace trace;
  REQUIRE(read_bytes(s.bytes, trace).ok);
  CHECK(trace.kernels.size() == 1);
  const ProcessTrace& p = trace.processes[0];
  CHECK_FALSE(p.stream_complete);
  CHECK(contains(p.stream_problem, "record at byte " + std::to_string(corrupt_at) + " claims 4294967280"));
  CHECK(contains(p.stream_problem, "header is corrupt"));
}

TEST_CASE("stream: a record shorter than its type needs is corruption") {
  StreamBuilder s;
  s.process_begin(1, 100);
  const uint32_t name = s.string("k");
  s.kernel(name, 200, 300);
  const size_t short_at = s.bytes.size();
  s.raw(static_cast<uint32_t>(stream::RecordType::kernel), std::vector<std::byte>(10));
  s.kernel(name, 400, 500);
  Trace trace;
  REQUIRE(read_bytes(s.bytes, trace).ok);
  CHECK(trace.kernels.size() == 1);
  CHECK(trace.processes[0].stream_problem == "record at byte " + std::to_string(short_at) +
                                                 " (kernel) has 10 payload bytes, fewer than the 104 it needs: the "
                                                 "stream is corrupt");
}

TEST_CASE("stream: a zero-filled tail is corruption, not empty records") {
  StreamBuilder s;
  s.process_begin(1, 100);
  s.bytes.resize(s.bytes.size() + 64);
  Trace trace;
  REQUIRE(read_bytes(s.bytes, trace).ok);
  CHECK(contains(trace.processes[0].stream_problem, "has type 0"));
}

TEST_CASE("stream: a reference to an undefined string is corruption") {
  StreamBuilder s;
  s.process_begin(1, 100);
  const uint32_t name = s.string("k");
  s.kernel(name, 200, 300);
  s.kernel(name + 5, 400, 500);
  Trace trace;
  REQUIRE(read_bytes(s.bytes, trace).ok);
  CHECK(trace.kernels.size() == 1);
  CHECK(contains(trace.processes[0].stream_problem,
                 "refers to string " + std::to_string(name + 5) + ", which the stream has not defined"));
}

TEST_CASE("stream: a counter value no counter can have is corruption") {
  for (const double impossible : {-1.0, std::nan(""), HUGE_VAL, 0x1p64}) {
    CAPTURE(impossible);
    StreamBuilder s;
    s.process_begin(1, 100);
    const uint32_t name = s.string("k");
    const uint32_t metric = s.string("dram__bytes_read.sum");
    s.counter_sample({1, name, 1, 0}, {{metric, 0, 4096.0}});
    s.counter_sample({2, name, 1, 0}, {{metric, 0, impossible}});
    Trace trace;
    REQUIRE(read_bytes(s.bytes, trace).ok);
    CHECK(trace.counters.size() == 1);
    CHECK(contains(trace.processes[0].stream_problem, "which no counter can have: the stream is corrupt"));
  }
}

TEST_CASE("stream: records of unknown types are skipped") {
  StreamBuilder s;
  s.process_begin(1, 100);
  const uint32_t name = s.string("k");
  s.kernel(name, 200, 300);
  s.raw(999, std::vector<std::byte>(5, std::byte{0xab}));
  s.kernel(name, 400, 500);
  s.process_end(600);
  Trace trace;
  REQUIRE(read_bytes(s.bytes, trace).ok);
  CHECK(trace.kernels.size() == 2);
  const ProcessTrace& p = trace.processes[0];
  CHECK(p.stream_complete);
  REQUIRE(p.warnings.size() == 1);
  CHECK(contains(p.warnings[0], "skipped 1 records of types this brrr does not know"));
}

TEST_CASE("stream: a process without launcher variables has no rank, and an entry without '=' is skipped") {
  StreamBuilder plain;
  plain.process_begin(1, 100);
  plain.process_end(200);
  Trace trace;
  REQUIRE(read_bytes(plain.bytes, trace).ok);
  CHECK_FALSE(trace.processes[0].rank);

  StreamBuilder odd;
  odd.process_begin(2, 100);
  odd.environment("garbage\0OMPI_COMM_WORLD_RANK=5\0OMPI_COMM_WORLD_SIZE=8"sv);
  odd.process_end(200);
  REQUIRE(read_bytes(odd.bytes, trace).ok);
  REQUIRE(trace.processes[1].rank);
  CHECK(trace.processes[1].rank->launcher == "openmpi");
  CHECK(trace.processes[1].rank->rank == 5);
  CHECK(trace.processes[1].rank->world_size == 8u);
  CHECK_FALSE(trace.processes[1].rank->local_rank);
  CHECK(trace.processes[1].warnings.empty());
}

TEST_CASE("stream: files that are not streams of this version are refused") {
  const TempDir dir;
  Trace trace;

  StreamBuilder wrong_magic;
  wrong_magic.bytes[0] = std::byte{'X'};
  StreamReadResult result = read_stream_file(dir.write("magic.brrrs", wrong_magic.bytes), trace);
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "is not a brrr stream"));

  StreamBuilder wrong_version;
  const uint32_t version = stream::format_version + 1;
  std::memcpy(wrong_version.bytes.data() + offsetof(stream::FileHeader, version), &version, sizeof(version));
  result = read_stream_file(dir.write("version.brrrs", wrong_version.bytes), trace);
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "format version " + std::to_string(version)));

  result = read_stream_file(dir.write("empty.brrrs", {}), trace);
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "before the injection library wrote anything"));

  result = read_stream_file(dir.write("x", {}) + ".missing", trace);
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "cannot open"));

  CHECK(trace.processes.empty());
}

TEST_CASE("stream: two processes merge into one trace") {
  StreamBuilder first;
  first.process_begin(100, 1000);
  const uint32_t first_gemm = first.string("gemm");
  const uint32_t first_relu = first.string("relu");
  first.device(0, 0xaa, "GPU A");
  first.kernel(first_gemm, 1100, 1200);
  first.kernel(first_relu, 1200, 1300);
  first.process_end(2000);

  StreamBuilder second;
  second.process_begin(101, 1500);
  const uint32_t second_copy = second.string("copy");
  const uint32_t second_gemm = second.string("gemm");
  second.device(0, 0xaa, "GPU A");
  second.device(1, 0xbb, "GPU B");
  second.kernel(second_gemm, 1600, 1700);
  second.kernel(second_copy, 1700, 1800);

  Trace trace;
  const StreamReadResult one = read_bytes(first.bytes, trace);
  const StreamReadResult two = read_bytes(second.bytes, trace);
  REQUIRE(one.ok);
  REQUIRE(two.ok);
  CHECK(one.process == 0);
  CHECK(two.process == 1);
  REQUIRE(trace.processes.size() == 2);
  CHECK(trace.processes[0].pid == 100);
  CHECK(trace.processes[1].pid == 101);
  CHECK(trace.processes[0].stream_complete);
  CHECK_FALSE(trace.processes[1].stream_complete);

  CHECK(trace.strings == std::vector<std::string>{"gemm", "relu", "copy"});
  REQUIRE(trace.devices.size() == 2);
  CHECK(trace.devices[0].name == "GPU A");
  CHECK(trace.devices[1].name == "GPU B");

  REQUIRE(trace.kernels.size() == 4);
  CHECK(trace.str(trace.kernels[0].name) == "gemm");
  CHECK(trace.str(trace.kernels[1].name) == "relu");
  CHECK(trace.str(trace.kernels[2].name) == "gemm");
  CHECK(trace.str(trace.kernels[3].name) == "copy");
  CHECK(trace.kernels[0].name == trace.kernels[2].name);
  CHECK(trace.kernels[0].process == 0);
  CHECK(trace.kernels[1].process == 0);
  CHECK(trace.kernels[2].process == 1);
  CHECK(trace.kernels[3].process == 1);
}

TEST_CASE("the pointer parameters of a kernel come from its demangled signature") {
  using P = brrr::PointerParameter;
  using V = std::vector<P>;
  using brrr::pointer_parameters;
  CHECK(pointer_parameters("cos_kernel(float const*, float*, int)") == V{P{0, true}, P{1, false}});
  CHECK(pointer_parameters("void scale<float, 4>(float const* __restrict__, float* restrict, float, long)") ==
        V{P{0, true}, P{1, false}});
  CHECK(pointer_parameters("void f<std::pair<int, float*> >(std::array<char*, 2ul>, int*, void (*)(int*))") ==
        V{P{1, false}});
  CHECK(pointer_parameters("(anonymous namespace)::tiny_kernel(float*)") == V{P{0, false}});
  CHECK(pointer_parameters("k(float* const, double const* volatile, const int*, float const**)") ==
        V{P{0, false}, P{1, true}, P{2, true}, P{3, false}});
  CHECK(pointer_parameters("k(float* const*, myconst*)") == V{P{0, true}, P{1, false}});
  CHECK(pointer_parameters("extern_c_kernel").empty());
  CHECK(pointer_parameters("k()").empty());
  CHECK(pointer_parameters("k(void)").empty());
  CHECK(pointer_parameters("k(int, float)").empty());
  CHECK(pointer_parameters("broken(float*, int").empty());
}
