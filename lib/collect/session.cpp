#include "collect/session.hpp"

#include "analyse/analysis.hpp"
#include "collect/rank.hpp"
#include "collect/stream_reader.hpp"
#include "model/build.hpp"
#include "render/trace_events.hpp"
#include "report/profiles.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

namespace brrr {

namespace fs = std::filesystem;

namespace {

// A folder of the run's own, made by mkdtemp, so that runs at once never share one. Absolute,
// because the target reads its name from the environment and may change its directory.
fs::path make_data_dir(const std::vector<std::string>& command) {
  const char* tmp = std::getenv("TMPDIR");
  fs::path base = tmp && *tmp ? tmp : "/tmp";
  std::error_code ec;
  if (fs::path absolute = fs::absolute(base, ec); !ec) base = absolute;
  // The program's name helps a person find the folder; a long one would overflow NAME_MAX.
  const std::string name = fs::path(command.front()).filename().string().substr(0, 64);
  std::string tmpl = (base / ("brrr-" + name + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data()))
    throw std::runtime_error(
        fmt::format("cannot create a folder for the record streams in {} ({})", base.string(), std::strerror(errno)));
  return tmpl;
}

// Reads every process's stream; a stream that cannot be read at all becomes a reason the run
// is incomplete rather than a failure of the whole profile.
Trace read_streams(const fs::path& dir, std::vector<std::string>& problems) {
  Trace trace;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".brrrs") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto result = read_stream_file(f.string(), trace);
    if (!result.ok) problems.push_back(result.error);
  }
  return trace;
}

bool driver_present() {
  void* handle = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!handle) return false;
  dlclose(handle);
  return true;
}

void choose_profile(Report& report, const std::optional<HardwareProfile>& chosen, std::vector<std::string>& notes) {
  if (chosen) {
    report.profile = chosen;
    return;
  }
  if (report.run.gpus.empty()) {
    report.profile_missing_reason = "no GPU was used";
    return;
  }
  const auto& gpu = report.run.gpus.front();
  if (auto match = match_profile(builtin_profiles(), gpu.name, gpu.compute_capability)) {
    report.profile = match->profile;
    if (!match->exact)
      notes.push_back(
          fmt::format("no profile names '{}' exactly; using the closest, {} (pass --profile FILE to choose)", gpu.name,
                      match->profile.name));
  } else {
    report.profile_missing_reason = fmt::format(
        "no built-in profile for {} (compute capability {}); pass --profile FILE", gpu.name, gpu.compute_capability);
    notes.push_back(report.profile_missing_reason);
  }
}

} // namespace

std::string check_counters_mode(const std::string& mode) {
  if (mode == "off" || mode == "all") return {};
  if (mode.rfind("first:", 0) == 0) {
    const std::string n = mode.substr(6);
    if (!n.empty() && n.size() <= 9 && n.find_first_not_of("0123456789") == std::string::npos && std::stoul(n) > 0)
      return {};
  }
  return "--counters " + mode + ": expected off, first:N (N ≥ 1) or all";
}

void return_large_allocations() { mallopt(M_MMAP_THRESHOLD, 1 << 20); }

fs::path find_injection_library() { return find_companion("BRRR_INJECTION_LIBRARY", "libbrrr-inject.so"); }

std::string default_report_stem(const std::vector<std::string>& command, const std::optional<RankInfo>& rank,
                                const std::string& host) {
  std::string name = command.empty() ? "run" : fs::path(command.front()).filename().string();
  // A Python script is a better name than the interpreter.
  if (name.rfind("python", 0) == 0 && command.size() > 1 && !command[1].empty() && command[1].front() != '-')
    name = fs::path(command[1]).stem().string();
  if (!rank) return "brrr-" + name;
  // The host's first label, in characters safe in a file name: "node-7.cluster" gives "node-7".
  std::string short_host = host.substr(0, host.find('.'));
  for (char& c : short_host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  if (short_host.empty()) short_host = "host";
  return fmt::format("brrr-{}-{}-rank{}", name, short_host, rank->rank);
}

std::string keep_report_elsewhere(const ProfileResult& result, const fs::path& wanted, const std::string& text) {
  const fs::path fallback = result.data_dir / wanted.filename();
  try {
    write_file_atomically(fallback, text, false);
  } catch (const std::exception&) {
    return "the recorded streams are kept in " + result.data_dir.string();
  }
  // The report holds everything brrr makes of the streams; they may be large, on a disk that
  // may be the full one.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(result.data_dir, ec))
    if (entry.path().extension() == ".brrrs") fs::remove(entry.path(), ec);
  return "the report is saved as " + fallback.string() + " instead";
}

ProfileResult profile_command(const ProfileRequest& request) {
  return_large_allocations();
  ProfileResult result;
  const fs::path library = request.injection_library.empty() ? find_injection_library() : request.injection_library;
  if (library.empty())
    throw std::runtime_error("cannot find libbrrr-inject.so next to brrr or in ../lib/brrr (this brrr was built "
                             "without the CUDA toolkit, or installed incompletely)");
  // A bad --profile file, or measured ceilings that no calibration can supply, is an error
  // before the program runs, not after.
  std::optional<HardwareProfile> chosen;
  if (request.profile_path) chosen = read_profile(*request.profile_path);
  if (request.ceilings == CeilingsChoice::measured) {
    if (chosen && !chosen->has_measured())
      throw InputError("--ceilings measured: " + chosen->origin +
                       " has no measured values; run brrr calibrate and pass its file, or leave out --profile");
    if (!chosen && !has_calibration_files(request.calibration_dir))
      throw InputError("--ceilings measured: no calibration in " +
                       (request.calibration_dir.empty() ? std::string("the per-user folder (neither XDG_DATA_HOME nor "
                                                                      "HOME is set)")
                                                        : request.calibration_dir.string()) +
                       "; run brrr calibrate first");
  }
  result.data_dir = make_data_dir(request.command);

  LaunchRequest launch{request.command, {}, {}, request.kill_after_ns};
  launch.environment.emplace_back("CUDA_INJECTION64_PATH", library.string());
  launch.environment.emplace_back("BRRR_STREAM_DIR", result.data_dir.string());
  // NVTX loads its injection at the program's first NVTX call; the injection library starts
  // brrr there too and forwards NVTX to CUPTI, so that ranges opened before CUDA starts count.
  launch.environment.emplace_back("NVTX_INJECTION64_PATH", library.string());
  launch.environment.emplace_back("BRRR_COUNTERS", request.counters);
  // Set even when empty, so that a value left in the user's environment does not restrict it.
  launch.environment.emplace_back("BRRR_COUNTERS_RANGE", request.counters_range);
  launch.environment.emplace_back("BRRR_TRACE_LATENCY", request.queued_timestamps ? "1" : "0");
  if (const char* existing = std::getenv("CUDA_INJECTION64_PATH"); existing && *existing)
    result.notes.push_back(
        fmt::format("CUDA_INJECTION64_PATH was set to {}; brrr replaced it for the target", existing));

  result.launch = launch_and_wait(launch);
  if (!result.launch.error.empty()) return result;

  LaunchFacts facts;
  facts.info.tool_version = BRRR_VERSION;
  facts.info.command = request.command;
  facts.info.start_time = iso_time(result.launch.start_ns);
  facts.info.host = host_name();
  facts.info.rank = rank_from_environment();
  facts.info.exit = result.launch.exit;
  facts.info.target_peak_rss_bytes = result.launch.peak_rss_bytes;
  facts.start_ns = result.launch.start_ns;
  facts.end_ns = result.launch.end_ns;
  std::vector<std::string> problems;
  Trace trace = read_streams(result.data_dir, problems);
  facts.collection.counters_mode = request.counters;
  facts.collection.counters_available = !trace.counters.empty();
  if (request.counters != "off" && trace.counters.empty() && !trace.counter_gaps.empty())
    facts.collection.counters_unavailable_reason = trace.str(trace.counter_gaps.front().reason);
  TimelineDetail timeline;
  Run run = build_run(trace, facts, {}, request.trace_events.empty() ? nullptr : &timeline);
  for (auto& p : problems) run.info.incomplete_reasons.push_back(std::move(p));
  if (result.launch.exit.kind == ExitStatus::Kind::signaled) {
    std::string why;
    if (result.launch.killed_after_second_interrupt) why = " after a second interrupt";
    if (result.launch.killed_after_grace)
      why = fmt::format(" by brrr, {:g} s after a request to stop that it did not follow",
                        static_cast<double>(request.kill_after_ns) / 1e9);
    run.info.incomplete_reasons.push_back(fmt::format(
        "the target was killed by signal {} ({}){}", result.launch.exit.signal,
        sigabbrev_np(result.launch.exit.signal) ? std::string("SIG") + sigabbrev_np(result.launch.exit.signal)
                                                : "unknown",
        why));
  }
  run.info.complete = run.info.incomplete_reasons.empty();
  if (!request.trace_events.empty()) {
    try {
      write_file_atomically(
          request.trace_events, [&](const WriteChunk& write) { write_trace_events(trace, run, timeline, write); },
          request.trace_events_overwrite);
    } catch (const std::exception& e) {
      result.trace_events_error = e.what();
    }
    // Its memory goes back before the analysis.
    timeline = {};
  }
  if (trace.processes.empty() && !driver_present())
    result.notes.push_back(
        "no NVIDIA driver on this machine (libcuda.so.1 not found): the program could not use a GPU");
  else if (trace.processes.empty())
    result.notes.push_back("no process of the program was traced: it used no GPU, or it removed "
                           "CUDA_INJECTION64_PATH or BRRR_STREAM_DIR from its environment before its first CUDA call");

  struct rusage self {};
  if (getrusage(RUSAGE_SELF, &self) == 0)
    run.collection.brrr_peak_rss_bytes = static_cast<uint64_t>(self.ru_maxrss) * 1024;
  result.report.run = std::move(run);
  choose_profile(result.report, chosen, result.notes);
  RoofsRequest roofs_request{request.ceilings,
                             result.report.profile,
                             result.report.profile_missing_reason,
                             chosen.has_value(),
                             result.report.run.gpus.empty() ? nullptr : &result.report.run.gpus.front(),
                             request.calibration_dir};
  Roofs roofs;
  try {
    roofs = choose_roofs(roofs_request);
  } catch (const InputError& e) {
    // The run is done: its report is written with the datasheet's roofs rather than lost.
    result.notes.push_back(std::string(e.what()) + "; the report uses datasheet ceilings (brrr explain --ceilings "
                                                   "measured re-analyses it once a calibration exists)");
    roofs_request.ceilings = CeilingsChoice::automatic;
    roofs = choose_roofs(roofs_request);
  }
  for (const auto& problem : roofs.problems) result.notes.push_back(problem);
  use_roofs(result.report, std::move(roofs));
  return result;
}

} // namespace brrr
