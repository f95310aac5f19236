// brrr explain REPORT: re-renders a saved report, analysing it again (with another hardware
// profile, or the measured ceilings of a calibration, if asked or found), and checks the CI
// gates given with --fail-if. A merged report (brrr merge) is explained as a job.

#include "commands.hpp"

#include "render/render.hpp"
#include "report/merged.hpp"
#include "report/calibrations.hpp"
#include "report/profiles.hpp"
#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <unistd.h>

namespace brrr::cmd {

Run add_explain(CLI::App& app) {
  struct Options {
    std::string report;
    std::string format = "text";
    std::size_t top = 10;
    std::string profile;
    bool roofline = false;
    bool no_roofline = false;
    bool ascii = false;
    std::vector<std::string> fail_if;
    std::string ceilings = "auto";
  };
  auto options = std::make_shared<Options>();
  CLI::App* sub =
      app.add_subcommand("explain", "Explain a saved report: the verdict, where the time went, what to do.");
  sub->add_option("report", options->report, "The report (JSON) written by brrr profile, or a merged report")
      ->required();
  sub->add_option("-f,--format", options->format, "Output format: text, json, md, csv or html")
      ->check(CLI::IsMember({"text", "json", "md", "markdown", "csv", "html"}));
  sub->add_option("--top", options->top, "How many kernels to list")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  sub->add_option("--profile", options->profile, "A hardware profile (JSON) to use instead of the report's");
  CLI::Option* roofline = sub->add_flag("--roofline", options->roofline,
                                        "Draw the roofline in the text report (the default on a terminal)");
  sub->add_flag("--no-roofline", options->no_roofline, "Do not draw the roofline in the text report")
      ->excludes(roofline);
  sub->add_flag("--ascii", options->ascii, "Draw bars and the roofline with ASCII characters only");
  add_fail_if_option(*sub, options->fail_if,
                     "Exit 1 if the condition holds, e.g. 'overhead > 30%' or 'rule(overhead.launch-bound)' "
                     "(repeatable; see docs/ci.md)");
  add_ceilings_option(*sub, options->ceilings);
  return [options] {
    const auto conditions = parse_conditions(options->fail_if, GateContext::report);
    const CeilingsChoice ceilings = *parse_ceilings_choice(options->ceilings);
    RenderOptions render_options = terminal_render_options(STDOUT_FILENO, options->top);
    render_options.unicode = render_options.unicode && !options->ascii;
    render_options.roofline = options->roofline || (!options->no_roofline && render_options.roofline);
    const Format format = *parse_format(options->format);
    const nlohmann::json document = read_json_file(options->report);
    if (!is_merged_report(document)) {
      Report report = report_from_json(document, options->report);
      RoofsRequest request;
      request.ceilings = ceilings;
      if (options->profile.empty()) {
        request.profile = report.profile;
        request.missing_reason = report.profile_missing_reason;
      } else {
        request.profile = read_profile(options->profile);
        request.profile_given = true;
      }
      request.gpu = report.run.gpus.empty() ? nullptr : &report.run.gpus.front();
      request.calibration_dir = calibration_dir();
      Roofs roofs = choose_roofs(request);
      for (const auto& problem : roofs.problems) std::cerr << "brrr: note: " << problem << "\n";
      use_roofs(report, std::move(roofs));
      print_to_stdout(render(report, format, render_options));
      return gate_status(check_gates(conditions, report));
    }
    if (!conditions.empty())
      throw InputError("--fail-if checks one run's report; " + options->report + " is a merged report (brrr merge)");
    MergedReport merged = merged_from_json(document, options->report);
    if (!options->profile.empty()) {
      const HardwareProfile profile = read_profile(options->profile);
      for (auto& rank : merged.ranks) {
        rank.report.profile = profile;
        rank.report.profile_missing_reason.clear();
      }
    }
    reanalyse(merged);
    print_to_stdout(render(merged, format, render_options));
    return 0;
  };
}

} // namespace brrr::cmd
