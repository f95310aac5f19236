// brrr profile [options] [--] PROGRAM [ARGS...]: runs the program under brrr, writes the
// report, prints the verdict on stderr (stdout stays the program's), and exits with the
// program's status.

#include "commands.hpp"

#include "collect/rank.hpp"
#include "collect/session.hpp"
#include "render/render.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <unistd.h>

namespace brrr::cmd {

Run add_profile(CLI::App& app) {
  struct Options {
    std::vector<std::string> command;
    std::string output;
    std::string html;
    bool force = false;
    bool quiet = false;
    std::string profile;
    std::string counters = "first:1";
    std::string counters_range;
    bool queued_timestamps = false;
    std::string trace;
    std::string ceilings = "auto";
    double kill_after_s = static_cast<double>(default_kill_after_ns) / 1e9;
  };
  auto options = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("profile", "Run a CUDA program under brrr and write its report.");
  sub->add_option("-o,--output", options->output,
                  "Report file (default: brrr-PROGRAM.json, or brrr-PROGRAM-HOST-rankN.json under a launcher; "
                  "numbered so that no report is overwritten)");
  sub->add_option("--html", options->html,
                  "Also write the report as one self-contained HTML page (the roofline, the verdict, the kernels)");
  sub->add_flag("--force", options->force, "Overwrite the report file (and the HTML page) if it exists");
  sub->add_flag("-q,--quiet", options->quiet, "Do not print the verdict");
  sub->add_option("--profile", options->profile, "A hardware profile (JSON) instead of the built-in one for the GPU");
  sub->add_option("--counters", options->counters,
                  "Hardware counters: off, first:N (the first N launches of each distinct kernel) or all")
      ->capture_default_str();
  sub->add_option("--counters-range", options->counters_range,
                  "Read counters only for launches inside NVTX ranges of this name");
  sub->add_flag("--queued-timestamps", options->queued_timestamps,
                "Record when each kernel was queued and submitted (about 1 µs more per launch)");
  sub->add_option("--trace", options->trace,
                  "Also write the timeline (kernels, copies, API calls, NVTX ranges, idle gaps and their causes) "
                  "as a Chrome trace-event file for Perfetto UI or chrome://tracing");
  add_ceilings_option(*sub, options->ceilings);
  sub->add_option("--kill-after", options->kill_after_s,
                  "After a request to stop (Ctrl-C, SIGTERM, SIGHUP), kill the program with SIGKILL if it has not "
                  "ended within this many seconds")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  sub->add_option("command", options->command, "The program to run, and its arguments")->required();
  // Everything from the program's name on belongs to the program, options included.
  sub->positionals_at_end(true);
  sub->prefix_command(false);
  sub->allow_extras(false);
  return [options] {
    ProfileRequest request;
    request.command = options->command;
    if (!options->profile.empty()) request.profile_path = options->profile;
    if (auto problem = check_counters_mode(options->counters); !problem.empty()) throw std::runtime_error(problem);
    request.counters = options->counters;
    request.counters_range = options->counters_range;
    request.queued_timestamps = options->queued_timestamps;
    request.ceilings = *parse_ceilings_choice(options->ceilings);
    request.calibration_dir = calibration_dir();
    request.kill_after_ns = static_cast<uint64_t>(options->kill_after_s * 1e9);
    // Where the report goes: -o, else the first free one of the numbered default names.
    const std::filesystem::path named = options->output;
    // Refuse before running: a long run must not end in a file that cannot be written.
    if (!named.empty())
      check_writable(named, options->force);
    else
      check_folder_writable(default_report_stem(request.command, rank_from_environment(), host_name()) + ".json");
    if (!options->html.empty()) check_writable(options->html, options->force);
    if (!options->trace.empty()) {
      request.trace_events = options->trace;
      request.trace_events_overwrite = options->force;
      check_writable(request.trace_events, options->force);
      std::error_code ec;
      if (std::filesystem::weakly_canonical(request.trace_events, ec) == std::filesystem::weakly_canonical(named, ec))
        throw std::runtime_error(options->trace + ": is also the report file; choose another name");
    }

    ProfileResult result = profile_command(request);
    std::error_code ec;
    if (!result.launch.error.empty()) {
      std::filesystem::remove_all(result.data_dir, ec);
      std::cerr << "brrr: error: " << result.launch.error << "\n";
      return pass_through_status(result.launch.exit);
    }
    for (const auto& note : result.notes) std::cerr << "brrr: note: " << note << "\n";
    const RunInfo& info = result.report.run.info;
    const std::string text = report_to_text(result.report);
    const std::string stem = default_report_stem(request.command, info.rank, info.host);
    std::filesystem::path written;
    std::string failure;
    try {
      if (named.empty())
        written = write_numbered_file(stem, text);
      else {
        write_file_atomically(named, text, options->force);
        written = named;
      }
    } catch (const std::exception& e) {
      failure = std::string(e.what()) + "; " +
                keep_report_elsewhere(result, named.empty() ? std::filesystem::path(stem + ".json") : named, text);
    }
    // The page can be made again from the report (brrr explain --format html); the data folder
    // goes once the report is safe.
    std::string html_failure;
    if (!options->html.empty()) {
      try {
        write_file_atomically(options->html, render_html(result.report), options->force);
      } catch (const std::exception& e) {
        html_failure = std::string(e.what()) + (failure.empty() ? "; brrr explain " + written.string() +
                                                                      " -f html > PAGE.html writes the page again"
                                                                : "");
      }
    }
    if (failure.empty()) std::filesystem::remove_all(result.data_dir, ec);
    // Under a launcher every rank would print its verdict into one terminal: rank 0 speaks for
    // the job, and `brrr merge` gives the others' side by side.
    if (!options->quiet && (!info.rank || info.rank->rank == 0)) {
      std::cerr << "\n" << render_text(result.report, terminal_render_options(STDERR_FILENO, 5)) << "\n";
    }
    // The data's whereabouts come last, where a person looks.
    const std::string rank = info.rank ? fmt::format("rank {}: ", info.rank->rank) : "";
    if (failure.empty()) std::cerr << "brrr: " << rank << "report written to " << written.string() << "\n";
    if (!options->html.empty() && html_failure.empty())
      std::cerr << "brrr: HTML report written to " << options->html << "\n";
    if (!request.trace_events.empty() && result.trace_events_error.empty())
      std::cerr << "brrr: trace written to " << request.trace_events.string() << "\n";
    bool failed = false;
    for (const std::string* problem : {&result.trace_events_error, &html_failure, &failure})
      if (!problem->empty()) {
        std::cerr << "brrr: error: " << rank << *problem << "\n";
        failed = true;
      }
    if (failed) return 125;
    return pass_through_status(result.launch.exit);
  };
}

} // namespace brrr::cmd
