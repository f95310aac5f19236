#pragma once
// Each subcommand registers itself on the CLI and returns the function that runs it once the
// command line is parsed. Exit codes are documented in the man pages: explain, merge and diff
// exit 0 when fine, 1 when a CI threshold failed, 2 on bad usage or input; profile exits like
// env(1): the target's status, 128+N for signal N, 126/127 when it cannot run, 125 for
// brrr's own failure.

#include "analyse/gate.hpp"
#include "render/render.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace brrr::cmd {

using Run = std::function<int()>;

Run add_diff(CLI::App& app);
Run add_calibrate(CLI::App& app);
Run add_explain(CLI::App& app);
Run add_merge(CLI::App& app);
Run add_profile(CLI::App& app);

// The --ceilings option that profile and explain share (docs/calibrate.md).
void add_ceilings_option(CLI::App& sub, std::string& value);

// Whether output to a file descriptor may use color (a terminal, NO_COLOR unset), and
// whether the locale can show Unicode block characters.
bool use_color(int fd);
bool use_unicode();

// Render options for output to a file descriptor: color and Unicode as it and the locale allow.
RenderOptions terminal_render_options(int fd, std::size_t top);
// Writes to standard output; throws when it cannot (a closed pipe, a full disk).
void print_to_stdout(const std::string& text);

// The repeatable --fail-if option of explain and diff.
void add_fail_if_option(CLI::App& sub, std::vector<std::string>& conditions, const std::string& description);
// The --fail-if conditions; a malformed one throws InputError (exit 2) naming the problem.
std::vector<Condition> parse_conditions(const std::vector<std::string>& texts, GateContext context);
// Prints "brrr: gate failed: …" on stderr for each condition that held; 1 if any did, else 0.
int gate_status(const std::vector<std::string>& failures);

} // namespace brrr::cmd
