// brrr profile [options] [--] PROGRAM [ARGS...]: runs the program under brrr, writes the
// report, prints the verdict on stderr (stdout stays the program's), and exits with the
// program's status.

#include "commands.hpp"

#include "collect/session.hpp"
#include "render/render.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <unistd.h>

namespace brrr::cmd {

Run add_profile(CLI::App& app) {
  struct Options {
    std::vector<std::string> command;
    std::string output;
    bool force = false;
    bool quiet = false;
    std::string profile;
    std::string counters = "first:1";
    std::string counters_range;
    double kill_after_s = static_cast<double>(default_kill_after_ns) / 1e9;
  };
  auto options = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("profile", "Run a CUDA program under brrr and write its report.");
  sub->add_option("-o,--output", options->output,
                  "Report file (default: brrr-PROGRAM.json, numbered so that no report is overwritten)");
  sub->add_flag("--force", options->force, "Overwrite the report file if it exists");
  sub->add_flag("-q,--quiet", options->quiet, "Do not print the verdict");
  sub->add_option("--profile", options->profile, "A hardware profile (JSON) instead of the built-in one for the GPU");
  sub->add_option("--counters", options->counters,
                  "Hardware counters: off, first:N (the first N launches of each distinct kernel) or all")
      ->capture_default_str();
  sub->add_option("--counters-range", options->counters_range,
                  "Read counters only for launches inside NVTX ranges of this name");
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
    request.kill_after_ns = static_cast<uint64_t>(options->kill_after_s * 1e9);
    const bool named = !options->output.empty();
    const std::filesystem::path output =
        named ? std::filesystem::path(options->output) : default_report_name(request.command, 1);
    // Refuse before running: a long run must not end in a report that cannot be written.
    if (named)
      check_writable(output, options->force);
    else
      check_folder_writable(output);

    ProfileResult result = profile_command(request);
    std::error_code ec;
    if (!result.launch.error.empty()) {
      std::filesystem::remove_all(result.data_dir, ec);
      std::cerr << "brrr: error: " << result.launch.error << "\n";
      return pass_through_status(result.launch.exit);
    }
    for (const auto& note : result.notes) std::cerr << "brrr: note: " << note << "\n";
    const std::string text = report_to_text(result.report);
    std::filesystem::path written;
    std::string failure;
    try {
      if (named) {
        write_file_atomically(output, text, options->force);
        written = output;
      } else {
        written = write_file_under_free_name([&](int n) { return default_report_name(request.command, n); }, text);
      }
    } catch (const std::exception& e) {
      failure = std::string(e.what()) + "; " + keep_report_elsewhere(result, output, text);
    }
    if (failure.empty()) std::filesystem::remove_all(result.data_dir, ec);
    if (!options->quiet) {
      RenderOptions render_options;
      render_options.color = use_color(STDERR_FILENO);
      render_options.unicode = use_unicode();
      render_options.top = 5;
      std::cerr << "\n" << render_text(result.report, render_options) << "\n";
    }
    // The data's whereabouts come last, where a person looks.
    if (!failure.empty()) {
      std::cerr << "brrr: error: " << failure << "\n";
      return 125;
    }
    std::cerr << "brrr: report written to " << written.string() << "\n";
    return pass_through_status(result.launch.exit);
  };
}

} // namespace brrr::cmd
