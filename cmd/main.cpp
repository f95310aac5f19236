// brrr: a roofline profiler for CUDA programs. This file only wires the subcommands together
// and turns every failure into one line on stderr and a documented exit code.

#include "commands.hpp"

#include "report/report.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <unistd.h>

namespace brrr::cmd {

bool use_color(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return isatty(fd) && (!no_color || !*no_color) && !(term && std::strcmp(term, "dumb") == 0);
}

bool use_unicode() {
  for (const char* var : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* v = std::getenv(var);
    if (v && *v) {
      const std::string value = v;
      return value.find("UTF-8") != std::string::npos || value.find("utf8") != std::string::npos ||
             value.find("UTF8") != std::string::npos || value.find("utf-8") != std::string::npos;
    }
  }
  return false;
}

void add_ceilings_option(CLI::App& sub, std::string& value) {
  sub.add_option("--ceilings", value,
                 "Roofs from measured ceilings (a calibration by brrr calibrate) or the datasheet's; auto: measured "
                 "when a calibration of the GPU exists")
      ->check(CLI::IsMember({"auto", "measured", "datasheet"}))
      ->capture_default_str();
}

} // namespace brrr::cmd

int main(int argc, char** argv) {
  using namespace brrr;
  CLI::App app{"brrr: find out whether a CUDA program is slow because of compute, memory bandwidth or overhead, "
               "and what to do about it.",
               "brrr"};
  app.set_version_flag("--version", std::string("brrr ") + BRRR_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  spdlog::set_pattern("brrr: %v");
  spdlog::set_level(spdlog::level::warn);

  std::map<CLI::App*, cmd::Run> commands;
  auto register_command = [&](cmd::Run (*add)(CLI::App&)) {
    const std::size_t before = app.get_subcommands({}).size();
    cmd::Run run = add(app);
    commands[app.get_subcommands({}).at(before)] = std::move(run);
  };
  register_command(cmd::add_profile);
  register_command(cmd::add_explain);
  register_command(cmd::add_merge);
  register_command(cmd::add_diff);
  register_command(cmd::add_calibrate);

  // `brrr profile` exits like env(1): its own failures are 125, so that they cannot be
  // mistaken for the target's exit status.
  const bool profiling = argc > 1 && std::strcmp(argv[1], "profile") == 0;
  const int usage_status = profiling ? 125 : 2;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "brrr: error: " << e.what() << "\nRun 'brrr --help' for usage.\n";
    return usage_status;
  }
  for (auto& [sub, run] : commands) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const InputError& e) {
      std::cerr << "brrr: error: " << e.what() << "\n";
      return usage_status;
    } catch (const std::exception& e) {
      std::cerr << "brrr: error: " << e.what() << "\n";
      return profiling ? 125 : 2;
    }
  }
  return usage_status;
}
