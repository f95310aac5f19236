// brrr's own cost after the target exits, without a GPU: writes a synthetic record stream of
// N kernel launches (each with its launch API record, as the injection library writes them),
// then times brrr's pipeline on it — read the stream, build the run, analyse, write the report
// JSON — and reports brrr's peak resident memory. Then reads that report back and explains it,
// as `brrr explain` would.
//
//   brrr-pipeline-memory [N]      (N defaults to 1 000 000)

#include "analyse/analysis.hpp"
#include "collect/stream_format.hpp"
#include "collect/session.hpp"
#include "collect/stream_reader.hpp"
#include "model/build.hpp"
#include "render/render.hpp"
#include "report/profiles.hpp"
#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double current_rss_mib() {
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096.0 / (1 << 20);
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// The stream of a launch loop: a tiny kernel every 4 µs, each 2 µs long, launched 1 µs before
// it starts, written in batches as the injection library does.
void write_stream(const std::filesystem::path& path, uint64_t launches, uint64_t start_ns) {
  using namespace brrr::stream;
  std::ofstream out(path, std::ios::binary);
  std::vector<std::byte> buffer;
  append_file_header(buffer);
  append_record(buffer, ProcessBeginRecord{4242, 1, start_ns}, std::string_view("loop\0", 5));
  append_record(buffer, StringRecord{0}, std::string_view("_Z11tiny_kernelPf"));
  DeviceRecord device{};
  device.compute_capability_major = 9;
  device.sm_count = 132;
  append_record(buffer, device, std::string_view("NVIDIA H100 80GB HBM3"));
  for (uint64_t i = 0; i < launches; ++i) {
    const uint64_t t = start_ns + 1'000'000 + i * 4'000;
    KernelRecord k{};
    k.start_ns = t + 1'000;
    k.end_ns = t + 3'000;
    k.queued_ns = t + 200;
    k.submitted_ns = t + 300;
    k.correlation_id = static_cast<uint32_t>(i + 1);
    k.grid_x = k.grid_y = k.grid_z = 1;
    k.block_x = 256;
    k.block_y = k.block_z = 1;
    append_record(buffer, k);
    ApiRecord a{};
    a.start_ns = t;
    a.end_ns = t + 800;
    a.correlation_id = k.correlation_id;
    a.kind = static_cast<uint8_t>(brrr::ApiKind::kernel_launch);
    append_record(buffer, a);
    if (buffer.size() > (8u << 20)) {
      out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  append_record(buffer, ProcessEndRecord{start_ns + 2'000'000 + launches * 4'000});
  out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
}

} // namespace

int main(int argc, char** argv) {
  brrr::return_large_allocations();
  const uint64_t launches = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const auto dir = std::filesystem::temp_directory_path() / "brrr-pipeline-memory";
  std::filesystem::create_directories(dir);
  const auto stream_path = dir / "1.brrrs";
  const auto report_path = dir / "report.json";
  const uint64_t start_ns = 1'700'000'000'000'000'000ULL;
  write_stream(stream_path, launches, start_ns);
  const double before = peak_rss_mib();

  auto t0 = Clock::now();
  brrr::Trace trace;
  auto read = brrr::read_stream_file(stream_path.string(), trace);
  if (!read.ok) {
    std::fprintf(stderr, "%s\n", read.error.c_str());
    return 1;
  }
  const double read_s = seconds_since(t0);
  std::printf("after read: current %.0f MiB, peak %.0f MiB\n", current_rss_mib(), peak_rss_mib());
  brrr::LaunchFacts facts;
  facts.start_ns = start_ns;
  facts.end_ns = start_ns + 3'000'000 + launches * 4'000;
  facts.info.command = {"loop"};
  auto t1 = Clock::now();
  brrr::Report report;
  report.run = brrr::build_run(trace, facts);
  std::printf("after build: current %.0f MiB, peak %.0f MiB\n", current_rss_mib(), peak_rss_mib());
  trace = {};
  const double build_s = seconds_since(t1);
  auto match = brrr::match_profile(brrr::builtin_profiles(), "NVIDIA H100 80GB HBM3", "9.0");
  if (match) report.profile = match->profile;
  report.analysis = brrr::analyse(report.run, report.profile ? &*report.profile : nullptr);
  brrr::write_file_atomically(report_path, brrr::report_to_text(report), true);
  const double total_s = seconds_since(t0);
  const double profile_peak = peak_rss_mib();

  auto t2 = Clock::now();
  brrr::Report back = brrr::read_report(report_path);
  back.analysis = brrr::analyse(back.run, back.profile ? &*back.profile : nullptr);
  const std::string text = brrr::render_text(back, {});
  const double explain_s = seconds_since(t2);

  std::printf("launches %llu: stream %.0f MiB, read %.2f s, build %.2f s, read+build+analyse+write %.2f s, "
              "peak RSS %.0f MiB (%.0f MiB before reading); explain %.3f s, report %.1f KiB\n",
              static_cast<unsigned long long>(launches),
              static_cast<double>(std::filesystem::file_size(stream_path)) / (1 << 20), read_s, build_s, total_s,
              profile_peak, before, explain_s, static_cast<double>(std::filesystem::file_size(report_path)) / 1024);
  std::filesystem::remove_all(dir);
  return text.empty() ? 1 : 0;
}
