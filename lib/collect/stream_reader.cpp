#include "collect/stream_reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "collect/rank.hpp"
#include "collect/stream_format.hpp"

namespace brrr {
namespace {

std::string_view record_type_name(stream::RecordType type) {
  switch (type) {
  case stream::RecordType::process_begin:
    return "process_begin";
  case stream::RecordType::string:
    return "string";
  case stream::RecordType::device:
    return "device";
  case stream::RecordType::kernel:
    return "kernel";
  case stream::RecordType::copy:
    return "copy";
  case stream::RecordType::set:
    return "set";
  case stream::RecordType::sync:
    return "sync";
  case stream::RecordType::api:
    return "api";
  case stream::RecordType::marker_begin:
    return "marker_begin";
  case stream::RecordType::marker_end:
    return "marker_end";
  case stream::RecordType::warning:
    return "warning";
  case stream::RecordType::dropped:
    return "dropped";
  case stream::RecordType::process_end:
    return "process_end";
  case stream::RecordType::counter_sample:
    return "counter_sample";
  case stream::RecordType::counter_gap:
    return "counter_gap";
  case stream::RecordType::tool_event:
    return "tool_event";
  case stream::RecordType::dataflow:
    return "dataflow";
  case stream::RecordType::environment:
    return "environment";
  }
  return {};
}

bool is_known(uint32_t type) { return !record_type_name(static_cast<stream::RecordType>(type)).empty(); }

// Grows capacity for `extra` more elements while keeping geometric growth, so that reading
// many streams one after another into one Trace does not copy the vectors once per stream.
template <class T> void reserve_more(std::vector<T>& items, size_t extra) {
  const size_t needed = items.size() + extra;
  if (needed > items.capacity()) {
    items.reserve(std::max(needed, items.capacity() + items.capacity() / 2));
  }
}

// Enum bytes from a stream: a value this build does not know becomes the enum's zero value
// (unknown / other) rather than an out-of-range enumerator.
template <class E> E enum_from(uint8_t value, E last) {
  return value <= static_cast<uint8_t>(last) ? static_cast<E>(value) : E{};
}

std::string as_string(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::vector<std::string> split_nul_separated(std::span<const std::byte> bytes) {
  std::vector<std::string> arguments;
  std::string_view rest(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (!rest.empty()) {
    const size_t end = rest.find('\0');
    arguments.emplace_back(rest.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(end + 1);
  }
  return arguments;
}

// Parses the records of one stream into the Trace; stops at the first damaged record.
class StreamParser {
public:
  StreamParser(std::span<const std::byte> bytes, Trace& trace, uint32_t process, const ReleaseBytes& release)
      : bytes_(bytes), trace_(trace), process_(process), release_(release) {
    for (StringId id = 0; id < trace_.strings.size(); ++id) {
      global_strings_.emplace(trace_.strings[id], id);
    }
  }

  void run() {
    reserve_events();
    release_bytes(0, bytes_.size());
    size_t offset = sizeof(stream::FileHeader);
    size_t released = 0;
    while (offset < bytes_.size() && problem_.empty()) {
      offset = parse_record_at(offset);
      // What has been parsed is handed back as the parse goes, so that a large stream never
      // sits in memory beside the events made of it.
      if (offset - released >= release_chunk_bytes) {
        release_bytes(released, offset);
        released = offset;
      }
    }
    finish();
  }

private:
  static constexpr size_t release_chunk_bytes = 16u << 20;

  void release_bytes(size_t from, size_t to) const {
    if (release_) release_(from, to);
  }

  ProcessTrace& process() { return trace_.processes[process_]; }

  // A first pass over the record headers only, so that every event vector grows once.
  void reserve_events() {
    size_t kernels = 0, copies = 0, sets = 0, syncs = 0, apis = 0, markers = 0, samples = 0, gaps = 0, tools = 0;
    size_t offset = sizeof(stream::FileHeader);
    while (bytes_.size() - offset >= sizeof(stream::RecordHeader)) {
      stream::RecordHeader header;
      std::memcpy(&header, bytes_.data() + offset, sizeof(header));
      switch (static_cast<stream::RecordType>(header.type)) {
      case stream::RecordType::kernel:
        ++kernels;
        break;
      case stream::RecordType::copy:
        ++copies;
        break;
      case stream::RecordType::set:
        ++sets;
        break;
      case stream::RecordType::sync:
        ++syncs;
        break;
      case stream::RecordType::api:
        ++apis;
        break;
      case stream::RecordType::marker_begin:
        ++markers;
        break;
      case stream::RecordType::counter_sample:
        ++samples;
        break;
      case stream::RecordType::counter_gap:
        ++gaps;
        break;
      case stream::RecordType::tool_event:
        ++tools;
        break;
      default:
        break;
      }
      if (header.payload_bytes > bytes_.size() - offset - sizeof(header)) {
        break;
      }
      offset += sizeof(header) + header.payload_bytes;
    }
    reserve_more(trace_.kernels, kernels);
    reserve_more(trace_.copies, copies);
    reserve_more(trace_.sets, sets);
    reserve_more(trace_.syncs, syncs);
    reserve_more(trace_.apis, apis);
    reserve_more(trace_.ranges, markers);
    reserve_more(trace_.counters, samples);
    reserve_more(trace_.counter_gaps, gaps);
    reserve_more(trace_.tool_events, tools);
  }

  // Returns the offset of the next record; sets problem_ when the stream is damaged here.
  size_t parse_record_at(size_t offset) {
    const size_t left = bytes_.size() - offset;
    if (left < sizeof(stream::RecordHeader)) {
      cut_at(offset);
      return bytes_.size();
    }
    stream::RecordHeader header;
    std::memcpy(&header, bytes_.data() + offset, sizeof(header));
    if (header.type == 0) {
      problem_ = "record at byte " + std::to_string(offset) +
                 " has type 0: the stream is zero-filled or corrupt from there on";
      return bytes_.size();
    }
    const size_t payload_left = left - sizeof(header);
    if (header.payload_bytes > payload_left) {
      if (is_known(header.type) && header.payload_bytes <= stream::max_payload_bytes) {
        cut_at(offset);
      } else {
        problem_ = "record at byte " + std::to_string(offset) + " claims " + std::to_string(header.payload_bytes) +
                   " payload bytes, but only " + std::to_string(payload_left) + " of the " +
                   std::to_string(bytes_.size()) + "-byte stream follow: its header is corrupt";
      }
      return bytes_.size();
    }
    const auto payload = bytes_.subspan(offset + sizeof(header), header.payload_bytes);
    record_offset_ = offset;
    parse_record(header.type, payload);
    return offset + sizeof(header) + header.payload_bytes;
  }

  void cut_at(size_t offset) {
    problem_ = "stream cut at byte " + std::to_string(offset) + " of " + std::to_string(bytes_.size()) +
               ": the process ended while writing a record";
  }

  void too_short(stream::RecordType type, size_t have, size_t need) {
    problem_ = "record at byte " + std::to_string(record_offset_) + " (" + std::string(record_type_name(type)) +
               ") has " + std::to_string(have) + " payload bytes, fewer than the " + std::to_string(need) +
               " it needs: the stream is corrupt";
  }

  // Copies the fixed part of a payload; false (with problem_ set) when the payload is shorter.
  template <stream::Payload T> bool read_fixed(std::span<const std::byte> payload, T& out) {
    if (payload.size() < sizeof(T)) {
      too_short(T::record_type, payload.size(), sizeof(T));
      return false;
    }
    std::memcpy(&out, payload.data(), sizeof(T));
    return true;
  }

  // Maps a stream string id to the Trace's; false (with problem_ set) for an undefined id.
  bool global_string(stream::StreamStringId id, StringId& out) {
    if (id >= stream_strings_.size()) {
      problem_ = "record at byte " + std::to_string(record_offset_) + " refers to string " + std::to_string(id) +
                 ", which the stream has not defined: the stream is corrupt";
      return false;
    }
    out = stream_strings_[id];
    return true;
  }

  StringId intern(std::string text) {
    const auto [it, inserted] =
        global_strings_.try_emplace(std::move(text), static_cast<StringId>(trace_.strings.size()));
    if (inserted) {
      trace_.strings.push_back(it->first);
    }
    return it->second;
  }

  void saw_time(uint64_t ns) { last_ns_ = std::max(last_ns_, ns); }

  void parse_record(uint32_t raw_type, std::span<const std::byte> payload) {
    const auto type = static_cast<stream::RecordType>(raw_type);
    switch (type) {
    case stream::RecordType::process_begin:
      return parse_process_begin(payload);
    case stream::RecordType::string:
      return parse_string(payload);
    case stream::RecordType::device:
      return parse_device(payload);
    case stream::RecordType::kernel:
      return parse_kernel(payload);
    case stream::RecordType::copy:
      return parse_copy(payload);
    case stream::RecordType::set:
      return parse_set(payload);
    case stream::RecordType::sync:
      return parse_sync(payload);
    case stream::RecordType::api:
      return parse_api(payload);
    case stream::RecordType::marker_begin:
      return parse_marker_begin(payload);
    case stream::RecordType::marker_end:
      return parse_marker_end(payload);
    case stream::RecordType::warning:
      process().warnings.push_back(as_string(payload));
      return;
    case stream::RecordType::dropped:
      return parse_dropped(payload);
    case stream::RecordType::process_end:
      return parse_process_end(payload);
    case stream::RecordType::counter_sample:
      return parse_counter_sample(payload);
    case stream::RecordType::counter_gap:
      return parse_counter_gap(payload);
    case stream::RecordType::tool_event:
      return parse_tool_event(payload);
    case stream::RecordType::dataflow:
      return parse_dataflow(payload);
    case stream::RecordType::environment:
      return parse_environment(payload);
    }
    // A newer writer's record type: skipped, so that old readers still read new streams.
    ++unknown_records_;
  }

  void parse_process_begin(std::span<const std::byte> payload) {
    stream::ProcessBeginRecord record;
    if (!read_fixed(payload, record)) {
      return;
    }
    ProcessTrace& p = process();
    p.pid = record.pid;
    p.parent_pid = record.parent_pid;
    p.injection_start_ns = record.start_ns;
    p.command = split_nul_separated(payload.subspan(sizeof(record)));
    saw_time(record.start_ns);
  }

  void parse_string(std::span<const std::byte> payload) {
    stream::StringRecord record;
    if (!read_fixed(payload, record)) {
      return;
    }
    if (record.id != stream_strings_.size()) {
      problem_ = "string record at byte " + std::to_string(record_offset_) + " has id " + std::to_string(record.id) +
                 " where " + std::to_string(stream_strings_.size()) + " was expected: the stream is corrupt";
      return;
    }
    stream_strings_.push_back(intern(as_string(payload.subspan(sizeof(record)))));
  }

  void parse_device(std::span<const std::byte> payload) {
    stream::DeviceRecord record;
    if (!read_fixed(payload, record)) {
      return;
    }
    DeviceTrace device;
    device.id = record.id;
    device.name = as_string(payload.subspan(sizeof(record)));
    device.uuid = format_uuid(record.uuid, record.mig != 0);
    device.compute_capability_major = static_cast<int>(record.compute_capability_major);
    device.compute_capability_minor = static_cast<int>(record.compute_capability_minor);
    device.sm_count = record.sm_count;
    device.sm_clock_khz = record.sm_clock_khz;
    device.memory_bytes = record.memory_bytes;
    device.memory_bandwidth_bytes_per_s = record.memory_bandwidth_bytes_per_s;
    device.l2_bytes = record.l2_bytes;
    device.mig = record.mig != 0;
    const bool known = std::any_of(trace_.devices.begin(), trace_.devices.end(),
                                   [&](const DeviceTrace& d) { return d.id == device.id && d.uuid == device.uuid; });
    if (!known) {
      trace_.devices.push_back(std::move(device));
    }
  }

  void parse_kernel(std::span<const std::byte> payload) {
    stream::KernelRecord record;
    StringId name = 0;
    if (!read_fixed(payload, record) || !global_string(record.name, name)) {
      return;
    }
    KernelEvent& event = trace_.kernels.emplace_back();
    event.name = name;
    event.start_ns = record.start_ns;
    event.end_ns = record.end_ns;
    event.queued_ns = record.queued_ns;
    event.correlation_id = record.correlation_id;
    event.grid = {record.grid_x, record.grid_y, record.grid_z};
    event.block = {record.block_x, record.block_y, record.block_z};
    event.registers_per_thread = record.registers_per_thread;
    event.static_shared_bytes = record.static_shared_bytes;
    event.dynamic_shared_bytes = record.dynamic_shared_bytes;
    event.device_id = record.device_id;
    event.context_id = record.context_id;
    event.stream_id = record.stream_id;
    event.graph_id = record.graph_id;
    event.process = process_;
    saw_time(record.end_ns);
  }

  void parse_copy(std::span<const std::byte> payload) {
    stream::CopyRecord record;
    if (!read_fixed(payload, record)) {
      return;
    }
    CopyEvent& event = trace_.copies.emplace_back();
    event.start_ns = record.start_ns;
    event.end_ns = record.end_ns;
    event.bytes = record.bytes;
    event.kind = enum_from(record.kind, CopyKind::peer);
    event.source = enum_from(record.source, MemoryKind::managed);
    event.destination = enum_from(record.destination, MemoryKind::managed);
    event.async = record.async != 0;
    event.correlation_id = record.correlation_id;
    event.device_id = record.device_id;
    event.context_id = record.context_id;
    event.stream_id = record.stream_id;
    event.graph_id = record.graph_id;
    event.process = process_;
    saw_time(record.end_ns);
  }

  void parse_set(std::span<const std::byte> payload) {
    stream::SetRecord record;
    if (!read_fixed(payload, record)) {
      return;
    }
    SetEvent& event = trace_.sets.emplace_back();
    event.start_ns = record.start_ns;
    event.end_ns = record.end_ns;
    event.bytes = record.bytes;
    event.memory = enum_from(record.memory, MemoryKind::managed);
    event.async = record.async != 0;
    event.correlation_id = record.correlation_id;
    event.device_id = record.device_id;
    event.context_id = record.context_id;
    event.stream_id = record.stream_id;
    event.graph_id = record.graph_id;
    event.process = process_;
    saw_time(record.end_ns);
  }

  void parse_sync(std::span<const std::byte> payload) {
    stream::SyncRecord record;
    if (!read_fixed(payload, record)) {
      return;
    }
    SyncEvent& event = trace_.syncs.emplace_back();
    event.start_ns = record.start_ns;
    event.end_ns = record.end_ns;
    event.kind = enum_from(record.kind, SyncKind::context);
    event.correlation_id = record.correlation_id;
    event.context_id = record.context_id;
    event.stream_id = record.stream_id;
    event.process = process_;
    saw_time(record.end_ns);
  }

  void parse_api(std::span<const std::byte> payload) {
    stream::ApiRecord record;
    if (!read_fixed(payload, record)) {
      return;
    }
    ApiEvent& event = trace_.apis.emplace_back();
    event.start_ns = record.start_ns;
    event.end_ns = record.end_ns;
    event.correlation_id = record.correlation_id;
    event.thread_id = record.thread_id;
    event.callback_id = record.callback_id;
    event.driver = record.driver != 0;
    event.kind = enum_from(record.kind, ApiKind::synchronize);
    event.process = process_;
    saw_time(record.end_ns);
  }

  void parse_marker_begin(std::span<const std::byte> payload) {
    stream::MarkerBeginRecord record;
    OpenRange range;
    if (!read_fixed(payload, record) || !global_string(record.name, range.name) ||
        !global_string(record.domain, range.domain)) {
      return;
    }
    range.start_ns = record.timestamp_ns;
    range.thread_id = record.thread_id;
    saw_time(record.timestamp_ns);
    // The end may have come first: CUPTI hands over buffers, not a global order.
    if (const auto end = early_ends_.find(record.id); end != early_ends_.end()) {
      add_range(range, end->second);
      early_ends_.erase(end);
    } else if (!open_ranges_.try_emplace(record.id, range).second) {
      ++unpaired_markers_;
    }
  }

  void parse_marker_end(std::span<const std::byte> payload) {
    stream::MarkerEndRecord record;
    if (!read_fixed(payload, record)) {
      return;
    }
    saw_time(record.timestamp_ns);
    if (const auto open = open_ranges_.find(record.id); open != open_ranges_.end()) {
      add_range(open->second, record.timestamp_ns);
      open_ranges_.erase(open);
    } else if (!early_ends_.try_emplace(record.id, record.timestamp_ns).second) {
      ++unpaired_markers_;
    }
  }

  void parse_dropped(std::span<const std::byte> payload) {
    stream::DroppedRecord record;
    if (read_fixed(payload, record)) {
      process().dropped_records += record.count;
    }
  }

  void parse_process_end(std::span<const std::byte> payload) {
    stream::ProcessEndRecord record;
    if (read_fixed(payload, record)) {
      process().injection_end_ns = record.end_ns;
      saw_time(record.end_ns);
      ended_ = true;
    }
  }

  void parse_counter_sample(std::span<const std::byte> payload) {
    stream::CounterSampleRecord record;
    if (!read_fixed(payload, record)) {
      return;
    }
    const size_t values_bytes = size_t{record.value_count} * sizeof(stream::CounterValue);
    if (payload.size() - sizeof(record) < values_bytes) {
      too_short(stream::RecordType::counter_sample, payload.size(), sizeof(record) + values_bytes);
      return;
    }
    CounterSample sample;
    sample.correlation_id = record.correlation_id;
    sample.process = process_;
    if (!global_string(record.kernel_name, sample.kernel_name)) {
      return;
    }
    sample.values.reserve(record.value_count);
    for (uint32_t i = 0; i < record.value_count; ++i) {
      stream::CounterValue value;
      std::memcpy(&value, payload.data() + sizeof(record) + i * sizeof(value), sizeof(value));
      StringId metric = 0;
      if (!global_string(value.metric, metric)) {
        return;
      }
      // Counters count events: a value that is negative, not a number, or beyond 64 bits cannot
      // come from one, and would poison every figure derived from it.
      if (!(value.value >= 0 && value.value < 0x1p64)) {
        problem_ = "record at byte " + std::to_string(record_offset_) + " (counter_sample) holds the value " +
                   std::to_string(value.value) + ", which no counter can have: the stream is corrupt";
        return;
      }
      sample.values.emplace_back(metric, value.value);
    }
    trace_.counters.push_back(std::move(sample));
  }

  void parse_counter_gap(std::span<const std::byte> payload) {
    stream::CounterGapRecord record;
    CounterGap gap;
    if (!read_fixed(payload, record) || !global_string(record.kernel_name, gap.kernel_name) ||
        !global_string(record.reason, gap.reason)) {
      return;
    }
    gap.correlation_id = record.correlation_id;
    gap.process = process_;
    trace_.counter_gaps.push_back(gap);
  }

  void parse_dataflow(std::span<const std::byte> payload) {
    stream::DataflowRecord record;
    if (!read_fixed(payload, record)) return;
    if (record.correlation_id == 0)
      trace_.dataflow_compared = true;
    else
      trace_.dataflow.push_back({record.correlation_id, record.previous_correlation_id, process_});
  }

  // The process's launcher variables give its rank; an entry without '=' is skipped.
  void parse_environment(std::span<const std::byte> payload) {
    std::vector<std::pair<std::string, std::string>> variables;
    for (const auto& entry : split_nul_separated(payload)) {
      const size_t equals = entry.find('=');
      if (equals != std::string::npos) {
        variables.emplace_back(entry.substr(0, equals), entry.substr(equals + 1));
      }
    }
    process().rank = rank_from_variables(variables);
  }

  void parse_tool_event(std::span<const std::byte> payload) {
    stream::ToolEventRecord record;
    if (read_fixed(payload, record)) {
      trace_.tool_events.push_back({record.start_ns, record.end_ns, record.correlation_id, process_});
      saw_time(record.end_ns);
    }
  }

  struct OpenRange {
    uint64_t start_ns = 0;
    StringId name = 0;
    StringId domain = 0;
    uint32_t thread_id = 0;
  };

  void add_range(const OpenRange& range, uint64_t end_ns) {
    trace_.ranges.push_back(
        {range.start_ns, std::max(end_ns, range.start_ns), range.name, range.domain, range.thread_id, process_});
  }

  // Closes what the stream left open and states what went wrong, once everything is read.
  void finish() {
    ProcessTrace& p = process();
    p.stream_complete = ended_ && problem_.empty();
    if (!problem_.empty()) {
      p.stream_problem = problem_;
    } else if (!ended_) {
      p.stream_problem = "stream ends after its last complete record (byte " + std::to_string(bytes_.size()) +
                         ") without the library's end record: the process ended without running its exit "
                         "handlers (killed by a signal, crashed, called _exit, or replaced itself with exec)";
    }
    close_open_ranges();
    if (!early_ends_.empty() || unpaired_markers_ > 0) {
      p.warnings.push_back(std::to_string(early_ends_.size() + unpaired_markers_) +
                           " NVTX range ends or starts could not be paired (their partner was dropped or repeated "
                           "an id): ignored");
    }
    if (unknown_records_ > 0) {
      p.warnings.push_back("skipped " + std::to_string(unknown_records_) +
                           " records of types this brrr does not know: the stream was written by a newer brrr");
    }
  }

  // A range still open at the end of the stream ran until the process stopped being
  // observed: it is closed at the last timestamp the stream holds.
  void close_open_ranges() {
    if (open_ranges_.empty()) {
      return;
    }
    std::vector<std::pair<uint64_t, OpenRange>> open(open_ranges_.begin(), open_ranges_.end());
    std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) {
      return std::pair(a.second.start_ns, a.first) < std::pair(b.second.start_ns, b.first);
    });
    constexpr size_t named_at_most = 5;
    std::string names;
    for (size_t i = 0; i < open.size(); ++i) {
      add_range(open[i].second, last_ns_);
      if (i < named_at_most) {
        names += (i == 0 ? "\"" : ", \"") + trace_.strings[open[i].second.name] + "\"";
      }
    }
    if (open.size() > named_at_most) {
      names += ", ...";
    }
    process().warnings.push_back(std::to_string(open.size()) + " NVTX range" + (open.size() == 1 ? "" : "s") +
                                 " never ended (" + names + "): closed at the process's last timestamp, " +
                                 std::to_string(last_ns_) + " ns");
  }

  std::span<const std::byte> bytes_;
  Trace& trace_;
  uint32_t process_;
  const ReleaseBytes& release_;
  std::unordered_map<std::string, StringId> global_strings_;
  std::vector<StringId> stream_strings_;
  std::unordered_map<uint64_t, OpenRange> open_ranges_;
  std::unordered_map<uint64_t, uint64_t> early_ends_;
  size_t unpaired_markers_ = 0;
  size_t unknown_records_ = 0;
  size_t record_offset_ = 0;
  uint64_t last_ns_ = 0;
  bool ended_ = false;
  std::string problem_;
};

// A read-only mapping of a whole file, unmapped on destruction.
class MappedFile {
public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) {
      ::munmap(data_, size_);
    }
  }

  // Returns an error text, empty on success.
  std::string open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return "cannot open " + path + ": " + std::strerror(errno);
    }
    std::string error;
    struct stat status {};
    if (::fstat(fd, &status) != 0) {
      error = "cannot read " + path + ": " + std::strerror(errno);
    } else if (status.st_size > 0) {
      size_ = static_cast<size_t>(status.st_size);
      void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (mapped == MAP_FAILED) {
        error = "cannot map " + path + ": " + std::strerror(errno);
        size_ = 0;
      } else {
        data_ = mapped;
        ::madvise(data_, size_, MADV_SEQUENTIAL);
      }
    }
    ::close(fd);
    return error;
  }

  [[nodiscard]] std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }

  // Drops the pages of [from, to) from memory; they are read from the file again if touched.
  void release(size_t from, size_t to) const {
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    from = (from + page - 1) / page * page;
    to = to / page * page;
    if (data_ != nullptr && to > from) ::madvise(static_cast<std::byte*>(data_) + from, to - from, MADV_DONTNEED);
  }

private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

} // namespace

std::string format_uuid(const uint8_t (&bytes)[16], bool mig) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string text = mig ? "MIG-" : "GPU-";
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      text += '-';
    }
    text += hex[bytes[i] >> 4];
    text += hex[bytes[i] & 0xf];
  }
  return text;
}

StreamReadResult read_stream(std::span<const std::byte> bytes, const std::string& source, Trace& trace,
                             const ReleaseBytes& release) {
  StreamReadResult result;
  stream::FileHeader header{};
  if (!bytes.empty()) {
    std::memcpy(&header, bytes.data(), std::min(bytes.size(), sizeof(header)));
  }
  const size_t magic_bytes = std::min(bytes.size(), sizeof(stream::magic));
  if (std::memcmp(header.magic, stream::magic, magic_bytes) != 0) {
    result.error = source + " is not a brrr stream: it does not start with BRRRSTRM";
    return result;
  }
  if (bytes.size() < sizeof(header)) {
    result.error = source + " holds " + std::to_string(bytes.size()) +
                   " bytes, less than a stream header: the process ended before the injection library wrote anything";
    return result;
  }
  if (header.version != stream::format_version) {
    result.error = source + " is a brrr stream of format version " + std::to_string(header.version) +
                   ", but this brrr reads version " + std::to_string(stream::format_version) +
                   ": read it with the brrr that recorded it";
    return result;
  }
  result.ok = true;
  result.process = static_cast<uint32_t>(trace.processes.size());
  trace.processes.emplace_back();
  StreamParser(bytes, trace, result.process, release).run();
  return result;
}

StreamReadResult read_stream_file(const std::string& path, Trace& trace) {
  MappedFile file;
  if (std::string error = file.open(path); !error.empty()) {
    StreamReadResult result;
    result.error = std::move(error);
    return result;
  }
  return read_stream(file.bytes(), path, trace, [&file](size_t from, size_t to) { file.release(from, to); });
}

} // namespace brrr
