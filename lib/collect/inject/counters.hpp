#pragma once
// Hardware counters for sampled kernel launches, and the dataflow between consecutive launches
// (kernel arguments compared in the same launch callbacks).
//
// Hardware counters for sampled kernel launches, through CUPTI's range profiler (auto range,
// kernel replay). The first N launches of each distinct kernel (symbol + grid + block) are
// measured: the launch callback starts the range profiler before the launch and stops it
// after, so the driver replays that one kernel once per counter pass; the values go into the
// stream as a counter sample keyed by the launch's correlation id, and the time the replay
// held the program up as a tool event, which the model cuts out of the timeline.
//
// Nothing here may stop the program: when counters are unavailable (privileges, MIG, another
// profiler) each distinct kernel gets one counter-gap record with the reason, and tracing
// carries on.

#include <cupti.h>

#include <cstdint>
#include <string>

#include "collect/inject/cupti_api.hpp"
#include "collect/inject/stream_writer.hpp"

namespace brrr::inject {

struct CounterOptions {
  enum class Mode : uint8_t { off, first, all };
  Mode mode = Mode::off;
  // Launches measured per distinct kernel in `first` mode.
  uint32_t first = 1;
  // When set, only launches made inside an NVTX push/pop range of this name are measured.
  std::string range;
};

// Reads BRRR_COUNTERS ("off", "first:N", "all"; off when unset) and BRRR_COUNTERS_RANGE.
// Returns an empty string, or a sentence saying what is wrong with the value.
std::string counter_options_from_env(CounterOptions& options);

// Enables the launch callbacks (and NVTX callbacks for a range restriction) on the subscriber.
void start_counters(const CuptiApi& api, StreamWriter& writer, CUpti_SubscriberHandle subscriber,
                    const CounterOptions& options);

// Writes what is still gathered (dataflow records); called at exit, before the stream ends.
void finish_counters();

// The subscriber's callback passes every callback here.
void counters_callback(CUpti_CallbackDomain domain, CUpti_CallbackId id, const void* data);

} // namespace brrr::inject
