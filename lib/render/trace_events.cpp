// The Chrome trace-event export. Every slice is a complete event ("ph":"X") on a track: a
// (pid, tid) pair that Perfetto and chrome://tracing draw as one row. Viewers need the slices of
// a row to nest (a slice inside another, or beside it, never half over it), which CUDA does not
// promise: kernels of one stream overlap in graphs, NVTX start/end ranges cross. So each track
// is laid out in rows: a slice goes to the first row where it fits, and a track grows a row (its
// own tid, named after the track) only when one is needed. On a host thread, fitting is
// nesting: a range holds the calls made inside it. On a GPU stream nothing nests: kernels that
// overlap ran side by side, and drawing one inside the other would say it was part of it.
//
// The file is streamed: the slices of each kind are visited in order of time through index
// vectors (4 bytes an event), written into a buffer of about a megabyte, and handed on.

#include "render/trace_events.hpp"

#include "analyse/analysis.hpp"
#include "render/render.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <numeric>
#include <tuple>

namespace brrr {

namespace {

// A JSON string literal, quotes included. Names come from the program (kernel symbols, NVTX
// ranges, its command line); bytes that are not UTF-8 are replaced rather than refused.
std::string json_string(std::string_view text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view api_name(ApiKind kind) {
  switch (kind) {
  case ApiKind::kernel_launch:
    return "kernel launch";
  case ApiKind::graph_launch:
    return "graph launch";
  case ApiKind::memcpy:
    return "memcpy";
  case ApiKind::memset:
    return "memset";
  case ApiKind::synchronize:
    return "synchronize";
  case ApiKind::other:
    break;
  }
  return "CUDA call";
}

std::string_view sync_name(SyncKind kind) {
  switch (kind) {
  case SyncKind::event:
    return "event synchronize";
  case SyncKind::stream_wait_event:
    return "stream wait event";
  case SyncKind::stream:
    return "stream synchronize";
  case SyncKind::context:
    return "context synchronize";
  case SyncKind::unknown:
    break;
  }
  return "synchronize";
}

// The JSON strings of name(Enum(0)) .. name(Enum(N - 1)).
template <typename Enum, std::size_t N, typename Name> std::array<std::string, N> fixed_names(const Name& name) {
  std::array<std::string, N> out;
  for (std::size_t i = 0; i < N; ++i) out[i] = json_string(name(static_cast<Enum>(i)));
  return out;
}

// The indices 0 .. n - 1 of events in the order place() takes them: by start, and longest first
// among those that start together. bounds(i) is the (start, end) of event i on the trace's
// clock, which the run's clock maps without reversing their order.
template <typename Bounds> std::vector<uint32_t> placing_order(std::size_t n, const Bounds& bounds) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const auto [a_start, a_end] = bounds(a);
    const auto [b_start, b_end] = bounds(b);
    return a_start != b_start ? a_start < b_start : a_end > b_end;
  });
  return order;
}

// What a track shows, in the order the viewer lists a process's tracks.
enum class TrackKind : uint8_t { host_thread, synchronizations, gpu_stream, idle };

uint64_t flow_id(uint32_t process, uint32_t correlation_id) { return (uint64_t{process} << 32) | correlation_id; }

class Exporter {
public:
  Exporter(const Trace& trace, const Run& run, const TimelineDetail& timeline, const WriteChunk& write)
      : trace_(trace), run_(run), timeline_(timeline), write_(write) {
    int32_t max_pid = 0;
    for (const auto& p : trace.processes) max_pid = std::max(max_pid, p.pid);
    uint32_t processes = static_cast<uint32_t>(trace.processes.size());
    auto count = [&](const auto& events) {
      for (const auto& e : events) processes = std::max(processes, e.process + 1);
    };
    count(trace.kernels);
    count(trace.copies);
    count(trace.sets);
    count(trace.apis);
    count(trace.ranges);
    count(trace.syncs);
    // Pids and tids are numbers the viewer keys its rows by, all in one space (Perfetto names a
    // thread by its tid alone): the processes keep their own pids, and everything brrr adds
    // (the idle gaps' process, processes of unknown pid, every track's tid) is numbered above
    // them, so that nothing collides.
    idle_pid_ = static_cast<uint32_t>(max_pid) + 1;
    unknown_pid_base_ = idle_pid_ + 1;
    next_tid_ = unknown_pid_base_ + processes;
  }

  TraceEventCounts write_all() {
    out_.append(std::string_view(R"({"displayTimeUnit":"ns","traceEvents":[)"));
    index_launch_calls();
    gpu_activities();
    host_calls();
    synchronizations();
    idle_gaps();
    metadata();
    out_.append(std::string_view("\n],\"otherData\":"));
    out_.append(other_data());
    out_.append(std::string_view("}\n"));
    flush();
    return counts_;
  }

private:
  struct Lane {
    uint32_t tid = 0;
    // Ends of the slices open on this row at the current time, innermost last.
    std::vector<uint64_t> open_ends;
  };

  struct Track {
    uint32_t pid = 0;
    TrackKind kind = TrackKind::host_thread;
    // Whether a slice may go inside another on one row (host threads), or only after it.
    bool nests = false;
    std::string name;
    std::vector<Lane> lanes;
  };

  [[nodiscard]] uint32_t pid_of(uint32_t process) const {
    return process < trace_.processes.size() ? static_cast<uint32_t>(trace_.processes[process].pid)
                                             : unknown_pid_base_ + process;
  }

  uint32_t add_track(uint32_t pid, TrackKind kind, std::string name) {
    tracks_.push_back({pid, kind, kind == TrackKind::host_thread, std::move(name), {}});
    return static_cast<uint32_t>(tracks_.size() - 1);
  }

  // The track of `key` in `index`, made (and named by `name()`) on first use.
  template <typename Key, typename Name>
  uint32_t track(std::map<Key, uint32_t>& index, const Key& key, uint32_t pid, TrackKind kind, const Name& name) {
    auto it = index.find(key);
    if (it == index.end()) it = index.emplace(key, add_track(pid, kind, name())).first;
    return it->second;
  }

  // The tid of the first row of the track where [start, end] fits. Slices must come in order
  // of start, and of end, longest first, among those that start together.
  uint32_t place(uint32_t track, uint64_t start, uint64_t end) {
    const bool nests = tracks_[track].nests;
    auto& lanes = tracks_[track].lanes;
    for (auto& lane : lanes) {
      while (!lane.open_ends.empty() && lane.open_ends.back() <= start) lane.open_ends.pop_back();
      if (lane.open_ends.empty() || (nests && lane.open_ends.back() >= end)) {
        lane.open_ends.push_back(end);
        return lane.tid;
      }
    }
    lanes.push_back({next_tid_++, {end}});
    return lanes.back().tid;
  }

  template <typename... Args> void emit(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(fmt::appender(out_), format, std::forward<Args>(args)...);
  }

  // Opens a complete event; the caller adds its arguments and closes it with end_event(). Every
  // slice passes here, so its format is compiled.
  void begin_slice(std::string_view category, std::string_view quoted_name, uint32_t pid, uint32_t tid,
                   uint64_t start_ns, uint64_t end_ns) {
    separate_event();
    const uint64_t duration_ns = end_ns - start_ns;
    fmt::format_to(fmt::appender(out_),
                   FMT_COMPILE(R"({{"ph":"X","cat":"{}","name":{},"pid":{},"tid":{},"ts":{}.{:03},"dur":{}.{:03})"),
                   category, quoted_name, pid, tid, start_ns / 1000, start_ns % 1000, duration_ns / 1000,
                   duration_ns % 1000);
  }

  void separate_event() {
    out_.append(std::string_view(first_event_ ? "\n" : ",\n"));
    first_event_ = false;
  }

  void end_event() {
    out_.push_back('}');
    if (out_.size() >= (1u << 20)) flush();
  }

  void flush() {
    write_(std::string_view(out_.data(), out_.size()));
    out_.clear();
  }

  // Launch calls by (process, correlation id), so that GPU work finds the call that launched it.
  void index_launch_calls() {
    calls_by_correlation_.resize(trace_.apis.size());
    std::iota(calls_by_correlation_.begin(), calls_by_correlation_.end(), 0u);
    auto key = [&](uint32_t i) { return flow_id(trace_.apis[i].process, trace_.apis[i].correlation_id); };
    std::sort(calls_by_correlation_.begin(), calls_by_correlation_.end(),
              [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
    call_has_flow_.assign(trace_.apis.size(), false);
  }

  // The launch call of GPU work, if it was recorded and no earlier work of the same call (a graph
  // launches many kernels with one call) took its flow arrow; marks it taken.
  bool take_flow(uint32_t process, uint32_t correlation_id) {
    const uint64_t wanted = flow_id(process, correlation_id);
    auto it = std::lower_bound(
        calls_by_correlation_.begin(), calls_by_correlation_.end(), wanted,
        [&](uint32_t i, uint64_t k) { return flow_id(trace_.apis[i].process, trace_.apis[i].correlation_id) < k; });
    if (it == calls_by_correlation_.end() ||
        flow_id(trace_.apis[*it].process, trace_.apis[*it].correlation_id) != wanted || call_has_flow_[*it])
      return false;
    call_has_flow_[*it] = true;
    counts_.flows++;
    return true;
  }

  const std::string& group_name(uint32_t owner) {
    if (group_names_.empty()) group_names_.resize(run_.kernels.size() + run_.transfers.size());
    std::string& name = group_names_.at(owner);
    if (!name.empty()) return name;
    if (owner < run_.kernels.size()) {
      name = json_string(run_.kernels[owner].name);
    } else {
      const auto& g = run_.transfers[owner - run_.kernels.size()];
      name = g.kind == TransferKind::memset ? json_string(fmt::format("memset ({})", to_string(g.destination)))
                                            : json_string(fmt::format("memcpy {} ({} → {})", to_string(g.kind),
                                                                      to_string(g.source), to_string(g.destination)));
    }
    return name;
  }

  uint32_t stream_track(uint32_t process, uint32_t device, uint32_t context, uint32_t stream) {
    return track(stream_tracks_, std::tuple(process, device, context, stream), pid_of(process), TrackKind::gpu_stream,
                 [&] { return fmt::format("GPU {} stream {} (context {})", device, stream, context); });
  }

  // GPU work on its stream's track. Activities come in order of start, then of end; those that
  // start together are taken longest first, as place() needs.
  void gpu_activities() {
    const auto& activities = timeline_.activities;
    for (std::size_t i = 0; i < activities.size();) {
      std::size_t j = i;
      while (j < activities.size() && activities[j].start == activities[i].start) ++j;
      for (std::size_t k = j; k-- > i;) gpu_activity(activities[k]);
      i = j;
    }
  }

  void gpu_activity(const Activity& a) {
    const std::string& name = group_name(a.owner);
    switch (a.source()) {
    case ActivitySource::kernel: {
      const auto& k = trace_.kernels[a.event()];
      begin_gpu_slice("kernel", name, k, a);
      fmt::format_to(fmt::appender(out_),
                     FMT_COMPILE(R"(,"args":{{"correlation":{},"grid":"{}x{}x{}","block":"{}x{}x{}","registers":{},)"
                                 R"("shared_bytes":{})"),
                     k.correlation_id, k.grid.x, k.grid.y, k.grid.z, k.block.x, k.block.y, k.block.z,
                     k.registers_per_thread, uint64_t{k.static_shared_bytes} + k.dynamic_shared_bytes);
      if (k.graph_id != 0) emit(R"(,"graph":{})", k.graph_id);
      out_.push_back('}');
      counts_.kernels++;
      break;
    }
    case ActivitySource::copy:
      transfer_slice("copy", name, trace_.copies[a.event()], a);
      counts_.copies++;
      break;
    case ActivitySource::set:
      transfer_slice("set", name, trace_.sets[a.event()], a);
      counts_.sets++;
      break;
    }
    end_event();
  }

  // A kernel, copy or set on its stream's row, with the arrow from its launch call.
  template <typename Event>
  void begin_gpu_slice(std::string_view category, const std::string& name, const Event& e, const Activity& a) {
    const uint32_t tid = place(stream_track(e.process, e.device_id, e.context_id, e.stream_id), a.start, a.end);
    begin_slice(category, name, pid_of(e.process), tid, a.start, a.end);
    flow_in(e.process, e.correlation_id);
  }

  template <typename Event>
  void transfer_slice(std::string_view category, const std::string& name, const Event& e, const Activity& a) {
    begin_gpu_slice(category, name, e, a);
    emit(R"(,"args":{{"correlation":{},"bytes":{},"async":{}}})", e.correlation_id, e.bytes, e.async);
  }

  void flow_in(uint32_t process, uint32_t correlation_id) {
    if (take_flow(process, correlation_id)) emit(R"(,"bind_id":{},"flow_in":true)", flow_id(process, correlation_id));
  }

  uint32_t thread_track(uint32_t process, uint32_t thread_id) {
    return track(thread_tracks_, std::pair(process, thread_id), pid_of(process), TrackKind::host_thread, [&] {
      return thread_id == 0 ? std::string("host thread (not recorded)") : fmt::format("host thread {}", thread_id);
    });
  }

  // API calls and NVTX ranges, together on their host thread's track, in order of start (then
  // longest first): a range holds the calls made inside it.
  void host_calls() {
    const auto calls = static_cast<uint32_t>(trace_.apis.size());
    auto bounds = [&](uint32_t i) {
      if (i < calls)
        return std::pair(trace_.apis[i].start_ns, std::max(trace_.apis[i].start_ns, trace_.apis[i].end_ns));
      const auto& r = trace_.ranges[i - calls];
      return std::pair(r.start_ns, std::max(r.start_ns, r.end_ns));
    };
    std::vector<std::string> range_names(trace_.strings.size());
    for (const uint32_t i : placing_order(trace_.apis.size() + trace_.ranges.size(), bounds)) {
      const auto [start_ns, end_ns] = bounds(i);
      const uint64_t start = timeline_.clock.offset(start_ns);
      const uint64_t end = timeline_.clock.offset(end_ns);
      if (i < calls) {
        const auto& api = trace_.apis[i];
        const uint32_t tid = place(thread_track(api.process, api.thread_id), start, end);
        begin_slice("api", api_names_.at(static_cast<std::size_t>(api.kind)), pid_of(api.process), tid, start, end);
        if (call_has_flow_[i]) emit(R"(,"bind_id":{},"flow_out":true)", flow_id(api.process, api.correlation_id));
        fmt::format_to(fmt::appender(out_),
                       FMT_COMPILE(R"(,"args":{{"correlation":{},"callback_id":{},"interface":"{}"}})"),
                       api.correlation_id, api.callback_id, api.driver ? "driver" : "runtime");
        counts_.api_calls++;
      } else {
        const auto& r = trace_.ranges[i - calls];
        std::string& name = range_names.at(r.name);
        if (name.empty()) name = json_string(trace_.str(r.name));
        const uint32_t tid = place(thread_track(r.process, r.thread_id), start, end);
        begin_slice("nvtx", name, pid_of(r.process), tid, start, end);
        if (!trace_.str(r.domain).empty()) emit(R"(,"args":{{"domain":{}}})", json_string(trace_.str(r.domain)));
        counts_.ranges++;
      }
      end_event();
    }
  }

  // CUPTI records when the host blocked in a synchronization, but not on which thread: each
  // process's synchronizations have a track of their own.
  void synchronizations() {
    auto bounds = [&](uint32_t i) {
      return std::pair(trace_.syncs[i].start_ns, std::max(trace_.syncs[i].start_ns, trace_.syncs[i].end_ns));
    };
    for (const uint32_t i : placing_order(trace_.syncs.size(), bounds)) {
      const auto& s = trace_.syncs[i];
      const uint64_t start = timeline_.clock.offset(bounds(i).first);
      const uint64_t end = timeline_.clock.offset(bounds(i).second);
      const uint32_t t = track(sync_tracks_, s.process, pid_of(s.process), TrackKind::synchronizations,
                               [] { return std::string("host synchronizations"); });
      begin_slice("sync", sync_names_.at(static_cast<std::size_t>(s.kind)), pid_of(s.process), place(t, start, end),
                  start, end);
      emit(R"(,"args":{{"correlation":{},"stream":{}}})", s.correlation_id, s.stream_id);
      end_event();
      counts_.syncs++;
    }
  }

  // The GPUs' idle gaps, as the model found and classified them, on one track of their own: a
  // gap is a time when no GPU of any process ran anything.
  void idle_gaps() {
    const uint32_t t = add_track(idle_pid_, TrackKind::idle, "GPU idle, by cause");
    for (const auto& gap : timeline_.gaps) {
      // A gap of no time is no gap: the model counts none (Run::idle has no such gaps).
      if (gap.duration_ns == 0) continue;
      const uint64_t end = gap.start_ns + gap.duration_ns;
      begin_slice("idle", gap_names_.at(static_cast<std::size_t>(gap.cause)), idle_pid_, place(t, gap.start_ns, end),
                  gap.start_ns, end);
      emit(R"(,"args":{{"cause":"{}"}})", to_string(gap.cause));
      end_event();
      counts_.gaps++;
    }
  }

  void metadata_event(std::string_view name, uint32_t pid, std::optional<uint32_t> tid, std::string_view args) {
    separate_event();
    emit(R"({{"ph":"M","name":"{}","pid":{})", name, pid);
    if (tid) emit(R"(,"tid":{})", *tid);
    emit(R"(,"args":{{{}}})", args);
    end_event();
  }

  std::string process_name(uint32_t pid) const {
    if (pid == idle_pid_) return "GPU idle (all GPUs, all processes)";
    for (const auto& p : trace_.processes) {
      if (static_cast<uint32_t>(p.pid) != pid) continue;
      std::string command;
      for (const auto& arg : p.command) command += (command.empty() ? "" : " ") + arg;
      // A long command line would fill the viewer's track list.
      if (command.size() > 80) command = command.substr(0, 77) + "...";
      return command.empty() ? fmt::format("process {}", pid) : command;
    }
    return fmt::format("process {} (not recorded)", pid - unknown_pid_base_);
  }

  // Names for every process and row, and the order in which viewers that honour sort indices
  // list them: the idle gaps' process first, and in each process its host threads, its
  // synchronizations, then its GPU streams, each in order of first appearance.
  void metadata() {
    std::vector<uint32_t> order(tracks_.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return tracks_[a].kind < tracks_[b].kind; });
    std::map<uint32_t, bool> named;
    uint32_t sort_index = 0;
    for (const uint32_t i : order) {
      const auto& t = tracks_[i];
      if (t.lanes.empty()) continue;
      if (!named[t.pid]) {
        named[t.pid] = true;
        metadata_event("process_name", t.pid, std::nullopt, R"("name":)" + json_string(process_name(t.pid)));
        metadata_event("process_sort_index", t.pid, std::nullopt,
                       fmt::format(R"("sort_index":{})", t.pid == idle_pid_ ? -1 : static_cast<int64_t>(t.pid)));
      }
      for (std::size_t lane = 0; lane < t.lanes.size(); ++lane) {
        const std::string name = lane == 0 ? t.name : fmt::format("{} (overlapping, row {})", t.name, lane + 1);
        metadata_event("thread_name", t.pid, t.lanes[lane].tid, R"("name":)" + json_string(name));
        metadata_event("thread_sort_index", t.pid, t.lanes[lane].tid, fmt::format(R"("sort_index":{})", sort_index++));
        counts_.tracks++;
      }
    }
  }

  // The file's context, under the key the format keeps for it.
  [[nodiscard]] std::string other_data() const {
    nlohmann::ordered_json j;
    j["tool"] = "brrr";
    j["tool_version"] = run_.info.tool_version;
    j["command"] = run_.info.command;
    j["start_time"] = run_.info.start_time;
    j["wall_ns"] = run_.timeline.wall_ns;
    j["time_origin"] = "the target's start; the time brrr held the program up (counter replay) is cut out";
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  const Trace& trace_;
  const Run& run_;
  const TimelineDetail& timeline_;
  const WriteChunk& write_;
  fmt::memory_buffer out_;
  bool first_event_ = true;
  TraceEventCounts counts_;

  uint32_t idle_pid_ = 0;
  uint32_t unknown_pid_base_ = 0;
  uint32_t next_tid_ = 0;
  std::vector<Track> tracks_;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>, uint32_t> stream_tracks_;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> thread_tracks_;
  std::map<uint32_t, uint32_t> sync_tracks_;

  // The fixed names of calls, synchronizations and gaps as JSON strings, made once, by value
  // (the stream reader keeps kinds within their enums).
  const std::array<std::string, static_cast<std::size_t>(ApiKind::synchronize) + 1> api_names_ =
      fixed_names<ApiKind, static_cast<std::size_t>(ApiKind::synchronize) + 1>(api_name);
  const std::array<std::string, static_cast<std::size_t>(SyncKind::context) + 1> sync_names_ =
      fixed_names<SyncKind, static_cast<std::size_t>(SyncKind::context) + 1>(sync_name);
  const std::array<std::string, all_idle_causes.size()> gap_names_ =
      fixed_names<IdleCause, all_idle_causes.size()>([](IdleCause c) { return part_label(idle_part(c)); });

  std::vector<uint32_t> calls_by_correlation_;
  std::vector<bool> call_has_flow_;
  std::vector<std::string> group_names_;
};

} // namespace

TraceEventCounts write_trace_events(const Trace& trace, const Run& run, const TimelineDetail& timeline,
                                    const WriteChunk& write) {
  return Exporter(trace, run, timeline, write).write_all();
}

} // namespace brrr
