#include "collect/inject/stream_writer.hpp"

#include <fcntl.h>
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
  write_all(STDERR_FILENO, reinterpret_cast<const std::byte*>(message.data()), message.size());
}

bool StreamWriter::open(const char* directory, uint64_t start_ns) {
  const std::lock_guard lock(mutex_);
  owner_pid_ = ::getpid();
  const std::string stem = std::string(directory) + "/" + std::to_string(owner_pid_);
  // One pid can own several streams over time: a program that exec's another one without
  // forking keeps its pid, and the new program loads the library anew.
  constexpr int max_attempts = 100;
  int open_error = 0;
  for (int attempt = 0; attempt < max_attempts && fd_ < 0; ++attempt) {
    path_ = attempt == 0 ? stem + ".brrrs" : stem + "." + std::to_string(attempt) + ".brrrs";
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    open_error = errno;
    if (fd_ < 0 && open_error != EEXIST) {
      break;
    }
  }
  if (fd_ < 0) {
    print_problem("cannot create a stream file " + path_ + ": " + std::strerror(open_error) +
                  ": this process is not traced");
    return false;
  }
  pending_.reserve(1u << 20);
  stream::append_file_header(pending_);
  const stream::ProcessBeginRecord begin{static_cast<int32_t>(owner_pid_), static_cast<int32_t>(::getppid()), start_ns};
  stream::append_record(pending_, begin, read_command_line());
  if (const std::string environment = read_rank_environment(); !environment.empty()) {
    stream::append_text_record(pending_, stream::RecordType::environment, environment);
  }
  commit_locked();
  return fd_ >= 0;
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
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void StreamWriter::abandon_in_child() {
  abandoned_.store(true);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool StreamWriter::active_locked() const { return fd_ >= 0 && !abandoned_.load() && ::getpid() == owner_pid_; }

void StreamWriter::commit_locked() {
  if (!pending_.empty() && active_locked() && !write_all(fd_, pending_.data(), pending_.size())) {
    const int write_error = errno;
    print_problem("writing " + path_ + " failed: " + std::strerror(write_error) +
                  ": the rest of this process is not traced");
    ::close(fd_);
    fd_ = -1;
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
