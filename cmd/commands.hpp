#pragma once
// Each subcommand registers itself on the CLI and returns the function that runs it once the
// command line is parsed. Exit codes are documented in the man pages: explain and diff exit
// 0 when fine, 1 when a CI threshold failed, 2 on bad usage or input; profile exits like
// env(1): the target's status, 128+N for signal N, 126/127 when it cannot run, 125 for
// brrr's own failure.

#include <CLI/CLI.hpp>

#include <functional>

namespace brrr::cmd {

using Run = std::function<int()>;

Run add_calibrate(CLI::App& app);
Run add_explain(CLI::App& app);
Run add_profile(CLI::App& app);

// The --ceilings option that profile and explain share (docs/calibrate.md).
void add_ceilings_option(CLI::App& sub, std::string& value);

// Whether output to a file descriptor may use color (a terminal, NO_COLOR unset), and
// whether the locale can show Unicode block characters.
bool use_color(int fd);
bool use_unicode();

} // namespace brrr::cmd
