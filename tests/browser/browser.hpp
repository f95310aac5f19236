#pragma once
// Headless Chromium for the browser tests: finding it, and running it on a page with a time
// limit, a private profile folder, and its log (console messages included) on stderr.

#include "../process_runner.hpp"

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace brrr::testing {

// An executable `name` on $PATH, or an empty path.
inline std::filesystem::path find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return candidate;
  }
  return {};
}

// $BRRR_CHROMIUM, or Debian's `chromium`, or `chromium-browser` elsewhere.
inline std::filesystem::path find_chromium() {
  if (const char* chosen = std::getenv("BRRR_CHROMIUM"); chosen && *chosen) return chosen;
  for (const char* name : {"chromium", "chromium-browser"})
    if (auto found = find_program(name); !found.empty()) return found;
  return {};
}

// Chromium, headless, on the page at `page` with `extra` options, killed after two minutes.
// `profile_dir` keeps it away from the user's own profile and from other runs.
inline ProcessResult run_chromium(const std::filesystem::path& page, const std::filesystem::path& profile_dir,
                                  const std::vector<std::string>& extra) {
  const auto timeout = find_program("timeout");
  std::vector<std::string> args;
  if (!timeout.empty()) args = {timeout.string(), "120"};
  args.push_back(find_chromium().string());
  for (const char* option : {"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
                             "--disable-extensions", "--enable-logging=stderr", "--v=0"})
    args.emplace_back(option);
  args.push_back("--user-data-dir=" + profile_dir.string());
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("file://" + std::filesystem::absolute(page).string());
  ProcessOptions options;
  options.environment["HOME"] = profile_dir.string(); // nothing written to the real home
  return run_process(args, options);
}

// The lines of Chromium's log that are the page's console messages (errors, warnings, logs):
// "[...:INFO:CONSOLE(12)] "message", source: file:///... (12)".
inline std::vector<std::string> console_messages(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    if (line.find(":CONSOLE") != std::string::npos) out.push_back(line);
  return out;
}

} // namespace brrr::testing
