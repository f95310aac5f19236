// Trace → run. Two passes over the GPU activity, sorted by start time:
//  1. the union of busy intervals gives the idle gaps, and each gap gets its cause from
//     what the host was doing (API calls, synchronizations) when the GPU went idle and when
//     the next work arrived;
//  2. a sweep over every elementary segment between activity and NVTX-range boundaries
//     splits busy time evenly, to the nanosecond, among the activities running in it, and
//     gives idle time to its gap's cause. Each NVTX range collects the segments inside it.
// Integer arithmetic throughout, so the parts sum to the wall time exactly.

#include "model/build.hpp"

#include "model/clock.hpp"
#include "model/communication.hpp"
#include "model/counters.hpp"

#include <algorithm>
#include <cxxabi.h>
#include <map>
#include <memory>
#include <queue>
#include <unordered_map>

namespace brrr {

std::string demangle(const std::string& symbol) {
  // Only mangled names start with _Z; __cxa_demangle also accepts bare type codes, which
  // would turn an extern "C" kernel named "i" or "f" into "int" or "float".
  if (symbol.rfind("_Z", 0) != 0) return symbol;
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : symbol;
}

namespace {

template <typename T> uint64_t median_of(std::vector<T>& v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>((v.size() - 1) / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

uint32_t saturate(uint64_t ns) { return static_cast<uint32_t>(std::min<uint64_t>(ns, UINT32_MAX)); }

// No activity before (or after) a gap.
constexpr uint32_t no_activity = UINT32_MAX;

// A gap kept for the report's list of the longest ones.
struct LongGap {
  uint64_t duration = 0;
  uint64_t start = 0;
  IdleCause cause = IdleCause::host;
};

struct KernelKey {
  StringId name;
  Dim3 grid;
  Dim3 block;
  uint32_t device;
  auto operator<=>(const KernelKey&) const = default;
};

struct TransferKey {
  TransferKind kind;
  MemoryKind source;
  MemoryKind destination;
  bool async;
  auto operator<=>(const TransferKey&) const = default;
};

TransferKind transfer_kind(CopyKind k) {
  switch (k) {
  case CopyKind::host_to_device:
    return TransferKind::host_to_device;
  case CopyKind::device_to_host:
    return TransferKind::device_to_host;
  case CopyKind::device_to_device:
    return TransferKind::device_to_device;
  case CopyKind::host_to_host:
    return TransferKind::host_to_host;
  case CopyKind::peer:
    return TransferKind::peer;
  case CopyKind::unknown:
    break;
  }
  return TransferKind::unknown;
}

uint64_t correlation_key(uint32_t process, uint32_t correlation_id) {
  return (uint64_t{process} << 32) | correlation_id;
}

// When a launch ran. A launch sampled for counters comes back from CUPTI without timestamps
// (the driver replayed it); it is placed at the start of the time brrr held the program up for
// it, lasting as long as its counter pass measured. A launch without timestamps otherwise is
// untimed: CUPTI could not time it (the process ended with it still queued).
struct KernelTimes {
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> replayed; // correlation key → (start, end)

  explicit KernelTimes(const Trace& trace) {
    std::unordered_map<uint64_t, uint64_t> pass_ns;
    std::vector<std::pair<std::string_view, double>> values;
    for (const auto& sample : trace.counters) {
      values.clear();
      for (const auto& [metric, value] : sample.values) values.emplace_back(trace.str(metric), value);
      LaunchCounters launch;
      (void)derive_launch_counters(values, launch);
      if (launch.duration_ns > 0)
        pass_ns[correlation_key(sample.process, sample.correlation_id)] = static_cast<uint64_t>(launch.duration_ns);
    }
    for (const auto& e : trace.tool_events)
      if (auto it = pass_ns.find(correlation_key(e.process, e.correlation_id)); it != pass_ns.end())
        replayed[it->first] = {e.start_ns, std::min(e.end_ns, e.start_ns + it->second)};
    // Launches CUPTI timed keep their own times.
    for (const auto& k : trace.kernels)
      if (k.start_ns != 0 && k.end_ns != 0) replayed.erase(correlation_key(k.process, k.correlation_id));
  }

  [[nodiscard]] std::optional<std::pair<uint64_t, uint64_t>> of(const KernelEvent& k) const {
    if (k.start_ns != 0 && k.end_ns != 0) return std::pair(k.start_ns, k.end_ns);
    if (auto it = replayed.find(correlation_key(k.process, k.correlation_id)); it != replayed.end()) return it->second;
    return std::nullopt;
  }
};

// The intervals cut out of the timeline: each tool event, less the times the GPU ran the
// program's own work during it (its kernels, the one execution a replayed launch keeps, its
// copies and sets): brrr held a host thread, but what the GPU did meanwhile would have taken as
// long without brrr. Cutting it hid it: a copy queued before a sampled launch, which the
// sample's serialisation made finish inside the tool event, vanished from the timeline.
std::vector<ToolEvent> tool_cuts(const Trace& trace, const KernelTimes& times) {
  std::vector<std::pair<uint64_t, uint64_t>> held;
  for (const auto& e : trace.tool_events)
    if (e.end_ns > e.start_ns) held.emplace_back(e.start_ns, e.end_ns);
  held = merged_intervals(std::move(held));
  if (held.empty()) return {};
  // Only the work that overlaps a tool event matters: few intervals among millions.
  std::vector<std::pair<uint64_t, uint64_t>> busy;
  const auto consider = [&](uint64_t start, uint64_t end) {
    if (end <= start) return;
    auto it = std::upper_bound(held.begin(), held.end(), std::pair(start, UINT64_MAX));
    const bool overlaps =
        (it != held.end() && it->first < end) || (it != held.begin() && std::prev(it)->second > start);
    if (overlaps) busy.emplace_back(start, end);
  };
  for (const auto& k : trace.kernels)
    if (auto t = times.of(k)) consider(t->first, t->second);
  for (const auto& c : trace.copies) consider(c.start_ns, c.end_ns);
  for (const auto& x : trace.sets) consider(x.start_ns, x.end_ns);
  busy = merged_intervals(std::move(busy));
  std::vector<ToolEvent> cuts;
  auto b = busy.begin();
  for (auto [start, end] : held) {
    while (b != busy.end() && b->second <= start) ++b;
    for (auto w = b; w != busy.end() && w->first < end; ++w) {
      if (w->first > start) cuts.push_back({start, w->first, 0, 0});
      start = std::max(start, w->second);
    }
    if (end > start) cuts.push_back({start, end, 0, 0});
  }
  return cuts;
}

class Builder {
public:
  Builder(const Trace& trace, const LaunchFacts& launch, const GapLimits& limits, TimelineDetail* detail)
      : trace_(trace), launch_(launch), limits_(limits), detail_(detail), times_(trace),
        clock_(launch.start_ns, launch.end_ns, tool_cuts(trace, times_)) {}

  Run build() {
    run_.info = launch_.info;
    run_.collection = launch_.collection;
    extend_clock();
    run_.collection.tool_ns = clock_.cut_ns();
    run_.timeline.wall_ns = clock_.wall_ns();
    group_kernels();
    group_transfers();
    collect_activities();
    find_gaps();
    sweep();
    count_successions();
    attach_counters();
    order_groups();
    describe_processes_and_gpus();
    if (detail_) {
      detail_->clock = clock_;
      detail_->activities = std::move(activities_);
    }
    return std::move(run_);
  }

private:
  // Activity that outlives the launcher's view of the target (an orphaned child still
  // running) extends the run rather than falling off its end.
  void extend_clock() {
    for (const auto& k : trace_.kernels) clock_.extend_to(k.end_ns);
    for (const auto& c : trace_.copies) clock_.extend_to(c.end_ns);
    for (const auto& s : trace_.sets) clock_.extend_to(s.end_ns);
  }

  void group_kernels() {
    std::map<KernelKey, uint32_t> index;
    kernel_group_of_.resize(trace_.kernels.size());
    for (std::size_t i = 0; i < trace_.kernels.size(); ++i) {
      const auto& e = trace_.kernels[i];
      KernelKey key{e.name, e.grid, e.block, e.device_id};
      auto [it, inserted] = index.try_emplace(key, static_cast<uint32_t>(run_.kernels.size()));
      if (inserted) {
        KernelGroup g;
        g.symbol = trace_.str(e.name);
        g.name = demangle(g.symbol);
        g.grid = e.grid;
        g.block = e.block;
        g.registers_per_thread = e.registers_per_thread;
        g.static_shared_bytes = e.static_shared_bytes;
        g.dynamic_shared_bytes = e.dynamic_shared_bytes;
        g.device = e.device_id;
        g.first_start_ns = UINT64_MAX;
        run_.kernels.push_back(std::move(g));
        durations_.emplace_back();
      }
      const uint32_t gi = it->second;
      kernel_group_of_[i] = gi;
      auto& g = run_.kernels[gi];
      g.launches++;
      if (e.graph_id != 0) g.graph_launches++;
      g.dynamic_shared_bytes = std::max(g.dynamic_shared_bytes, e.dynamic_shared_bytes);
      const auto times = times_.of(e);
      if (!times) {
        g.untimed_launches++;
        continue;
      }
      const uint64_t d = clock_.offset(std::max(times->second, times->first)) - clock_.offset(times->first);
      g.total_ns += d;
      g.first_start_ns = std::min(g.first_start_ns, clock_.offset(times->first));
      durations_[gi].push_back(d);
    }
    for (std::size_t gi = 0; gi < run_.kernels.size(); ++gi) {
      auto& d = durations_[gi];
      auto& g = run_.kernels[gi];
      if (d.empty()) {
        g.first_start_ns = 0;
        continue;
      }
      g.min_ns = *std::min_element(d.begin(), d.end());
      g.max_ns = *std::max_element(d.begin(), d.end());
      g.median_ns = median_of(d);
      d = {};
    }
    run_.collection.kernel_records = trace_.kernels.size();
    run_.collection.api_records = trace_.apis.size();
  }

  uint32_t transfer_group(const TransferKey& key) {
    auto [it, inserted] = transfer_index_.try_emplace(key, static_cast<uint32_t>(run_.transfers.size()));
    if (inserted) {
      TransferGroup g;
      g.kind = key.kind;
      g.source = key.source;
      g.destination = key.destination;
      g.async = key.async;
      run_.transfers.push_back(g);
    }
    return it->second;
  }

  void add_transfer(uint32_t gi, uint64_t start, uint64_t end, uint64_t bytes) {
    auto& g = run_.transfers[gi];
    g.count++;
    g.bytes += bytes;
    g.total_ns += clock_.offset(std::max(end, start)) - clock_.offset(start);
  }

  void group_transfers() {
    copy_group_of_.resize(trace_.copies.size());
    for (std::size_t i = 0; i < trace_.copies.size(); ++i) {
      const auto& c = trace_.copies[i];
      copy_group_of_[i] = transfer_group({transfer_kind(c.kind), c.source, c.destination, c.async});
      add_transfer(copy_group_of_[i], c.start_ns, c.end_ns, c.bytes);
    }
    set_group_of_.resize(trace_.sets.size());
    for (std::size_t i = 0; i < trace_.sets.size(); ++i) {
      const auto& s = trace_.sets[i];
      set_group_of_[i] = transfer_group({TransferKind::memset, s.memory, s.memory, s.async});
      add_transfer(set_group_of_[i], s.start_ns, s.end_ns, s.bytes);
    }
  }

  // Every activity is kept, those of no length too (a tiny memset timed on one tick of the GPU's
  // clock, or work inside a cut): they happened, and the exports show them. When they were
  // dropped, the demo's trace export lost 1 to 9 of its 47 copies and sets in about one run of
  // eight on the H200 (5 of 13 memsets, the 4-byte ones among them, in the run examined).
  void add_activity(uint64_t start, uint64_t end, uint32_t owner, ActivitySource source, std::size_t event) {
    activities_.push_back({clock_.offset(start), clock_.offset(std::max(start, end)), owner,
                           (static_cast<uint32_t>(source) << Activity::event_bits) | static_cast<uint32_t>(event)});
  }

  void collect_activities() {
    const auto kernel_groups = static_cast<uint32_t>(run_.kernels.size());
    activities_.reserve(trace_.kernels.size() + trace_.copies.size() + trace_.sets.size());
    for (std::size_t i = 0; i < trace_.kernels.size(); ++i)
      if (const auto times = times_.of(trace_.kernels[i]))
        add_activity(times->first, times->second, kernel_group_of_[i], ActivitySource::kernel, i);
    for (std::size_t i = 0; i < trace_.copies.size(); ++i)
      add_activity(trace_.copies[i].start_ns, trace_.copies[i].end_ns, kernel_groups + copy_group_of_[i],
                   ActivitySource::copy, i);
    for (std::size_t i = 0; i < trace_.sets.size(); ++i)
      add_activity(trace_.sets[i].start_ns, trace_.sets[i].end_ns, kernel_groups + set_group_of_[i],
                   ActivitySource::set, i);
    std::sort(activities_.begin(), activities_.end(), [](const Activity& a, const Activity& b) {
      return a.start != b.start ? a.start < b.start : a.end < b.end;
    });
  }

  // Idle gaps are the complement of the union of busy intervals within [0, wall], found in one
  // pass over the activities in order of start. Each gap gets its cause as soon as it is found,
  // from the activity that ended it and the one that ended last before it; only the cause is
  // kept per gap (the sweep meets the gaps again, in the same order), and the longest gaps.
  void find_gaps() {
    index_apis();
    syncs_.reserve(trace_.syncs.size());
    // cudaStreamWaitEvent orders streams on the GPU; the host does not block in it.
    for (const auto& s : trace_.syncs)
      if (s.kind != SyncKind::stream_wait_event)
        syncs_.emplace_back(clock_.offset(s.end_ns), clock_.offset(s.start_ns));
    // The collector records synchronize calls as API calls (streams of earlier versions have
    // synchronization records instead; either says when the host blocked).
    for (const auto& a : trace_.apis)
      if (a.kind == ApiKind::synchronize) syncs_.emplace_back(clock_.offset(a.end_ns), clock_.offset(a.start_ns));
    std::sort(syncs_.begin(), syncs_.end());
    const uint64_t wall = run_.timeline.wall_ns;
    uint64_t busy_end = 0;
    uint32_t last = no_activity; // the activity with the latest end so far
    for (std::size_t i = 0; i < activities_.size(); ++i) {
      const auto& a = activities_[i];
      if (a.start > busy_end) add_gap(busy_end, a.start, last, static_cast<uint32_t>(i));
      if (last == no_activity || a.end > busy_end) {
        busy_end = a.end;
        last = static_cast<uint32_t>(i);
      }
    }
    if (busy_end < wall || activities_.empty()) add_gap(busy_end, wall, last, no_activity);
    if (!activities_.empty()) {
      run_.timeline.gpu_begin_ns = activities_.front().start;
      run_.timeline.gpu_end_ns = busy_end;
    }
    summarise_idle();
    // What only the classification needed goes, before the sweep allocates its own.
    evidence_ = {};
    api_order_ = {};
    syncs_ = {};
  }

  void add_gap(uint64_t start, uint64_t end, uint32_t previous, uint32_t next) {
    const IdleCause cause = classify_gap(start, end, previous, next);
    gap_causes_.push_back(cause);
    const uint64_t duration = end - start;
    if (detail_) detail_->gaps.push_back({start, duration, cause});
    evidence_.gap_ns[static_cast<std::size_t>(cause)].push_back(duration);
    // A min-heap of the longest gaps: the shortest of them is on top, to be replaced.
    auto shorter = [](const LongGap& a, const LongGap& b) {
      return a.duration != b.duration ? a.duration > b.duration : a.start < b.start;
    };
    if (longest_.size() < limits_.largest_gaps) {
      longest_.push_back({duration, start, cause});
      std::push_heap(longest_.begin(), longest_.end(), shorter);
    } else if (!longest_.empty() && duration > longest_.front().duration) {
      std::pop_heap(longest_.begin(), longest_.end(), shorter);
      longest_.back() = {duration, start, cause};
      std::push_heap(longest_.begin(), longest_.end(), shorter);
    }
  }

  struct ActivityInfo {
    uint32_t process = 0;
    uint32_t correlation_id = 0;
    bool is_copy = false;
    bool synchronous = false;
    bool pageable = false;
    uint64_t queued_ns = 0;
  };

  ActivityInfo info(const Activity& a) const {
    ActivityInfo out;
    switch (a.source()) {
    case ActivitySource::kernel: {
      const auto& k = trace_.kernels[a.event()];
      out = {k.process, k.correlation_id, false, false, false, k.queued_ns};
      break;
    }
    case ActivitySource::copy: {
      const auto& c = trace_.copies[a.event()];
      out = {c.process,
             c.correlation_id,
             true,
             !c.async,
             c.source == MemoryKind::pageable || c.destination == MemoryKind::pageable,
             0};
      break;
    }
    case ActivitySource::set: {
      const auto& s = trace_.sets[a.event()];
      out = {s.process, s.correlation_id, true, !s.async, false, 0};
      break;
    }
    }
    return out;
  }

  // API calls in order of (process, correlation id), as indices: four bytes a call, where a
  // hash map would take ten times that for a million launches.
  void index_apis() {
    api_order_.resize(trace_.apis.size());
    for (std::size_t i = 0; i < api_order_.size(); ++i) api_order_[i] = static_cast<uint32_t>(i);
    auto key = [&](uint32_t i) { return correlation_key(trace_.apis[i].process, trace_.apis[i].correlation_id); };
    std::sort(api_order_.begin(), api_order_.end(), [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
  }

  const ApiEvent* api_of(const ActivityInfo& i) const {
    const uint64_t wanted = correlation_key(i.process, i.correlation_id);
    auto it = std::lower_bound(api_order_.begin(), api_order_.end(), wanted, [&](uint32_t a, uint64_t k) {
      return correlation_key(trace_.apis[a].process, trace_.apis[a].correlation_id) < k;
    });
    if (it == api_order_.end()) return nullptr;
    const ApiEvent& api = trace_.apis[*it];
    return correlation_key(api.process, api.correlation_id) == wanted ? &api : nullptr;
  }

  // A gap's cause, in this order of evidence:
  //  - startup / teardown: before the first or after the last GPU activity;
  //  - sync: the host was blocked in a synchronization (or a synchronous copy) that returned
  //    after the GPU went idle, and queued more work soon after: the idle time is the host
  //    refilling a drained queue (a sync followed by long host work is host work);
  //  - copy: the host was inside the call of the copy that ended the gap (staging pageable
  //    memory) when the GPU went idle;
  //  - launch: the GPU waited at most launch_gap_max_ns for the host's next launch;
  //  - host: the GPU waited longer: the host was doing other work.
  IdleCause classify_gap(uint64_t start, uint64_t end, uint32_t previous_activity, uint32_t next_activity) {
    if (previous_activity == no_activity) return IdleCause::startup;
    if (next_activity == no_activity) return IdleCause::teardown;
    auto& ev = evidence_;
    const uint64_t duration = end - start;
    const auto next = info(activities_[next_activity]);
    const auto previous = info(activities_[previous_activity]);
    const ApiEvent* next_api = api_of(next);
    const uint64_t earliest = start > limits_.clock_slack_ns ? start - limits_.clock_slack_ns : 0;
    while (sync_cursor_ < syncs_.size() && syncs_[sync_cursor_].first < earliest) ++sync_cursor_;
    std::optional<uint64_t> sync_return;
    for (std::size_t s = sync_cursor_; s < syncs_.size() && syncs_[s].first <= end; ++s)
      if (syncs_[s].second <= start) sync_return = syncs_[s].first;
    if (!sync_return && previous.synchronous) {
      if (const ApiEvent* api = api_of(previous); api && clock_.offset(api->end_ns) >= earliest)
        sync_return = std::min(clock_.offset(api->end_ns), end);
    }
    const uint64_t refill = sync_return ? end - std::max(*sync_return, start) : 0;
    if (sync_return && refill <= limits_.launch_gap_max_ns) {
      ev.sync_refill.push_back(saturate(refill));
      return IdleCause::sync;
    }
    if (sync_return) return IdleCause::host;
    if (next.is_copy && next_api && clock_.offset(next_api->start_ns) <= start) {
      if (next.pageable) ev.copy_pageable++;
      return IdleCause::copy;
    }
    if (duration > limits_.launch_gap_max_ns) return IdleCause::host;
    if (next_api) {
      ev.launch_call.push_back(saturate(clock_.offset(next_api->end_ns) - clock_.offset(next_api->start_ns)));
      const uint64_t call = clock_.offset(next_api->start_ns);
      ev.launch_host_lag.push_back(saturate(call > start ? call - start : 0));
    }
    if (next.queued_ns) {
      const uint64_t queued = clock_.offset(next.queued_ns);
      ev.launch_queue_wait.push_back(saturate(end > queued ? end - queued : 0));
    }
    return IdleCause::launch;
  }

  void summarise_idle() {
    auto& ev = evidence_;
    for (auto cause : all_idle_causes) {
      auto& d = ev.gap_ns[static_cast<std::size_t>(cause)];
      if (d.empty()) continue;
      IdleSummary s;
      s.cause = cause;
      s.gaps = d.size();
      for (auto v : d) s.total_ns += v;
      s.max_ns = *std::max_element(d.begin(), d.end());
      s.median_ns = median_of(d);
      if (s.total_ns == 0) continue;
      switch (cause) {
      case IdleCause::startup:
        if (activities_.empty()) break;
        if (!trace_.processes.empty()) {
          uint64_t first_init = UINT64_MAX;
          for (const auto& p : trace_.processes) first_init = std::min(first_init, p.injection_start_ns);
          s.evidence.push_back({"cuda_initialized_at_ns", static_cast<double>(clock_.offset(first_init))});
        }
        s.evidence.push_back({"first_gpu_activity_at_ns", static_cast<double>(run_.timeline.gpu_begin_ns)});
        break;
      case IdleCause::launch:
        if (!ev.launch_call.empty())
          s.evidence.push_back({"median_launch_call_ns", static_cast<double>(median_of(ev.launch_call))});
        if (!ev.launch_host_lag.empty())
          s.evidence.push_back({"median_idle_to_launch_call_ns", static_cast<double>(median_of(ev.launch_host_lag))});
        if (!ev.launch_queue_wait.empty())
          s.evidence.push_back({"median_queued_to_start_ns", static_cast<double>(median_of(ev.launch_queue_wait))});
        break;
      case IdleCause::sync:
        s.evidence.push_back({"median_sync_return_to_next_work_ns", static_cast<double>(median_of(ev.sync_refill))});
        break;
      case IdleCause::copy:
        s.evidence.push_back({"gaps_before_pageable_copies", static_cast<double>(ev.copy_pageable)});
        break;
      case IdleCause::host:
      case IdleCause::teardown:
        break;
      }
      // Evidence is keyed by name in the report, and a report read back lists keys in sorted
      // order; keeping that order here makes a run equal to itself after a round trip.
      std::sort(s.evidence.begin(), s.evidence.end(),
                [](const Evidence& a, const Evidence& b) { return a.key < b.key; });
      run_.idle.push_back(std::move(s));
    }
    std::sort(longest_.begin(), longest_.end(), [](const LongGap& a, const LongGap& b) {
      return a.duration != b.duration ? a.duration > b.duration : a.start < b.start;
    });
    for (const auto& g : longest_)
      if (g.duration > 0) run_.largest_gaps.push_back({g.start, g.duration, g.cause});
  }

  // Per NVTX range name, the accumulators of its instances.
  struct RangeAccumulator {
    std::string name;
    uint64_t instances = 0;
    uint64_t total_ns = 0;
    std::unordered_map<uint32_t, uint64_t> owner_ns;
    std::array<uint64_t, all_idle_causes.size()> idle_ns{};
  };

  // A boundary of an NVTX range instance on the timeline.
  struct RangeEdge {
    uint64_t time;
    bool start;
    uint32_t instance;
  };

  void sweep() {
    const auto kernel_groups = run_.kernels.size();
    std::vector<uint64_t> owner_ns(kernel_groups + run_.transfers.size(), 0);
    std::vector<uint64_t> alone_ns(run_.transfers.size(), 0);

    // Range instances, clipped to the run, grouped by name.
    std::vector<RangeAccumulator> ranges;
    std::unordered_map<std::string, uint32_t> range_index;
    std::vector<uint32_t> instance_range;
    std::vector<RangeEdge> edges;
    edges.reserve(trace_.ranges.size() * 2);
    for (const auto& r : trace_.ranges) {
      const uint64_t start = clock_.offset(r.start_ns);
      const uint64_t end = clock_.offset(std::max(r.start_ns, r.end_ns));
      const std::string& name = trace_.str(r.name);
      auto [it, inserted] = range_index.try_emplace(name, static_cast<uint32_t>(ranges.size()));
      if (inserted) ranges.push_back({name, 0, 0, {}, {}});
      auto& acc = ranges[it->second];
      acc.instances++;
      acc.total_ns += end - start;
      if (end > start) {
        const auto instance = static_cast<uint32_t>(instance_range.size());
        instance_range.push_back(it->second);
        edges.push_back({start, true, instance});
        edges.push_back({end, false, instance});
      }
    }
    // The span between collectives is one more accumulator, after the ranges.
    const auto between = static_cast<uint32_t>(ranges.size());
    if (const auto span = collectives_span()) {
      ranges.push_back({std::string(), 1, span->second - span->first, {}, {}});
      const auto instance = static_cast<uint32_t>(instance_range.size());
      instance_range.push_back(between);
      edges.push_back({span->first, true, instance});
      edges.push_back({span->second, false, instance});
    }
    std::sort(edges.begin(), edges.end(), [](const RangeEdge& a, const RangeEdge& b) { return a.time < b.time; });

    std::vector<uint32_t> active;        // owners of running activities
    std::vector<uint32_t> active_ranges; // range accumulators of open instances
    // The sweep meets the gaps in the order find_gaps found them: a new gap begins wherever an
    // idle segment follows a busy one (or starts the run).
    std::size_t gaps_met = 0;
    bool in_gap = false;
    IdleCause cause = IdleCause::teardown;
    uint64_t now = 0;
    const uint64_t wall = run_.timeline.wall_ns;

    auto advance = [&](uint64_t to) {
      if (to <= now) return;
      const uint64_t length = to - now;
      if (active.empty()) {
        if (!in_gap) cause = gaps_met < gap_causes_.size() ? gap_causes_[gaps_met++] : IdleCause::teardown;
        in_gap = true;
        for (auto r : active_ranges) ranges[r].idle_ns[static_cast<std::size_t>(cause)] += length;
      } else {
        const uint64_t n = active.size();
        const uint64_t share = length / n;
        const uint64_t remainder = length % n;
        const bool kernel_running =
            std::any_of(active.begin(), active.end(), [&](uint32_t owner) { return owner < kernel_groups; });
        for (uint64_t i = 0; i < n; ++i) {
          const uint64_t part = share + (i < remainder ? 1 : 0);
          owner_ns[active[i]] += part;
          if (!kernel_running) alone_ns[active[i] - kernel_groups] += part;
          for (auto r : active_ranges) ranges[r].owner_ns[active[i]] += part;
        }
        in_gap = false;
      }
      now = to;
    };

    // Activities come in order of start (activities_ is sorted); the ends of those running wait
    // in a min-heap. Every boundary at one instant is applied before time moves on.
    using End = std::pair<uint64_t, uint32_t>; // (end, owner)
    std::priority_queue<End, std::vector<End>, std::greater<>> running;
    std::size_t next_activity = 0;
    std::size_t next_edge = 0;
    for (;;) {
      uint64_t t = UINT64_MAX;
      if (next_activity < activities_.size()) t = std::min(t, activities_[next_activity].start);
      if (!running.empty()) t = std::min(t, running.top().first);
      if (next_edge < edges.size()) t = std::min(t, edges[next_edge].time);
      if (t == UINT64_MAX) break;
      advance(t);
      while (!running.empty() && running.top().first == t) {
        auto it = std::find(active.begin(), active.end(), running.top().second);
        if (it != active.end()) active.erase(it);
        running.pop();
      }
      for (; next_activity < activities_.size() && activities_[next_activity].start == t; ++next_activity) {
        active.push_back(activities_[next_activity].owner);
        running.emplace(activities_[next_activity].end, activities_[next_activity].owner);
      }
      for (; next_edge < edges.size() && edges[next_edge].time == t; ++next_edge) {
        const uint32_t range = instance_range[edges[next_edge].instance];
        if (edges[next_edge].start) {
          active_ranges.push_back(range);
        } else if (auto it = std::find(active_ranges.begin(), active_ranges.end(), range); it != active_ranges.end()) {
          active_ranges.erase(it);
        }
      }
    }
    advance(wall);

    for (std::size_t i = 0; i < kernel_groups; ++i) run_.kernels[i].attributed_ns = owner_ns[i];
    for (std::size_t i = 0; i < run_.transfers.size(); ++i) {
      run_.transfers[i].attributed_ns = owner_ns[kernel_groups + i];
      run_.transfers[i].alone_ns = alone_ns[i];
    }

    for (std::size_t i = 0; i < ranges.size(); ++i) {
      auto& acc = ranges[i];
      RangeSummary r;
      r.name = std::move(acc.name);
      r.instances = acc.instances;
      r.total_ns = acc.total_ns;
      r.idle_ns = acc.idle_ns;
      for (const auto& [owner, ns] : acc.owner_ns) {
        if (owner < kernel_groups)
          r.kernel_ns.emplace_back(owner, ns);
        else
          r.transfer_ns.emplace_back(static_cast<uint32_t>(owner - kernel_groups), ns);
      }
      if (i == between)
        run_.between_collectives = std::move(r);
      else
        run_.ranges.push_back(std::move(r));
    }
  }

  // From the end of the communication kernel that ends first to the end of the one that ends
  // last; none unless they differ.
  std::optional<std::pair<uint64_t, uint64_t>> collectives_span() const {
    std::optional<std::pair<uint64_t, uint64_t>> span;
    for (const auto& a : activities_) {
      if (a.owner >= run_.kernels.size() || !is_communication_kernel(run_.kernels[a.owner].symbol)) continue;
      if (!span)
        span.emplace(a.end, a.end);
      else
        span = std::pair(std::min(span->first, a.end), std::max(span->second, a.end));
    }
    if (span && span->first == span->second) span.reset();
    return span;
  }

  // Consecutive kernels of one stream: the pairs that fusion could merge.
  // Consecutive launches of one stream, in launch order (correlation ids grow with every
  // launch of a process, and a stream runs its launches in order), and how many of them the
  // collector saw pass data along (DataflowLink).
  void count_successions() {
    std::unordered_map<uint64_t, uint32_t> previous_of;
    for (const auto& link : trace_.dataflow)
      previous_of.emplace(correlation_key(link.process, link.correlation_id), link.previous_correlation_id);
    run_.collection.dataflow = trace_.dataflow_compared || !trace_.dataflow.empty();
    std::vector<uint32_t> order(trace_.kernels.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
    auto stream_key = [&](const KernelEvent& k) { return std::tuple(k.process, k.context_id, k.stream_id); };
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      const auto& ka = trace_.kernels[a];
      const auto& kb = trace_.kernels[b];
      return std::tuple(stream_key(ka), ka.correlation_id) < std::tuple(stream_key(kb), kb.correlation_id);
    });
    std::map<std::pair<uint32_t, uint32_t>, std::pair<uint64_t, uint64_t>> pairs; // (count, linked)
    for (std::size_t i = 1; i < order.size(); ++i) {
      const auto& a = trace_.kernels[order[i - 1]];
      const auto& b = trace_.kernels[order[i]];
      if (stream_key(a) != stream_key(b)) continue;
      auto& [count, linked] = pairs[{kernel_group_of_[order[i - 1]], kernel_group_of_[order[i]]}];
      ++count;
      if (auto it = previous_of.find(correlation_key(b.process, b.correlation_id));
          it != previous_of.end() && it->second == a.correlation_id)
        ++linked;
    }
    for (const auto& [key, counts] : pairs)
      run_.successions.push_back({key.first, key.second, counts.first, counts.second});
    std::sort(run_.successions.begin(), run_.successions.end(), [](const Succession& a, const Succession& b) {
      return a.count != b.count ? a.count > b.count : std::pair(a.from, a.to) < std::pair(b.from, b.to);
    });
    if (run_.successions.size() > limits_.successions) run_.successions.resize(limits_.successions);
  }

  // Counter samples become per-group means; groups without samples say why.
  void attach_counters() {
    // Only the launches that have counter records are looked up.
    std::unordered_map<uint64_t, uint32_t> group_of_launch;
    for (const auto& sample : trace_.counters)
      group_of_launch.emplace(correlation_key(sample.process, sample.correlation_id), UINT32_MAX);
    for (const auto& gap : trace_.counter_gaps)
      group_of_launch.emplace(correlation_key(gap.process, gap.correlation_id), UINT32_MAX);
    for (std::size_t i = 0; i < trace_.kernels.size() && !group_of_launch.empty(); ++i)
      if (auto it = group_of_launch.find(correlation_key(trace_.kernels[i].process, trace_.kernels[i].correlation_id));
          it != group_of_launch.end())
        it->second = kernel_group_of_[i];
    std::vector<KernelCounters> sums(run_.kernels.size());
    std::vector<std::pair<std::string_view, double>> values;
    for (const auto& sample : trace_.counters) {
      auto it = group_of_launch.find(correlation_key(sample.process, sample.correlation_id));
      if (it == group_of_launch.end() || it->second == UINT32_MAX) continue;
      values.clear();
      for (const auto& [metric, value] : sample.values) values.emplace_back(trace_.str(metric), value);
      LaunchCounters launch;
      if (!derive_launch_counters(values, launch)) continue;
      auto& s = sums[it->second];
      s.measured_launches++;
      s.flops_per_launch += launch.flops;
      s.dram_read_bytes_per_launch += launch.dram_read_bytes;
      s.dram_write_bytes_per_launch += launch.dram_write_bytes;
      s.l2_bytes_per_launch += launch.l2_bytes;
      s.counter_pass_ns_per_launch += launch.duration_ns;
    }
    for (const auto& gap : trace_.counter_gaps) {
      auto it = group_of_launch.find(correlation_key(gap.process, gap.correlation_id));
      if (it != group_of_launch.end() && it->second != UINT32_MAX &&
          run_.kernels[it->second].counters_missing_reason.empty())
        run_.kernels[it->second].counters_missing_reason = trace_.str(gap.reason);
    }
    for (std::size_t gi = 0; gi < run_.kernels.size(); ++gi) {
      auto& g = run_.kernels[gi];
      auto& s = sums[gi];
      if (s.measured_launches == 0) {
        if (!g.counters_missing_reason.empty()) continue;
        if (run_.collection.counters_mode == "off")
          g.counters_missing_reason = "counters were off for this run";
        else if (g.graph_launches == g.launches)
          g.counters_missing_reason = "launched only from CUDA graphs, which the range profiler does not see into";
        else
          g.counters_missing_reason = "no launch of this kernel was sampled";
        continue;
      }
      const double n = static_cast<double>(s.measured_launches);
      s.flops_per_launch = s.flops_per_launch.scaled(1 / n);
      s.dram_read_bytes_per_launch /= n;
      s.dram_write_bytes_per_launch /= n;
      s.l2_bytes_per_launch /= n;
      s.counter_pass_ns_per_launch /= n;
      g.counters = s;
      g.counters_missing_reason.clear();
    }
  }

  // Kernel groups in the report are ordered by the time they took, largest first.
  void order_groups() {
    const auto n = run_.kernels.size();
    std::vector<uint32_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return run_.kernels[a].total_ns > run_.kernels[b].total_ns; });
    std::vector<uint32_t> new_index(n);
    std::vector<KernelGroup> sorted;
    sorted.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      new_index[order[i]] = static_cast<uint32_t>(i);
      sorted.push_back(std::move(run_.kernels[order[i]]));
    }
    run_.kernels = std::move(sorted);
    if (detail_)
      for (auto& a : activities_)
        if (a.owner < n) a.owner = new_index[a.owner];
    for (auto& s : run_.successions) {
      s.from = new_index[s.from];
      s.to = new_index[s.to];
    }
    auto renumber = [&](RangeSummary& r) {
      for (auto& [index, ns] : r.kernel_ns) index = new_index[index];
      std::sort(r.kernel_ns.begin(), r.kernel_ns.end());
      std::sort(r.transfer_ns.begin(), r.transfer_ns.end());
    };
    for (auto& r : run_.ranges) renumber(r);
    if (run_.between_collectives) renumber(*run_.between_collectives);
  }

  void describe_processes_and_gpus() {
    for (std::size_t p = 0; p < trace_.processes.size(); ++p) {
      const auto& t = trace_.processes[p];
      ProcessSummary s;
      s.pid = t.pid;
      s.parent_pid = t.parent_pid;
      s.command = t.command;
      s.complete = t.stream_complete;
      s.problem = t.stream_problem;
      s.dropped_records = t.dropped_records;
      s.warnings = t.warnings;
      s.rank = t.rank;
      run_.processes.push_back(std::move(s));
      run_.collection.dropped_records += t.dropped_records;
      if (!t.stream_complete)
        run_.info.incomplete_reasons.push_back(
            "process " + std::to_string(t.pid) + ": " +
            (t.stream_problem.empty() ? "its record stream ended early" : t.stream_problem));
      if (t.dropped_records)
        run_.info.incomplete_reasons.push_back("process " + std::to_string(t.pid) + ": CUPTI dropped " +
                                               std::to_string(t.dropped_records) + " records");
    }
    for (const auto& k : trace_.kernels)
      if (k.process < run_.processes.size()) run_.processes[k.process].kernel_launches++;
    uint64_t untimed_launches = 0;
    for (const auto& g : run_.kernels) untimed_launches += g.untimed_launches;
    if (untimed_launches > 0)
      run_.info.incomplete_reasons.push_back(std::to_string(untimed_launches) +
                                             " kernel launches have no timing (the process ended with them queued)");
    for (const auto& c : trace_.copies)
      if (c.process < run_.processes.size()) run_.processes[c.process].copies++;
    if (!run_.info.incomplete_reasons.empty()) run_.info.complete = false;

    for (const auto& d : trace_.devices) {
      GpuInfo g;
      g.id = d.id;
      g.name = d.name;
      g.uuid = d.uuid;
      g.compute_capability =
          std::to_string(d.compute_capability_major) + "." + std::to_string(d.compute_capability_minor);
      g.sm_count = d.sm_count;
      g.sm_clock_mhz = static_cast<uint32_t>(d.sm_clock_khz / 1000);
      g.memory_bytes = d.memory_bytes;
      g.l2_bytes = d.l2_bytes;
      g.mig = d.mig;
      run_.gpus.push_back(std::move(g));
    }
  }

  struct GapEvidence {
    std::array<std::vector<uint64_t>, all_idle_causes.size()> gap_ns;
    // Evidence of short gaps, kept as 32-bit nanoseconds (up to 4.3 s; longer values saturate)
    // so that a million launch gaps cost 4 MB a figure.
    std::vector<uint32_t> launch_call;
    std::vector<uint32_t> launch_host_lag;
    std::vector<uint32_t> launch_queue_wait;
    std::vector<uint32_t> sync_refill;
    uint64_t copy_pageable = 0;
  };

  const Trace& trace_;
  const LaunchFacts& launch_;
  const GapLimits& limits_;
  TimelineDetail* detail_;
  KernelTimes times_;
  RunClock clock_;
  Run run_;
  std::vector<uint32_t> kernel_group_of_;
  std::vector<uint32_t> copy_group_of_;
  std::vector<uint32_t> set_group_of_;
  std::vector<std::vector<uint64_t>> durations_;
  std::map<TransferKey, uint32_t> transfer_index_;
  std::vector<Activity> activities_;
  std::vector<IdleCause> gap_causes_;
  std::vector<LongGap> longest_;
  std::vector<std::pair<uint64_t, uint64_t>> syncs_; // (end, start) offsets, by end
  std::size_t sync_cursor_ = 0;
  std::vector<uint32_t> api_order_;
  GapEvidence evidence_;
};

} // namespace

Run build_run(const Trace& trace, const LaunchFacts& launch, const GapLimits& limits, TimelineDetail* detail) {
  if (detail) *detail = {};
  return Builder(trace, launch, limits, detail).build();
}

} // namespace brrr
