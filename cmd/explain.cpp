// brrr explain REPORT: re-renders a saved report, analysing it again (with another hardware
// profile or other ceilings, if asked). A merged report (brrr merge) is explained as a job.

#include "commands.hpp"

#include "render/render.hpp"
#include "report/merged.hpp"
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
  return [options] {
    RenderOptions render_options;
    render_options.top = options->top;
    render_options.color = use_color(STDOUT_FILENO);
    render_options.unicode = use_unicode() && !options->ascii;
    render_options.roofline = options->roofline || (!options->no_roofline && isatty(STDOUT_FILENO));
    const Format format = *parse_format(options->format);
    const nlohmann::json document = read_json_file(options->report);
    std::optional<HardwareProfile> profile;
    if (!options->profile.empty()) profile = read_profile(options->profile);
    auto use_profile = [&](Report& report) {
      if (!profile) return;
      report.profile = profile;
      report.profile_missing_reason.clear();
    };
    if (is_merged_report(document)) {
      MergedReport merged = merged_from_json(document, options->report);
      for (auto& rank : merged.ranks) use_profile(rank.report);
      reanalyse(merged);
      std::cout << render(merged, format, render_options);
    } else {
      Report report = report_from_json(document, options->report);
      use_profile(report);
      reanalyse(report);
      std::cout << render(report, format, render_options);
    }
    if (!std::cout.flush()) throw std::runtime_error("cannot write to standard output");
    return 0;
  };
}

} // namespace brrr::cmd
