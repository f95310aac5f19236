// brrr profile's promises about files and signals (docs/reliability.md), checked with the real
// executable on programs that need no GPU: runs at once in one folder, a report that cannot be
// written (a full disk, a read-only or vanished folder), and targets that ignore or escape the
// signals brrr passes on.

#include <doctest/doctest.h>

#include "process_runner.hpp"
#include "trace_builder.hpp"

#include "collect/inject/stream_writer.hpp"
#include "collect/launcher.hpp"
#include "collect/stream_reader.hpp"
#include "report/report.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <set>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace brrr;
using namespace brrr::testing;
namespace fs = std::filesystem;

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

// brrr's own failure: exit status 125 and one "brrr: error:" line, which is returned.
std::string single_error(const ProcessResult& r) {
  CAPTURE(r.err);
  CHECK(r.status == 125);
  const auto errors = lines_starting(r.err, "brrr: error: ");
  REQUIRE(errors.size() == 1);
  return errors[0];
}

// The path that follows `marker` on a line of `text`, up to the next space or the end.
fs::path path_after(const std::string& text, const std::string& marker) {
  const auto at = text.find(marker);
  if (at == std::string::npos) return {};
  const auto from = at + marker.size();
  return text.substr(from, text.find_first_of(" \n", from) - from);
}

// The options of a brrr run in `cwd` whose record streams go to `streams`.
ProcessOptions in_folders(const fs::path& cwd, const fs::path& streams) {
  ProcessOptions o = profile_options(cwd);
  o.environment["TMPDIR"] = streams.string();
  return o;
}

// Whether this process may mount a small tmpfs in a mount namespace of its own (root with
// CAP_SYS_ADMIN, as in a container CI job): then full and read-only file systems are real.
bool can_mount_tmpfs() {
  TempDir dir("mount-probe");
  return run_process(
             {"/bin/sh", "-c",
              "unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs \"$0\"' " + dir.path().string() + " 2>/dev/null"})
             .status == 0;
}

// Waits until a file appears (the target has started), for at most ten seconds.
bool appears(const fs::path& file) {
  for (int i = 0; i < 1000 && !fs::exists(file); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return fs::exists(file);
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

} // namespace

TEST_CASE("reliability: runs at once in one folder each write a report of their own") {
  TempDir dir("concurrent");
  TempDir streams("concurrent-streams");
  constexpr int runs = 8;
  std::vector<RunningProcess> running;
  for (int i = 0; i < runs; ++i)
    running.push_back(start_process({BRRR_BINARY, "profile", "-q", "--", "sh", "-c", "sleep 0.2"},
                                    in_folders(dir.path(), streams.path())));
  std::set<std::string> written;
  for (auto& r : running) {
    const auto result = finish_process(r);
    CAPTURE(result.err);
    CHECK(result.status == 0);
    written.insert(path_after(result.err, "brrr: report written to ").string());
  }
  std::vector<std::string> expected{"brrr-sh.json"};
  for (int n = 2; n <= runs; ++n) expected.push_back("brrr-sh-" + std::to_string(n) + ".json");
  std::sort(expected.begin(), expected.end());
  CHECK(written == std::set<std::string>(expected.begin(), expected.end()));
  // No temporary file is left beside the reports, and every report is whole.
  CHECK(entries(dir.path()) == expected);
  for (const auto& name : expected) CHECK(read_report(dir / name).run.info.exit.code == 0);
  // Every run removed its own folder of record streams.
  CHECK(entries(streams.path()).empty());
}

TEST_CASE("reliability: a report that cannot be written after the run is kept, and said where") {
  TempDir dir("unwritable");
  TempDir streams("unwritable-streams");
  const fs::path out = dir / "out";
  fs::create_directories(out);

  SUBCASE("its folder vanished during the run: the report is saved with the record streams") {
    const auto r = run_process({BRRR_BINARY, "profile", "-q", "-o", (out / "r.json").string(), "--", "sh", "-c",
                                "rm -r " + quoted(out) + " && touch " + quoted(out)},
                               in_folders(dir.path(), streams.path()));
    CHECK(single_error(r).find("Not a directory") != std::string::npos);
    const fs::path saved = path_after(r.err, "the report is saved as ");
    REQUIRE(!saved.empty());
    CHECK(saved.parent_path().parent_path() == streams.path());
    CHECK(read_report(saved).run.info.exit.code == 0);
    // The report holds what the streams held; they are gone.
    CHECK(entries(saved.parent_path()) == std::vector<std::string>{"r.json"});
  }

  SUBCASE("the disk filled up during the run") {
    if (can_mount_tmpfs()) {
      // A 64 KiB file system that the target fills.
      const std::string script = "mount -t tmpfs -o size=64k tmpfs \"$0\" && exec \"$@\"";
      const auto r = run_process({"/usr/bin/env", "unshare", "-m", "sh", "-c", script, out.string(), BRRR_BINARY,
                                  "profile", "-q", "-o", (out / "r.json").string(), "--", "sh", "-c",
                                  "cat /dev/zero > " + quoted(out / "fill") + " 2>/dev/null; exit 0"},
                                 in_folders(dir.path(), streams.path()));
      CHECK(single_error(r).find("No space left on device") != std::string::npos);
      const fs::path saved = path_after(r.err, "the report is saved as ");
      REQUIRE(!saved.empty());
      CHECK(read_report(saved).run.info.exit.code == 0);
    } else {
      // Without mounts, a file-size limit fails every write brrr makes, the fallback's too:
      // the record streams are kept.
      const std::string script = "trap '' XFSZ; ulimit -f 1; exec \"$@\"";
      const auto r = run_process({"/bin/sh", "-c", script, "sh", BRRR_BINARY, "profile", "-q", "-o",
                                  (out / "r.json").string(), "--", "sh", "-c", "exit 0"},
                                 in_folders(dir.path(), streams.path()));
      CHECK(single_error(r).find("File too large") != std::string::npos);
      const fs::path kept = path_after(r.err, "the recorded streams are kept in ");
      CHECK(fs::is_directory(kept));
      CHECK(kept.parent_path() == streams.path());
    }
    CHECK(entries(out).size() <= 1); // the filler, and never a partial report
  }
}

TEST_CASE("reliability: an HTML page that cannot be written after the run leaves the report, and says so") {
  TempDir dir("unwritable-html");
  TempDir streams("unwritable-html-streams");
  fs::create_directories(dir / "pages");
  // The page's folder is there when brrr checks it, and gone when the page is written.
  const auto r = run_process(
      {BRRR_BINARY, "profile", "-q", "-o", "r.json", "--html", "pages/r.html", "--", "sh", "-c", "rmdir pages"},
      in_folders(dir.path(), streams.path()));
  const std::string error = single_error(r);
  CHECK(error.find("pages/r.html: cannot write") != std::string::npos);
  CHECK(error.find("brrr explain r.json -f html > PAGE.html writes the page again") != std::string::npos);
  CHECK(r.err.find("brrr: report written to r.json") != std::string::npos);
  CHECK(read_report(dir / "r.json").run.info.exit.code == 0);
  // The report holds the run: the record streams are gone.
  CHECK(entries(streams.path()).empty());
}

TEST_CASE("reliability: a report that cannot be written is refused before the program runs") {
  TempDir dir("refused");
  TempDir streams("refused-streams");
  const fs::path marker = dir / "ran";
  const std::vector<std::string> target{"--", "sh", "-c", "touch " + quoted(marker)};
  auto profile_to = [&](const std::vector<std::string>& options, const std::vector<std::string>& wrapper = {}) {
    std::vector<std::string> command = wrapper;
    command.insert(command.end(), {BRRR_BINARY, "profile", "-q"});
    command.insert(command.end(), options.begin(), options.end());
    command.insert(command.end(), target.begin(), target.end());
    const auto r = run_process(command, in_folders(dir.path(), streams.path()));
    const std::string error = single_error(r);
    CHECK(lines_starting(r.err, "brrr: ").size() == 1); // not even a note
    CHECK_FALSE(fs::exists(marker));
    return error;
  };

  SUBCASE("a read-only folder, named or the current one") {
    const fs::path ro = dir / "ro";
    fs::create_directories(ro);
    std::string err;
    if (can_mount_tmpfs()) {
      const std::vector<std::string> read_only{
          "/usr/bin/env", "unshare", "-m",
          "sh",           "-c",      "mount -t tmpfs -o ro,size=64k tmpfs \"$0\" && cd \"$0\" && exec \"$@\"",
          ro.string()};
      err = profile_to({"-o", (ro / "r.json").string()}, read_only);
      CHECK(err.find("Read-only file system") != std::string::npos);
      const auto default_name = profile_to({}, read_only);
      CHECK(default_name.find("brrr-sh.json: cannot write in . (Read-only file system)") != std::string::npos);
    } else if (::geteuid() != 0) {
      fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
      err = profile_to({"-o", (ro / "r.json").string()});
      CHECK(err.find("Permission denied") != std::string::npos);
    } else {
      // Root without mounts writes through permissions: a folder that cannot exist instead.
      const fs::path file = dir.write("file", "");
      err = profile_to({"-o", (file / "r.json").string()});
      CHECK(err.find("Not a directory") != std::string::npos);
    }
    CHECK(err.find("cannot write in") != std::string::npos);
  }
  SUBCASE("a folder that does not exist") {
    const auto err = profile_to({"-o", (dir / "missing" / "r.json").string()});
    CHECK(err.find("No such file or directory") != std::string::npos);
  }
  SUBCASE("--force never replaces what is not a regular file") {
    CHECK(profile_to({"--force", "-o", "/dev/null"}).find("/dev/null: is not a regular file") != std::string::npos);
    fs::create_directories(dir / "folder.json");
    CHECK(profile_to({"--force", "-o", (dir / "folder.json").string()}).find("is not a regular file") !=
          std::string::npos);
  }
  CHECK(entries(streams.path()).empty());
}

TEST_CASE("reliability: a target that ignores SIGTERM is killed after --kill-after, and reported") {
  TempDir dir("ignores-term");
  const fs::path started = dir / "started";
  const fs::path report = dir / "r.json";
  // The ignored disposition survives exec, so the sleeping program ignores SIGTERM too.
  const std::string target = "trap '' TERM; touch " + quoted(started) + "; exec sleep 60";

  SUBCASE("one SIGTERM: killed when the grace period ends") {
    auto brrr = start_process(
        {BRRR_BINARY, "profile", "-q", "--kill-after", "0.5", "-o", report.string(), "--", "sh", "-c", target},
        profile_options(dir.path()));
    REQUIRE(appears(started));
    const auto sent = std::chrono::steady_clock::now();
    ::kill(brrr.pid, SIGTERM);
    const auto r = finish_process(brrr);
    const double waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    CAPTURE(r.err);
    CHECK(r.status == 128 + SIGKILL);
    CHECK(waited_s >= 0.5);
    CHECK(waited_s < 10);
    const Report rep = read_report(report);
    CHECK_FALSE(rep.run.info.complete);
    REQUIRE(rep.run.info.incomplete_reasons.size() == 1);
    CHECK(rep.run.info.incomplete_reasons[0] ==
          "the target was killed by signal 9 (SIGKILL) by brrr, 0.5 s after a request to stop that it did not follow");
  }
  SUBCASE("a second SIGTERM: killed at once") {
    auto brrr = start_process(
        {BRRR_BINARY, "profile", "-q", "--kill-after", "1000", "-o", report.string(), "--", "sh", "-c", target},
        profile_options(dir.path()));
    REQUIRE(appears(started));
    ::kill(brrr.pid, SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(brrr.pid, SIGTERM);
    const auto r = finish_process(brrr);
    CAPTURE(r.err);
    CHECK(r.status == 128 + SIGKILL);
    const Report rep = read_report(report);
    REQUIRE(rep.run.info.incomplete_reasons.size() == 1);
    CHECK(rep.run.info.incomplete_reasons[0] == "the target was killed by signal 9 (SIGKILL) after a second interrupt");
  }
}

TEST_CASE("reliability: a program whose output brrr reads cannot hold back signals or the grace period") {
  // What brrr calibrate does with its kernels: their standard output read line by line. This
  // one writes without end and ignores SIGTERM; only the grace period can end it.
  LaunchRequest request;
  request.command = {"sh", "-c", "trap '' TERM; while :; do echo line; done"};
  request.kill_after_ns = 200'000'000;
  std::size_t lines = 0;
  std::size_t other_lines = 0;
  bool asked = false;
  request.on_output_line = [&](std::string_view line) {
    if (line != "line") ++other_lines;
    // brrr itself is asked to stop, as by a CI runner, once the program is well under way.
    if (++lines == 1000 && !asked) {
      asked = true;
      ::kill(::getpid(), SIGTERM);
    }
  };
  const auto start = std::chrono::steady_clock::now();
  const LaunchResult result = launch_and_wait(request);
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(asked);
  CHECK(other_lines == 0);
  CHECK(result.forwarded_signals == 1);
  CHECK(result.killed_after_grace);
  CHECK(result.exit == ExitStatus{ExitStatus::Kind::signaled, 0, SIGKILL});
  CHECK(took_s < 10);
}

TEST_CASE("reliability: a target that left brrr's session still gets the signals brrr receives") {
  TempDir dir("setsid");
  const fs::path started = dir / "started";
  const fs::path report = dir / "r.json";
  auto brrr = start_process({BRRR_BINARY, "profile", "-q", "-o", report.string(), "--", "setsid", "sh", "-c",
                             "touch " + quoted(started) + "; exec sleep 60"},
                            profile_options(dir.path()));
  REQUIRE(appears(started));
  ::kill(brrr.pid, SIGINT);
  const auto r = finish_process(brrr);
  CAPTURE(r.err);
  CHECK(r.status == 128 + SIGINT);
  const Report rep = read_report(report);
  CHECK(rep.run.info.exit == ExitStatus{ExitStatus::Kind::signaled, 0, SIGINT});
}

namespace {

// The descriptor a process holds open on `file` (-1 when none).
int descriptor_of(const fs::path& file) {
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(entry.path(), ec) == file) return std::stoi(entry.path().filename().string());
  }
  return -1;
}

} // namespace

TEST_CASE("reliability: the injection library's stream survives a program that takes its descriptor") {
  TempDir dir("stream-descriptor");
  const fs::path other = dir.write("program-file", "");
  inject::StreamWriter writer;
  REQUIRE(writer.open(dir.path().c_str(), 1000));
  const fs::path stream = dir / (std::to_string(::getpid()) + ".brrrs");
  const int fd = descriptor_of(stream);
  REQUIRE(fd >= 3);
  // Moved out of the way of the numbers programs dup2() onto, where the limit allows.
  CHECK(fd >= 1000);

  SUBCASE("another file put in its place") {
    const int program_fd = ::open(other.c_str(), O_WRONLY);
    REQUIRE(::dup2(program_fd, fd) == fd);
    ::close(program_fd);
    writer.warn("after the program's dup2");
    writer.finish(2000);
    CHECK(read_text(other).empty()); // nothing went into the program's file
    ::close(fd);                     // the program's, not brrr's
  }
  SUBCASE("closed") {
    ::close(fd);
    writer.warn("after the program's close");
    writer.finish(2000);
  }
  CHECK(descriptor_of(stream) == -1); // finish closed the reopened stream
  Trace trace;
  const auto result = read_stream_file(stream.string(), trace);
  REQUIRE(result.ok);
  const auto& process = trace.processes.at(result.process);
  CHECK(process.stream_complete);
  // The warning given when the descriptor was found taken, after the one being written then.
  REQUIRE(process.warnings.size() == 2);
  CHECK(process.warnings[0].rfind("after the program's", 0) == 0);
  CHECK(process.warnings[1] == "the program closed or replaced file descriptor " + std::to_string(fd) +
                                   ", brrr's stream file; brrr opened the file again");
}

TEST_CASE("reliability: Ctrl-C on the terminal reaches a target in brrr's process group once") {
  const int terminal = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(terminal >= 0);
  REQUIRE(::grantpt(terminal) == 0);
  REQUIRE(::unlockpt(terminal) == 0);
  TempDir dir("terminal");
  const fs::path started = dir / "started";
  const fs::path interrupts = dir / "interrupts";
  // The shell counts the interrupts it gets, and ends on its own two seconds later.
  const std::string target = "trap 'echo SIGINT >> " + quoted(interrupts) + "' INT; touch " + quoted(started) +
                             "; i=0; while [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done";
  ProcessOptions options = profile_options(dir.path());
  options.controlling_terminal = ::ptsname(terminal);
  auto brrr =
      start_process({BRRR_BINARY, "profile", "-q", "-o", (dir / "r.json").string(), "--", "sh", "-c", target}, options);
  REQUIRE(appears(started));
  REQUIRE(::write(terminal, "\x03", 1) == 1); // Ctrl-C: SIGINT to the terminal's foreground group
  const auto r = finish_process(brrr);
  ::close(terminal);
  CAPTURE(r.err);
  CHECK(r.status == 0);
  CHECK(read_text(interrupts) == "SIGINT\n");
  CHECK(read_report(dir / "r.json").run.info.exit.code == 0);
}

TEST_CASE("reliability: the injection library's stream on a full disk ends at its last whole record") {
  TempDir dir("stream-full");
  inject::StreamWriter writer;
  REQUIRE(writer.open(dir.path().c_str(), 1000));
  const fs::path stream = dir / (std::to_string(::getpid()) + ".brrrs");
  writer.warn("written before the disk filled up");
  // A file-size limit stands in for a full disk: the next write fails (EFBIG, with SIGXFSZ
  // ignored) after a part of the batch went out, as a write to a full disk does.
  struct rlimit saved {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  const auto previous = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = saved;
  limit.rlim_cur = fs::file_size(stream) + 100;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  writer.warn(std::string(1000, 'x'));
  writer.warn("after the failure: discarded");
  writer.finish(2000);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous);

  Trace trace;
  const auto result = read_stream_file(stream.string(), trace);
  REQUIRE(result.ok);
  const auto& process = trace.processes.at(result.process);
  CHECK(fs::file_size(stream) == limit.rlim_cur);
  CHECK_FALSE(process.stream_complete);
  // The cut batch is recognised as such, and everything before it is kept.
  CHECK(process.stream_problem.rfind("stream cut at byte", 0) == 0);
  CHECK(process.warnings == std::vector<std::string>{"written before the disk filled up"});
}

TEST_CASE("reliability: the injection library does not print into a file the program put in place of stderr") {
  TempDir dir("stderr");
  const fs::path program_file = dir / "program-file";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The program: its standard error is taken by the library, then replaced by its own file.
    inject::print_problem("while descriptor 2 is the original standard error");
    const int fd = ::open(program_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    inject::print_problem("after the program replaced descriptor 2");
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  REQUIRE(fs::exists(program_file));
  CHECK(read_text(program_file).empty());
}
