// brrr diff BEFORE AFTER: what changed from one saved report to another, and the CI gates on
// that change (--fail-if on deltas, --fail-if-slower on the wall time).

#include "commands.hpp"

#include "analyse/diff.hpp"
#include "render/diff_render.hpp"
#include "report/report.hpp"

#include <fmt/format.h>

#include <unistd.h>

namespace brrr::cmd {

Run add_diff(CLI::App& app) {
  struct Options {
    std::string before;
    std::string after;
    std::string format = "text";
    std::size_t top = 10;
    std::vector<std::string> fail_if;
    std::string fail_if_slower;
  };
  auto options = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "diff", "Compare two saved reports: wall time, where the time went, kernels, and a verdict on the change.");
  sub->add_option("before", options->before, "The first report (JSON), e.g. the main branch's")->required();
  sub->add_option("after", options->after, "The second report (JSON), e.g. the pull request's")->required();
  sub->add_option("-f,--format", options->format, "Output format: text, json or md")
      ->check(CLI::IsMember({"text", "json", "md", "markdown"}));
  sub->add_option("--top", options->top, "How many kernels to list in each table")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  add_fail_if_option(*sub, options->fail_if,
                     "Exit 1 if the condition on the change holds, e.g. 'overhead.delta > 5%' (repeatable; see "
                     "docs/ci.md)");
  const CLI::Option* slower_option = sub->add_option(
      "--fail-if-slower", options->fail_if_slower,
      "Exit 1 if the second run's wall time grew by more than this: a percentage (5%) or a time (100ms)");
  return [options, slower_option] {
    auto conditions = parse_conditions(options->fail_if, GateContext::diff);
    if (slower_option->count() > 0) {
      ParsedCondition slower = parse_slower_threshold(options->fail_if_slower);
      if (!slower.condition)
        throw InputError(fmt::format("--fail-if-slower '{}': {}", options->fail_if_slower, slower.error.message));
      conditions.push_back(std::move(*slower.condition));
    }
    const Report before = read_analysed_report(options->before);
    const Report after = read_analysed_report(options->after);
    const ReportDiff diff = diff_reports(before, after, options->before, options->after);
    print_to_stdout(
        render_diff(diff, *parse_format(options->format), terminal_render_options(STDOUT_FILENO, options->top)));
    return gate_status(check_gates(conditions, before, after));
  };
}

} // namespace brrr::cmd
