#include "collect/inject/stream_writer.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "collect/rank_variables.hpp"

namespace brrr::inject {
namespace {

// Kernel symbols of heavily templated code run to tens of kilobytes; anything far longer is
// cut so that no record approaches the format's size limit.
constexpr size_t max_string_bytes = 1u << 20;
// /proc/self/cmdline beyond this is cut: the report needs the program and its first arguments.
constexpr size_t max_command_line_bytes = 64u << 10;
constexpr int max_problem_lines = 8;

bool write_all(int fd, const std::byte* data, size_t bytes) {
  while (bytes > 0) {
    const ssize_t written = ::write(fd, data, bytes);
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written == 0) {
      errno = EIO; // A regular file that accepts no bytes; say something rather than "Success".
    }
    if (written <= 0) {
      return false;
    }
    data += written;
    bytes -= static_cast<size_t>(written);
  }
  return true;
}

std::string read_command_line() {
  std::string command;
  const int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return command;
  }
  char block[4096];
  while (command.size() < max_command_line_bytes) {
    const ssize_t got = ::read(fd, block, sizeof(block));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    command.append(block, static_cast<size_t>(got));
  }
  ::close(fd);
  command.resize(std::min(command.size(), max_command_line_bytes));
  return command;
}

// Moves a descriptor out of the way of the program: never 0, 1 or 2 (a program that closed
// its standard streams would print into the stream file), and high when the limit allows,
// where programs that dup2() onto chosen numbers (shells, daemons) do not reach.
int move_high(int fd) {
  constexpr int preferred_lowest = 1000;
  struct rlimit limit {};
  int moved = -1;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur > preferred_lowest) {
    moved = ::fcntl(fd, F_DUPFD_CLOEXEC, preferred_lowest);
  }
  if (moved < 0) {
    moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  }
  if (moved < 0) {
    return fd;
  }
  ::close(fd);
  return moved;
}

// The program's standard error as it was when the library started. brrr prints only while
// descriptor 2 is still that file, never into one the program opened in its place after
// closing it. A copy of the descriptor would be safer still, but would keep a pipe open that
// the program closed, and whoever reads the pipe would wait for ever. A device other than a
// terminal is not a standard error: a program that closed descriptor 2 before its first CUDA
// call may find the driver's own device there.
const OwnedDescriptor& error_output() {
  static const OwnedDescriptor output = [] {
    OwnedDescriptor d;
    struct stat status {};
    if (::fstat(STDERR_FILENO, &status) == 0 && (!S_ISCHR(status.st_mode) || ::isatty(STDERR_FILENO) == 1)) {
      d.remember(STDERR_FILENO);
    }
    return d;
  }();
  return output;
}

// The launcher variables set in this process, as NAME=VALUE entries separated by NUL.
std::string read_rank_environment() {
  std::string entries;
  for (std::string_view name : rank_environment_variables) {
    const char* value = std::getenv(name.data()); // the table's literals are NUL-terminated
    if (value == nullptr) {
      continue;
    }
    if (!entries.empty()) {
      entries += '\0';
    }
    entries.append(name).append("=").append(std::string_view(value).substr(0, max_string_bytes));
  }
  return entries;
}

} // namespace

void OwnedDescriptor::remember(int descriptor) {
  struct stat status {};
  fd = descriptor;
  if (fd >= 0 && ::fstat(fd, &status) == 0) {
    device = status.st_dev;
    inode = status.st_ino;
  }
}

bool OwnedDescriptor::intact() const {
  struct stat status {};
  return fd >= 0 && ::fstat(fd, &status) == 0 && status.st_dev == device && status.st_ino == inode;
}

void print_problem(std::string_view text) {
  static std::atomic<int> lines_printed{0};
  const int line = lines_printed.fetch_add(1);
  std::string message;
  if (line < max_problem_lines) {
    message = "brrr: ";
    message += text;
  } else if (line == max_problem_lines) {
    message = "brrr: further problems in process " + std::to_string(::getpid()) + " are recorded in its report only";
  } else {
    return;
  }
  message += '\n';
  if (const OwnedDescriptor& output = error_output(); output.intact()) {
    write_all(output.fd, reinterpret_cast<const std::byte*>(message.data()), message.size());
  }
}

bool StreamWriter::open(const char* directory, uint64_t start_ns) {
  (void)error_output();
  const std::lock_guard lock(mutex_);
  owner_pid_ = ::getpid();
  const std::string stem = std::string(directory) + "/" + std::to_string(owner_pid_);
  // One pid can own several streams over time: a program that exec's another one without
  // forking keeps its pid, and the new program loads the library anew.
  constexpr int max_attempts = 100;
  int open_error = 0;
  int fd = -1;
  for (int attempt = 0; attempt < max_attempts && fd < 0; ++attempt) {
    path_ = attempt == 0 ? stem + ".brrrs" : stem + "." + std::to_string(attempt) + ".brrrs";
    fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    open_error = errno;
    if (fd < 0 && open_error != EEXIST) {
      break;
    }
  }
  if (fd < 0) {
    print_problem("cannot create a stream file " + path_ + ": " + std::strerror(open_error) +
                  ": this process is not traced");
    return false;
  }
  stream_.remember(move_high(fd));
  pending_.reserve(1u << 20);
  stream::append_file_header(pending_);
  const stream::ProcessBeginRecord begin{static_cast<int32_t>(owner_pid_), static_cast<int32_t>(::getppid()), start_ns};
  stream::append_record(pending_, begin, read_command_line());
  if (const std::string environment = read_rank_environment(); !environment.empty()) {
    stream::append_text_record(pending_, stream::RecordType::environment, environment);
  }
  commit_locked();
  return stream_.fd >= 0;
}

void StreamWriter::warn(std::string_view text) {
  Batch batch(*this);
  batch.warn(text);
}

void StreamWriter::finish(uint64_t end_ns) {
  const std::lock_guard lock(mutex_);
  if (!active_locked()) {
    return;
  }
  stream::append_record(pending_, stream::ProcessEndRecord{end_ns});
  commit_locked();
  if (stream_.intact()) {
    ::close(stream_.fd);
  }
  stream_.fd = -1;
}

void StreamWriter::abandon_in_child() {
  abandoned_.store(true);
  if (stream_.intact()) {
    ::close(stream_.fd);
  }
  stream_.fd = -1;
}

bool StreamWriter::keep_descriptor_locked() {
  if (stream_.intact()) {
    return true;
  }
  // The number is not the stream's any more: it is never closed, as it may be the program's
  // own file now. The stream is opened again by its (absolute) path, at its end.
  const int lost = stream_.fd;
  stream_.fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (stream_.intact()) {
    stream_.fd = move_high(stream_.fd);
    warn_locked("the program closed or replaced file descriptor " + std::to_string(lost) +
                ", brrr's stream file; brrr opened the file again");
    return true;
  }
  if (stream_.fd >= 0) {
    ::close(stream_.fd);
  }
  stream_.fd = -1;
  print_problem("the program closed brrr's stream file " + path_ +
                " and it cannot be opened again: the rest of this process is not traced");
  return false;
}

bool StreamWriter::active_locked() const { return stream_.fd >= 0 && !abandoned_.load() && ::getpid() == owner_pid_; }

void StreamWriter::commit_locked() {
  if (!pending_.empty() && active_locked() && keep_descriptor_locked() &&
      !write_all(stream_.fd, pending_.data(), pending_.size())) {
    const int write_error = errno;
    print_problem("writing " + path_ + " failed: " + std::strerror(write_error) +
                  ": the rest of this process is not traced");
    ::close(stream_.fd);
    stream_.fd = -1;
  }
  pending_.clear();
}

stream::StreamStringId StreamWriter::intern_locked(std::string_view text) {
  text = text.substr(0, max_string_bytes);
  if (const auto found = ids_by_text_.find(text); found != ids_by_text_.end()) {
    return found->second;
  }
  const auto id = static_cast<stream::StreamStringId>(strings_.size());
  const std::string& stored = strings_.emplace_back(text);
  ids_by_text_.emplace(stored, id);
  stream::append_record(pending_, stream::StringRecord{id}, stored);
  return id;
}

stream::StreamStringId StreamWriter::intern_name_locked(const char* name) {
  if (name == nullptr) {
    return intern_locked({});
  }
  if (const auto found = ids_by_pointer_.find(name);
      found != ids_by_pointer_.end() && std::strcmp(strings_[found->second].c_str(), name) == 0) {
    return found->second;
  }
  const stream::StreamStringId id = intern_locked(name);
  ids_by_pointer_[name] = id;
  return id;
}

void StreamWriter::warn_locked(std::string_view text) {
  if (std::find(warnings_.begin(), warnings_.end(), text) != warnings_.end()) {
    return;
  }
  warnings_.emplace_back(text);
  print_problem(text);
  if (active_locked()) {
    stream::append_text_record(pending_, stream::RecordType::warning, text);
  }
}

} // namespace brrr::inject
