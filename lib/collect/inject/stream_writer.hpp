#pragma once
// The injection library's side of the record stream: one file per process, written from
// whichever thread hands records over (CUPTI's worker thread for activity buffers, the exit
// handler at the end). Records are gathered in a Batch under one lock and written with one
// write(2) loop, so the file only ever ends in the middle of a record when the process dies
// mid-write.

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collect/stream_format.hpp"

namespace brrr::inject {

// Prints "brrr: <text>" on stderr with one write(2), while descriptor 2 is still the file it
// was when the library started (a program that closed it may have opened its own file in its
// place). After a handful of lines per process it prints one last line saying that further
// problems are only in the stream, so that a failure repeated per buffer cannot flood the
// program's output.
void print_problem(std::string_view text);

// A descriptor and the identity of the file it referred to when brrr took it, so that brrr
// writes through it only while the program has not closed it or put another file there: a
// program may close descriptors it did not open (daemons close them all) or dup2() over them,
// and its next file may get the number.
struct OwnedDescriptor {
  int fd = -1;
  dev_t device = 0;
  ino_t inode = 0;

  void remember(int descriptor);
  // Whether fd still refers to that file.
  [[nodiscard]] bool intact() const;
};

class StreamWriter {
public:
  // Records gathered under the writer's lock, written when the batch goes out of scope.
  class Batch {
  public:
    explicit Batch(StreamWriter& writer) : writer_(writer), lock_(writer.mutex_) {}
    ~Batch() { writer_.commit_locked(); }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    // False in a forked child, after the end record, or after a failed write: records added
    // then are discarded, so callers skip converting them.
    [[nodiscard]] bool active() const { return writer_.active_locked(); }

    // Stream-local ids; a new string's record goes into this batch ahead of its first use.
    stream::StreamStringId intern(std::string_view text) { return writer_.intern_locked(text); }
    // For names CUPTI owns and reuses (kernel symbols): looked up by pointer first, checked
    // against the stored text in case CUPTI freed the name and reused its address. nullptr is
    // the empty string.
    stream::StreamStringId intern_name(const char* name) { return writer_.intern_name_locked(name); }

    template <stream::Payload T> void add(const T& record) { stream::append_record(writer_.pending_, record); }
    template <stream::Payload T> void add(const T& record, std::string_view tail) {
      stream::append_record(writer_.pending_, record, tail);
    }

    // A counter sample: the record and its value_count values.
    void add_counter_sample(const stream::CounterSampleRecord& sample, const stream::CounterValue* values) {
      stream::append_counter_sample(writer_.pending_, sample, values);
    }

    // A warning record (once per distinct text) and a line on stderr.
    void warn(std::string_view text) { writer_.warn_locked(text); }

  private:
    StreamWriter& writer_;
    std::unique_lock<std::mutex> lock_;
  };

  // Creates <directory>/<pid>.brrrs (or <pid>.<n>.brrrs when a process that exec'd without
  // forking already wrote that name) with the file header and the process_begin record.
  // False, with a line on stderr, when the file cannot be created.
  bool open(const char* directory, uint64_t start_ns);

  // A warning outside any batch.
  void warn(std::string_view text);

  // Writes the process_end record and closes the file; later batches are discarded.
  void finish(uint64_t end_ns);

  // Called in a forked child, which inherits the parent's open stream: the child closes its
  // copy of the descriptor and never writes. It takes no lock, because the fork may have
  // copied the lock in its held state.
  void abandon_in_child();

private:
  [[nodiscard]] bool active_locked() const;
  void commit_locked();
  stream::StreamStringId intern_locked(std::string_view text);
  stream::StreamStringId intern_name_locked(const char* name);
  void warn_locked(std::string_view text);
  // Makes sure the descriptor is the stream file before writing, opening the file again if
  // the program took the descriptor away. False, with a line on stderr, when that is
  // impossible.
  bool keep_descriptor_locked();

  std::mutex mutex_;
  OwnedDescriptor stream_;
  pid_t owner_pid_ = 0;
  std::atomic<bool> abandoned_{false};
  std::string path_;
  // The batch being gathered; its capacity is kept between batches.
  std::vector<std::byte> pending_;
  // Interned strings by stream id. A deque, because ids_by_text_ views into its elements and
  // a deque never moves them.
  std::deque<std::string> strings_;
  std::unordered_map<std::string_view, stream::StreamStringId> ids_by_text_;
  std::unordered_map<const char*, stream::StreamStringId> ids_by_pointer_;
  std::vector<std::string> warnings_;
};

} // namespace brrr::inject
