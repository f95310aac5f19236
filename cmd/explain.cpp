// brrr explain REPORT: re-renders a saved report, analysing it again (with another hardware
// profile or other ceilings, if asked), and checks the CI gates given with --fail-if.

#include "commands.hpp"

#include "render/render.hpp"
#include "report/report.hpp"

#include <unistd.h>

namespace brrr::cmd {

Run add_explain(CLI::App& app) {
  struct Options {
    std::string report;
    std::string format = "text";
    std::size_t top = 10;
    std::string profile;
    std::vector<std::string> fail_if;
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
  add_fail_if_option(*sub, options->fail_if,
                     "Exit 1 if the condition holds, e.g. 'overhead > 30%' or 'rule(overhead.launch-bound)' "
                     "(repeatable; see docs/ci.md)");
  return [options] {
    const auto conditions = parse_conditions(options->fail_if, GateContext::report);
    const Report report = read_analysed_report(options->report, options->profile);
    print_to_stdout(
        render(report, *parse_format(options->format), terminal_render_options(STDOUT_FILENO, options->top)));
    return gate_status(check_gates(conditions, report));
  };
}

} // namespace brrr::cmd
