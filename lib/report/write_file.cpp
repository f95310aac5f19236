// Writing a file so that no reader ever sees half of it and no failure leaves half of one
// behind: the text goes into a temporary file in the destination's folder (a rename across
// file systems would not be atomic), is flushed to disk, and only then takes its name.

#include "report/report.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace brrr {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& path, const std::string& what, int error) {
  throw std::runtime_error(path.string() + ": " + what + " (" + std::strerror(error) + ")");
}

fs::path folder_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

// Makes a new name in the folder durable: without this a crash right after the rename can
// leave the folder without the file on some file systems. Best effort: not every file system
// can flush a folder, and the file itself is already on disk.
void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = ENOSPC; // a regular file that takes no bytes is full
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// The text in a temporary file ".<name>.XXXXXX" beside `target`, on disk; removed again unless
// it was placed under a final name.
class StagedFile {
public:
  StagedFile(const fs::path& target, const std::string& text) : folder_(folder_of(target)) {
    std::string name = (folder_ / ("." + target.filename().string() + ".XXXXXX")).string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0) fail(target, "cannot write in " + folder_.string(), errno);
    path_ = name;
    int error = 0;
    if (!write_all(fd, text) || ::fsync(fd) != 0) error = errno;
    if (::close(fd) != 0 && error == 0) error = errno;
    if (error != 0) fail(target, "cannot write", error);
    // mkstemp creates the file 0600; a report is an ordinary file of the user's.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(path_.c_str(), 0666 & ~mask);
  }
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  // Gives the file the name `target` unless something has that name already (false then).
  bool link_to(const fs::path& target) {
    // link() fails when the name exists: unlike a check followed by a rename, it cannot lose
    // a race with another writer.
    if (::link(path_.c_str(), target.c_str()) == 0) {
      placed();
      return true;
    }
    const int error = errno;
    if (error == EEXIST) return false;
    // Some file systems have no hard links; there a check before the rename must do.
    if (error == EPERM || error == ENOTSUP || error == EOPNOTSUPP) {
      std::error_code ec;
      if (fs::exists(fs::symlink_status(target, ec))) return false;
      rename_to(target);
      return true;
    }
    fail(target, "cannot write", error);
  }

  // Gives the file the name `target`, replacing what has it.
  void rename_to(const fs::path& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0) fail(target, "cannot write", errno);
    path_.clear();
    sync_folder(folder_);
  }

private:
  void placed() {
    ::unlink(path_.c_str());
    path_.clear();
    sync_folder(folder_);
  }

  fs::path folder_;
  fs::path path_;
};

// The checks made before writing `path`: what exists there may be replaced.
void check_replaceable(const fs::path& path, bool overwrite) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) return;
  if (!overwrite) throw std::runtime_error(path.string() + ": exists; pass --force to overwrite it");
  // A device, a folder or a pipe is never replaced by a report (brrr runs as root in CI).
  if (!fs::is_regular_file(status)) throw std::runtime_error(path.string() + ": is not a regular file");
}

} // namespace

void write_file_atomically(const fs::path& path, const std::string& text, bool overwrite) {
  check_replaceable(path, overwrite);
  StagedFile staged(path, text);
  if (overwrite)
    staged.rename_to(path);
  else if (!staged.link_to(path))
    throw std::runtime_error(path.string() + ": exists; pass --force to overwrite it");
}

fs::path write_file_under_free_name(const std::function<fs::path(int)>& name, const std::string& text) {
  // Far more than any folder of reports holds; a bound, so that a file system that reports
  // every name as taken cannot keep brrr looping.
  constexpr int most_names = 100'000;
  StagedFile staged(name(1), text);
  for (int n = 1; n <= most_names; ++n)
    if (const fs::path candidate = name(n); staged.link_to(candidate)) return candidate;
  throw std::runtime_error(name(1).string() + ": it and the next " + std::to_string(most_names - 1) +
                           " names are taken");
}

void check_folder_writable(const fs::path& path) { StagedFile probe(path, {}); }

void check_writable(const fs::path& path, bool overwrite) {
  check_replaceable(path, overwrite);
  check_folder_writable(path);
}

} // namespace brrr
