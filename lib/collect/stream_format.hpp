#pragma once
// The record stream that the injection library writes inside the profiled process and brrr
// reads afterwards: one file per process. It is shared by both sides, and the writer side is
// built with -fno-exceptions, so nothing here may throw.
//
// Layout: a 16-byte FileHeader, then records, each a RecordHeader {type, payload_bytes}
// followed by payload_bytes of payload. Payloads are the packed structs below, fixed-width
// and little-endian, some followed by a variable tail (text, command line, counter values).
// Records are written in whole batches with one write(2) each, so a process that dies
// mid-write leaves a stream whose last record is cut short; the reader keeps everything
// before it.
//
// Enum fields (copy, memory, sync and API kinds) carry model/trace.hpp's enum values: a
// stream is read by the same brrr build whose injection library wrote it.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <vector>

static_assert(std::endian::native == std::endian::little, "the stream format is little-endian and written with memcpy");

namespace brrr::stream {

inline constexpr char magic[8] = {'B', 'R', 'R', 'R', 'S', 'T', 'R', 'M'};
// Bumped whenever a record's layout changes; readers refuse other versions. A new record type
// is not a layout change: readers skip types they do not know (with a warning), and a stream
// without the new type reads as before, so it keeps the version.
inline constexpr uint32_t format_version = 1;

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
};
static_assert(sizeof(FileHeader) == 16);

// Type 0 is never written, so that a zero-filled tail (a file system that lost the last
// blocks of a crashed writer) reads as corruption rather than as empty records.
enum class RecordType : uint32_t {
  process_begin = 1,
  string = 2,
  device = 3,
  kernel = 4,
  copy = 5,
  set = 6,
  sync = 7,
  api = 8,
  marker_begin = 9,
  marker_end = 10,
  warning = 11,
  dropped = 12,
  process_end = 13,
  counter_sample = 14,
  counter_gap = 15,
  tool_event = 16,
  dataflow = 17,
  // Added in format version 1 after its first streams; see EnvironmentRecord.
  environment = 18,
};

struct RecordHeader {
  uint32_t type;
  uint32_t payload_bytes;
};
static_assert(sizeof(RecordHeader) == 8);

// No record the writer makes comes near this; a larger size field is corruption, not a
// record cut short by the end of the file.
inline constexpr uint32_t max_payload_bytes = 64u << 20;

// Stream-local string ids: each stream numbers its strings 0, 1, 2, ... in the order of their
// string records, and every string record comes before the first record that uses its id.
using StreamStringId = uint32_t;

// Written first. Tail: the command line as NUL-separated arguments (/proc/self/cmdline).
struct ProcessBeginRecord {
  static constexpr RecordType record_type = RecordType::process_begin;
  int32_t pid;
  int32_t parent_pid;
  // When the injection library initialized, on the CUPTI clock.
  uint64_t start_ns;
};
static_assert(sizeof(ProcessBeginRecord) == 16);

// Tail: the string's bytes, without a terminating NUL.
struct StringRecord {
  static constexpr RecordType record_type = RecordType::string;
  StreamStringId id;
};
static_assert(sizeof(StringRecord) == 4);

// Tail: the device name.
struct DeviceRecord {
  static constexpr RecordType record_type = RecordType::device;
  uint32_t id;
  uint32_t compute_capability_major;
  uint32_t compute_capability_minor;
  uint32_t sm_count;
  uint64_t sm_clock_khz;
  uint64_t memory_bytes;
  uint64_t memory_bandwidth_bytes_per_s;
  uint64_t l2_bytes;
  // The GPU's UUID, or the MIG instance's UUID when mig is 1, so that two processes on two
  // instances of one GPU are two devices.
  uint8_t uuid[16];
  uint8_t mig;
  uint8_t reserved[7];
};
static_assert(sizeof(DeviceRecord) == 72);

struct KernelRecord {
  static constexpr RecordType record_type = RecordType::kernel;
  uint64_t start_ns;
  uint64_t end_ns;
  uint64_t queued_ns;
  uint64_t submitted_ns;
  uint64_t graph_node_id;
  uint32_t correlation_id;
  StreamStringId name;
  uint32_t grid_x;
  uint32_t grid_y;
  uint32_t grid_z;
  uint32_t block_x;
  uint32_t block_y;
  uint32_t block_z;
  uint32_t registers_per_thread;
  uint32_t static_shared_bytes;
  uint32_t dynamic_shared_bytes;
  uint32_t device_id;
  uint32_t context_id;
  uint32_t stream_id;
  uint32_t graph_id;
  uint32_t reserved;
};
static_assert(sizeof(KernelRecord) == 104);

struct CopyRecord {
  static constexpr RecordType record_type = RecordType::copy;
  uint64_t start_ns;
  uint64_t end_ns;
  uint64_t bytes;
  uint32_t correlation_id;
  uint32_t device_id;
  uint32_t context_id;
  uint32_t stream_id;
  uint32_t graph_id;
  uint8_t kind;        // brrr::CopyKind
  uint8_t source;      // brrr::MemoryKind
  uint8_t destination; // brrr::MemoryKind
  uint8_t async;
};
static_assert(sizeof(CopyRecord) == 48);

struct SetRecord {
  static constexpr RecordType record_type = RecordType::set;
  uint64_t start_ns;
  uint64_t end_ns;
  uint64_t bytes;
  uint32_t correlation_id;
  uint32_t device_id;
  uint32_t context_id;
  uint32_t stream_id;
  uint32_t graph_id;
  uint8_t memory; // brrr::MemoryKind
  uint8_t async;
  uint8_t reserved[2];
};
static_assert(sizeof(SetRecord) == 48);

struct SyncRecord {
  static constexpr RecordType record_type = RecordType::sync;
  uint64_t start_ns;
  uint64_t end_ns;
  uint32_t correlation_id;
  uint32_t context_id;
  // 0 where CUPTI says the field does not apply (context and event synchronization).
  uint32_t stream_id;
  uint8_t kind; // brrr::SyncKind
  uint8_t reserved[3];
};
static_assert(sizeof(SyncRecord) == 32);

struct ApiRecord {
  static constexpr RecordType record_type = RecordType::api;
  uint64_t start_ns;
  uint64_t end_ns;
  uint32_t correlation_id;
  uint32_t thread_id;
  uint32_t callback_id;
  uint8_t driver;
  uint8_t kind; // brrr::ApiKind
  uint8_t reserved[2];
};
static_assert(sizeof(ApiRecord) == 32);

// NVTX ranges arrive from CUPTI as a start marker and an end marker that share an id, in
// separate records that may even land in different buffers. The writer passes both through
// and the reader pairs them, so that no pairing state lives inside the profiled process.
struct MarkerBeginRecord {
  static constexpr RecordType record_type = RecordType::marker_begin;
  uint64_t timestamp_ns;
  uint64_t id;
  StreamStringId name;
  // The NVTX domain; the empty string for the default domain.
  StreamStringId domain;
  uint32_t thread_id;
  uint32_t reserved;
};
static_assert(sizeof(MarkerBeginRecord) == 32);

struct MarkerEndRecord {
  static constexpr RecordType record_type = RecordType::marker_end;
  uint64_t timestamp_ns;
  uint64_t id;
};
static_assert(sizeof(MarkerEndRecord) == 16);

// Records CUPTI reported as dropped since the previous dropped record; the reader sums them.
struct DroppedRecord {
  static constexpr RecordType record_type = RecordType::dropped;
  uint64_t count;
};
static_assert(sizeof(DroppedRecord) == 8);

// Written last, by the library's exit handler: its presence is what makes a stream complete.
struct ProcessEndRecord {
  static constexpr RecordType record_type = RecordType::process_end;
  uint64_t end_ns;
};
static_assert(sizeof(ProcessEndRecord) == 8);

// Tail: value_count CounterValue entries.
struct CounterSampleRecord {
  static constexpr RecordType record_type = RecordType::counter_sample;
  uint32_t correlation_id;
  StreamStringId kernel_name;
  uint32_t value_count;
  uint32_t reserved;
};
static_assert(sizeof(CounterSampleRecord) == 16);

struct CounterValue {
  StreamStringId metric;
  uint32_t reserved;
  double value;
};
static_assert(sizeof(CounterValue) == 16);

struct CounterGapRecord {
  static constexpr RecordType record_type = RecordType::counter_gap;
  uint32_t correlation_id;
  StreamStringId kernel_name;
  StreamStringId reason;
  uint32_t reserved;
};
static_assert(sizeof(CounterGapRecord) == 16);

// brrr held the program up from start_ns to end_ns, around the launch correlation_id (a kernel
// replayed for counters): the model cuts this time out, all but the kernel's own execution.
struct ToolEventRecord {
  static constexpr RecordType record_type = RecordType::tool_event;
  uint64_t start_ns;
  uint64_t end_ns;
  uint32_t correlation_id;
  uint32_t reserved;
};
static_assert(sizeof(ToolEventRecord) == 24);

// A kernel launch took as an argument, in another position, a value the previous launch on
// its stream also took: the previous kernel's output is (most likely) this one's input. A
// record with correlation id 0 says only that the process compared launch arguments.
struct DataflowRecord {
  static constexpr RecordType record_type = RecordType::dataflow;
  uint32_t correlation_id;
  uint32_t previous_correlation_id;
};
static_assert(sizeof(DataflowRecord) == 8);

// No fixed part. Tail: the launcher variables set in the process (collect/rank_variables.hpp)
// as NUL-separated NAME=VALUE entries, so that every process of a job launched under brrr
// (brrr profile -- torchrun ...) can be told its rank. Written once, right after
// process_begin, and only when at least one of the variables is set.

// A payload struct: copied byte for byte, so it must be trivially copyable, and it names its
// record type.
template <class T>
concept Payload = std::is_trivially_copyable_v<T> && requires {
  T::record_type;
};

// Appends bytes to a stream buffer. Kept as a free function so that the writer (which builds
// whole CUPTI buffers' worth of records in one vector) and the tests share one encoder.
inline void append_bytes(std::vector<std::byte>& out, const void* data, size_t bytes) {
  if (bytes == 0) {
    return;
  }
  const size_t at = out.size();
  out.resize(at + bytes);
  std::memcpy(out.data() + at, data, bytes);
}

inline void append_file_header(std::vector<std::byte>& out) {
  FileHeader header{};
  std::memcpy(header.magic, magic, sizeof(magic));
  header.version = format_version;
  append_bytes(out, &header, sizeof(header));
}

// Appends one record: fixed payload, then an optional tail of tail_bytes bytes. The caller
// keeps payloads far below max_payload_bytes (the writer caps command lines and names).
inline void append_record_parts(std::vector<std::byte>& out, RecordType type, const void* fixed, size_t fixed_bytes,
                                const void* tail, size_t tail_bytes) {
  const RecordHeader header{static_cast<uint32_t>(type), static_cast<uint32_t>(fixed_bytes + tail_bytes)};
  append_bytes(out, &header, sizeof(header));
  append_bytes(out, fixed, fixed_bytes);
  append_bytes(out, tail, tail_bytes);
}

template <Payload T> void append_record(std::vector<std::byte>& out, const T& payload) {
  append_record_parts(out, T::record_type, &payload, sizeof(T), nullptr, 0);
}

template <Payload T> void append_record(std::vector<std::byte>& out, const T& payload, std::string_view tail) {
  append_record_parts(out, T::record_type, &payload, sizeof(T), tail.data(), tail.size());
}

// For records that are all tail: a warning is one line of text (a CUPTI call that failed,
// another profiler holding CUPTI, ...) with no fixed part.
inline void append_text_record(std::vector<std::byte>& out, RecordType type, std::string_view text) {
  append_record_parts(out, type, nullptr, 0, text.data(), text.size());
}

// A counter sample and its value_count values, as one record.
inline void append_counter_sample(std::vector<std::byte>& out, const CounterSampleRecord& sample,
                                  const CounterValue* values) {
  append_record_parts(out, RecordType::counter_sample, &sample, sizeof(sample), values,
                      size_t{sample.value_count} * sizeof(CounterValue));
}

} // namespace brrr::stream
