#pragma once
// Reads the record streams written by the injection library (collect/stream_format.hpp) into
// a Trace. One stream is one process; reading several streams into one Trace merges them:
// strings are interned into one table and devices seen by several processes appear once.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "model/trace.hpp"

namespace brrr {

struct StreamReadResult {
  // False when nothing could be read: the file is missing or unreadable, or it is not a brrr
  // stream of this version. Then nothing was appended to the Trace and error says why.
  // A stream that is cut short or corrupt further on is still ok: what came before the
  // damage is in the Trace, and the process's stream_problem describes the damage.
  bool ok = false;
  std::string error;
  // Index in Trace::processes of the process the stream described, when ok.
  uint32_t process = 0;
};

// A device UUID as nvidia-smi and CUDA_VISIBLE_DEVICES write it: "GPU-…", or "MIG-…" for a MIG
// instance.
[[nodiscard]] std::string format_uuid(const uint8_t (&bytes)[16], bool mig);

// Called with byte ranges of the stream that the parser is done with (a mapped file drops them).
using ReleaseBytes = std::function<void(size_t from, size_t to)>;

// Parses one stream and appends its process and events to trace. source names the stream in
// messages (a file path).
StreamReadResult read_stream(std::span<const std::byte> bytes, const std::string& source, Trace& trace,
                             const ReleaseBytes& release = {});

// Maps the file and reads it with read_stream.
StreamReadResult read_stream_file(const std::string& path, Trace& trace);

} // namespace brrr
