// Writes the seed corpus of the stream fuzz target (tests/fuzz/corpus/stream): small record
// streams shaped like what the injection library writes, with every record type, events
// placed in the ten seconds the fuzz target takes as the run, and one stream cut short as a
// crashed process leaves it. Run by hand when the stream format changes:
//
//   cmake --preset sanitize && cmake --build build-sanitize --target brrr-fuzz-seed-streams
//   build-sanitize/bin/brrr-fuzz-seed-streams tests/fuzz/corpus/stream

#include "collect/stream_format.hpp"
#include "model/counters.hpp"
#include "model/trace.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace brrr;
using namespace brrr::stream;
using namespace std::string_view_literals;

constexpr uint64_t t0 = 1'700'000'000'000'000'000ULL + 1'000'000;

struct Seed {
  std::vector<std::byte> bytes;
  uint32_t strings = 0;

  explicit Seed(int32_t pid, std::string_view command) {
    append_file_header(bytes);
    append_record(bytes, ProcessBeginRecord{pid, 1, t0}, command);
  }

  uint32_t string(std::string_view text) {
    append_record(bytes, StringRecord{strings}, text);
    return strings++;
  }

  void device(uint32_t id, uint8_t uuid_byte, bool mig, std::string_view name) {
    DeviceRecord d{};
    d.id = id;
    d.compute_capability_major = 9;
    d.sm_count = 132;
    d.sm_clock_khz = 1'980'000;
    d.memory_bytes = 80ULL << 30;
    d.memory_bandwidth_bytes_per_s = 3'350'000'000'000ULL;
    d.l2_bytes = 50u << 20;
    for (auto& b : d.uuid) b = uuid_byte;
    d.mig = mig ? 1 : 0;
    append_record(bytes, d, name);
  }

  // A launch call at `at` and its kernel, `length` ns long, starting `delay` ns later.
  void launch(uint32_t name, uint32_t correlation, uint64_t at, uint64_t delay, uint64_t length, uint32_t stream = 7,
              uint32_t grid = 1, uint32_t graph = 0) {
    append_record(bytes, ApiRecord{at,
                                   at + 700,
                                   correlation,
                                   1,
                                   211,
                                   0,
                                   static_cast<uint8_t>(graph ? ApiKind::graph_launch : ApiKind::kernel_launch),
                                   {}});
    KernelRecord k{};
    k.start_ns = at + delay;
    k.end_ns = at + delay + length;
    k.queued_ns = at + 300;
    k.submitted_ns = at + 400;
    k.correlation_id = correlation;
    k.name = name;
    k.grid_x = grid;
    k.grid_y = k.grid_z = 1;
    k.block_x = 256;
    k.block_y = k.block_z = 1;
    k.registers_per_thread = 32;
    k.context_id = 1;
    k.stream_id = stream;
    k.graph_id = graph;
    append_record(bytes, k);
  }

  void write(const std::filesystem::path& path, size_t cut = SIZE_MAX) const {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(std::min(cut, bytes.size())));
  }
};

// A launch loop: tiny kernels back to back, a synchronization, the end record.
Seed launch_loop() {
  Seed s(100, "./loop\0"
              "20\0"sv);
  s.device(0, 0x11, false, "NVIDIA H100 80GB HBM3");
  const uint32_t tiny = s.string("_Z11tiny_kernelPf");
  for (uint32_t i = 0; i < 20; ++i) s.launch(tiny, i + 1, t0 + i * 4'000, 1'000, 2'000);
  append_record(s.bytes, SyncRecord{t0 + 80'000, t0 + 90'000, 21, 1, 7, static_cast<uint8_t>(SyncKind::stream), {}});
  append_record(s.bytes,
                ApiRecord{t0 + 80'000, t0 + 90'100, 21, 1, 131, 0, static_cast<uint8_t>(ApiKind::synchronize), {}});
  append_record(s.bytes, ProcessEndRecord{t0 + 100'000});
  return s;
}

// Every record type: copies and sets of each kind, syncs, NVTX ranges (one ending before it
// begins in the stream, one never ending), counters for every metric brrr asks for, a counter
// gap, a replay held up by brrr, dataflow links, dropped records, a warning, two devices, two
// streams of overlapping kernels and a graph launch.
Seed every_record() {
  Seed s(200, "python3\0train.py\0--steps\0"
              "10\0"sv);
  s.device(0, 0x22, false, "NVIDIA H100 80GB HBM3");
  s.device(1, 0x33, true, "NVIDIA H100 80GB HBM3 MIG 1g.10gb");
  const uint32_t gemm = s.string("_Z4gemmPKfS0_Pfi");
  const uint32_t cos = s.string("_Z10cos_kernelPKfPfi");
  const uint32_t step = s.string("step");
  const uint32_t domain = s.string("");
  const uint32_t reason = s.string("the kernel ran in a CUDA graph");
  uint32_t correlation = 1;
  uint64_t at = t0;
  for (auto kind : {CopyKind::host_to_device, CopyKind::device_to_host, CopyKind::device_to_device, CopyKind::peer}) {
    CopyRecord c{};
    c.start_ns = at + 1'000;
    c.end_ns = at + 50'000;
    c.bytes = 1u << 20;
    c.correlation_id = correlation;
    c.stream_id = 7;
    c.kind = static_cast<uint8_t>(kind);
    c.source = static_cast<uint8_t>(kind == CopyKind::host_to_device ? MemoryKind::pageable : MemoryKind::device);
    c.destination = static_cast<uint8_t>(kind == CopyKind::device_to_host ? MemoryKind::pinned : MemoryKind::device);
    c.async = kind == CopyKind::device_to_host ? 0 : 1;
    append_record(s.bytes,
                  ApiRecord{at, at + 52'000, correlation++, 1, 41, 0, static_cast<uint8_t>(ApiKind::memcpy), {}});
    append_record(s.bytes, c);
    at += 60'000;
  }
  SetRecord set{};
  set.start_ns = at;
  set.end_ns = at + 3'000;
  set.bytes = 4096;
  set.correlation_id = correlation++;
  set.memory = static_cast<uint8_t>(MemoryKind::managed);
  append_record(s.bytes, set);
  at += 10'000;
  append_record(s.bytes, MarkerEndRecord{at + 900'000, 2});
  append_record(s.bytes, MarkerBeginRecord{at, 1, step, domain, 1, 0});
  append_record(s.bytes, MarkerBeginRecord{at + 10, 2, step, domain, 1, 0});
  append_record(s.bytes, MarkerBeginRecord{at + 20, 3, cos, domain, 2, 0});
  for (uint32_t i = 0; i < 6; ++i) {
    const uint32_t id = correlation++;
    s.launch(i % 2 ? gemm : cos, id, at, 2'000, 30'000, 7 + i % 2, 132 * (i + 1), i == 5 ? 9 : 0);
    append_record(s.bytes, DataflowRecord{id, i == 0 ? 0 : id - 1});
    at += 20'000;
  }
  std::vector<CounterValue> values;
  for (const auto& metric : counter_metrics()) values.push_back({s.string(metric), 0, 1.0e6});
  append_counter_sample(s.bytes, {correlation - 6, cos, static_cast<uint32_t>(values.size()), 0}, values.data());
  append_counter_sample(s.bytes, {correlation - 5, gemm, static_cast<uint32_t>(values.size()), 0}, values.data());
  append_record(s.bytes, CounterGapRecord{correlation - 1, gemm, reason, 0});
  append_record(s.bytes, ToolEventRecord{at, at + 5'000'000, correlation - 6, 0});
  at += 5'000'000;
  for (auto kind : {SyncKind::event, SyncKind::stream_wait_event, SyncKind::stream, SyncKind::context}) {
    append_record(s.bytes, SyncRecord{at, at + 20'000, correlation, 1, 7, static_cast<uint8_t>(kind), {}});
    append_record(s.bytes,
                  ApiRecord{at, at + 20'100, correlation++, 1, 131, 0, static_cast<uint8_t>(ApiKind::synchronize), {}});
    at += 30'000;
  }
  append_record(s.bytes, MarkerEndRecord{at, 1});
  append_text_record(s.bytes, RecordType::warning, "cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MARKER) failed");
  append_record(s.bytes, DroppedRecord{3});
  append_record(s.bytes, ProcessEndRecord{at + 100'000});
  return s;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: brrr-fuzz-seed-streams FOLDER\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  launch_loop().write(dir / "launch-loop");
  const Seed every = every_record();
  every.write(dir / "every-record");
  // A process killed in the middle of a write: the last record is cut, there is no end record.
  every.write(dir / "cut", every.bytes.size() * 2 / 3);
  return 0;
}
