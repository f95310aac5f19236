// brrr explain REPORT: re-renders a saved report, analysing it again (with another hardware
// profile, or the measured ceilings of a calibration, if asked or found).

#include "commands.hpp"

#include "render/render.hpp"
#include "report/calibrations.hpp"
#include "report/profiles.hpp"
#include "report/report.hpp"

#include <iostream>
#include <unistd.h>

namespace brrr::cmd {

Run add_explain(CLI::App& app) {
  struct Options {
    std::string report;
    std::string format = "text";
    std::size_t top = 10;
    std::string profile;
    std::string ceilings = "auto";
  };
  auto options = std::make_shared<Options>();
  CLI::App* sub =
      app.add_subcommand("explain", "Explain a saved report: the verdict, where the time went, what to do.");
  sub->add_option("report", options->report, "The report (JSON) written by brrr profile")->required();
  sub->add_option("-f,--format", options->format, "Output format: text, json, md or csv")
      ->check(CLI::IsMember({"text", "json", "md", "markdown", "csv"}));
  sub->add_option("--top", options->top, "How many kernels to list")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  sub->add_option("--profile", options->profile, "A hardware profile (JSON) to use instead of the report's");
  add_ceilings_option(*sub, options->ceilings);
  return [options] {
    Report report = read_report(options->report);
    RoofsRequest request;
    request.ceilings = *parse_ceilings_choice(options->ceilings);
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
    RenderOptions render_options;
    render_options.top = options->top;
    render_options.color = use_color(STDOUT_FILENO);
    render_options.unicode = use_unicode();
    std::cout << render(report, *parse_format(options->format), render_options);
    if (!std::cout.flush()) throw std::runtime_error("cannot write to standard output");
    return 0;
  };
}

} // namespace brrr::cmd
