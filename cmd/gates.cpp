// The CI gates of explain and diff: conditions are parsed before any report is read, so that a
// malformed one is a usage error (exit 2) however the reports turn out; the conditions that
// hold are printed one a line on stderr, and make the command exit 1.

#include "commands.hpp"

#include "report/report.hpp"

#include <fmt/format.h>

#include <iostream>

namespace brrr::cmd {

void add_fail_if_option(CLI::App& sub, std::vector<std::string>& conditions, const std::string& description) {
  // One condition per occurrence, so that a positional argument after it is not taken for a
  // second condition.
  sub.add_option("--fail-if", conditions, description)->allow_extra_args(false)->type_name("CONDITION");
}

std::vector<Condition> parse_conditions(const std::vector<std::string>& texts, GateContext context) {
  std::vector<Condition> out;
  for (const auto& text : texts) {
    ParsedCondition parsed = parse_condition(text, context);
    if (!parsed.condition) throw InputError(fmt::format("--fail-if '{}': {}", text, describe(parsed.error)));
    out.push_back(std::move(*parsed.condition));
  }
  return out;
}

int gate_status(const std::vector<std::string>& failures) {
  for (const auto& failure : failures) std::cerr << "brrr: gate failed: " << failure << "\n";
  return failures.empty() ? 0 : 1;
}

} // namespace brrr::cmd
