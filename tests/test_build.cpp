// build_run: trace → run. Hand-computed cases for the sweep (every nanosecond of the wall
// time goes to exactly one kernel group, transfer group or idle cause), the gap classifier,
// the tool-time cuts, NVTX ranges, successions and counters; then a property test over
// random traces that checks the exact sums.

#include <doctest/doctest.h>

#include "trace_builder.hpp"

#include "analyse/analysis.hpp"
#include "model/build.hpp"
#include "model/counters.hpp"
#include "model/format.hpp"

#include <algorithm>
#include <array>
#include <random>

namespace {

using namespace brrr;
using namespace brrr::testing;

uint64_t range_kernel_ns(const Run& run, const RangeSummary& r, const std::string& kernel) {
  std::size_t index = 0;
  REQUIRE(find_kernel(run, kernel, &index));
  for (const auto& [i, ns] : r.kernel_ns)
    if (i == index) return ns;
  return 0;
}

uint64_t range_idle_ns(const RangeSummary& r, IdleCause c) { return r.idle_ns[static_cast<std::size_t>(c)]; }

} // namespace

TEST_CASE("build: a single kernel, with startup before it and teardown after it") {
  TraceBuilder b(1000);
  b.process(42, 50);
  b.kernel("k", 100, 400);
  const Run run = b.build();

  CHECK(run.timeline.wall_ns == 1000);
  CHECK(run.timeline.gpu_begin_ns == 100);
  CHECK(run.timeline.gpu_end_ns == 400);
  REQUIRE(run.kernels.size() == 1);
  const auto& k = run.kernels[0];
  CHECK(k.name == "k");
  CHECK(k.launches == 1);
  CHECK(k.total_ns == 300);
  CHECK(k.min_ns == 300);
  CHECK(k.median_ns == 300);
  CHECK(k.max_ns == 300);
  CHECK(k.attributed_ns == 300);
  CHECK(k.first_start_ns == 100);
  CHECK(run.idle_ns(IdleCause::startup) == 100);
  CHECK(run.idle_ns(IdleCause::teardown) == 600);
  CHECK(run.idle.size() == 2);
  CHECK(attributed_sum(run) == 1000);

  const IdleSummary* startup = find_idle(run, IdleCause::startup);
  REQUIRE(startup);
  CHECK(startup->gaps == 1);
  CHECK(evidence(startup->evidence, "cuda_initialized_at_ns") == 50.0);
  CHECK(evidence(startup->evidence, "first_gpu_activity_at_ns") == 100.0);

  REQUIRE(run.largest_gaps.size() == 2);
  CHECK(run.largest_gaps[0] == IdleGap{400, 600, IdleCause::teardown});
  CHECK(run.largest_gaps[1] == IdleGap{0, 100, IdleCause::startup});

  REQUIRE(run.processes.size() == 1);
  CHECK(run.processes[0].pid == 42);
  CHECK(run.processes[0].kernel_launches == 1);
  CHECK(run.info.complete);
  CHECK(run.collection.kernel_records == 1);
}

TEST_CASE("build: two overlapping kernels on two streams split the overlap evenly, to the nanosecond") {
  SUBCASE("even overlap") {
    TraceBuilder b(150);
    b.kernel("a", 0, 100, {.stream = 0});
    b.kernel("b", 50, 150, {.stream = 1});
    const Run run = b.build();
    CHECK(find_kernel(run, "a")->attributed_ns == 75);
    CHECK(find_kernel(run, "b")->attributed_ns == 75);
    CHECK(run.idle.empty());
    CHECK(attributed_sum(run) == 150);
  }
  SUBCASE("an odd overlap: the remainder nanosecond goes to one of them, none is lost") {
    TraceBuilder b(151);
    b.kernel("a", 0, 101, {.stream = 0});
    b.kernel("b", 50, 151, {.stream = 1});
    const Run run = b.build();
    const uint64_t a = find_kernel(run, "a")->attributed_ns;
    const uint64_t bb = find_kernel(run, "b")->attributed_ns;
    // a alone 50, together 51 (25 each + 1), b alone 50.
    CHECK(a + bb == 151);
    CHECK(std::min(a, bb) == 75);
    CHECK(std::max(a, bb) == 76);
    CHECK(attributed_sum(run) == 151);
  }
  SUBCASE("three at once over 100 ns: 34 + 33 + 33") {
    TraceBuilder b(100);
    b.kernel("a", 0, 100, {.stream = 0});
    b.kernel("b", 0, 100, {.stream = 1});
    b.kernel("c", 0, 100, {.stream = 2});
    const Run run = b.build();
    std::vector<uint64_t> shares;
    for (const auto& k : run.kernels) shares.push_back(k.attributed_ns);
    std::sort(shares.begin(), shares.end());
    CHECK(shares == std::vector<uint64_t>{33, 33, 34});
  }
}

TEST_CASE("build: a kernel overlapping a copy shares the overlap with it") {
  TraceBuilder b(200);
  b.kernel("k", 0, 100);
  b.copy(40, 160, 1000, {.stream = 1});
  const Run run = b.build();
  // k alone 40, both 60 (30 each), the copy alone 60, teardown 40.
  CHECK(find_kernel(run, "k")->attributed_ns == 70);
  REQUIRE(run.transfers.size() == 1);
  const auto& t = run.transfers[0];
  CHECK(t.attributed_ns == 90);
  CHECK(t.alone_ns == 60); // from 100 to 160 no kernel ran beside it
  CHECK(t.total_ns == 120);
  CHECK(t.count == 1);
  CHECK(t.bytes == 1000);
  CHECK(t.kind == TransferKind::host_to_device);
  CHECK(t.source == MemoryKind::pinned);
  CHECK(t.destination == MemoryKind::device);
  CHECK(t.async);
  CHECK(run.idle_ns(IdleCause::teardown) == 40);
  CHECK(run.timeline.gpu_end_ns == 160);
  CHECK(attributed_sum(run) == 200);
}

TEST_CASE("build: sets and copies group by kind, memory kinds and synchrony") {
  TraceBuilder b(1000);
  b.copy(0, 10, 100, {.kind = CopyKind::host_to_device, .source = MemoryKind::pageable, .async = false});
  b.copy(20, 30, 200, {.kind = CopyKind::host_to_device, .source = MemoryKind::pageable, .async = false});
  b.copy(40, 50, 300, {.kind = CopyKind::host_to_device, .source = MemoryKind::pinned, .async = true});
  b.copy(60, 70, 400, {.kind = CopyKind::device_to_device, .source = MemoryKind::device});
  b.set(80, 95, 500);
  const Run run = b.build();
  REQUIRE(run.transfers.size() == 4);
  CHECK(run.transfers[0].count == 2);
  CHECK(run.transfers[0].bytes == 300);
  CHECK(run.transfers[0].total_ns == 20);
  CHECK(run.transfers[0].source == MemoryKind::pageable);
  CHECK_FALSE(run.transfers[0].async);
  CHECK(run.transfers[1].bytes == 300);
  CHECK(run.transfers[2].kind == TransferKind::device_to_device);
  CHECK(run.transfers[3].kind == TransferKind::memset);
  CHECK(run.transfers[3].total_ns == 15);
  CHECK(run.transfers[3].destination == MemoryKind::device);
}

TEST_CASE("build: kernels group by name, grid and block") {
  TraceBuilder b(1000);
  b.kernel("k", 0, 10, {.grid = {1, 1, 1}});
  b.kernel("k", 20, 30, {.grid = {2, 1, 1}});
  b.kernel("k", 40, 50, {.grid = {1, 1, 1}});
  b.kernel("k", 60, 70, {.block = {128, 1, 1}});
  b.kernel("other", 80, 90, {.grid = {1, 1, 1}});
  const Run run = b.build();
  REQUIRE(run.kernels.size() == 4);
  uint64_t launches = 0;
  int k_groups = 0;
  for (const auto& k : run.kernels) {
    launches += k.launches;
    if (k.name != "k") continue;
    ++k_groups;
    if (k.grid == Dim3{1, 1, 1} && k.block == Dim3{256, 1, 1}) {
      CHECK(k.launches == 2);
      CHECK(k.first_start_ns == 0);
    } else {
      CHECK(k.launches == 1);
    }
  }
  CHECK(k_groups == 3);
  CHECK(launches == 5);
  CHECK(run.kernel_launches() == 5);
  // Groups are ordered by total time, largest first.
  CHECK(run.kernels[0].total_ns == 20);
}

TEST_CASE("build: min, median and max of a group's durations") {
  SUBCASE("an even count takes the lower middle") {
    TraceBuilder b(1000);
    b.kernel("k", 0, 10);
    b.kernel("k", 100, 150);
    b.kernel("k", 200, 220);
    b.kernel("k", 300, 330);
    const Run run = b.build();
    const auto& k = run.kernels.at(0);
    CHECK(k.min_ns == 10);
    CHECK(k.median_ns == 20);
    CHECK(k.max_ns == 50);
    CHECK(k.total_ns == 110);
    CHECK(k.launches == 4);
  }
  SUBCASE("an odd count") {
    TraceBuilder b(1000);
    for (int64_t d : {10, 50, 20, 30, 40}) b.kernel("k", d * 10, d * 10 + d);
    const Run run = b.build();
    CHECK(run.kernels.at(0).median_ns == 30);
    CHECK(run.kernels.at(0).total_ns == 150);
  }
}

TEST_CASE("build: kernel symbols are demangled; the symbol is kept") {
  CHECK(demangle("_Z6kernelPfi") == "kernel(float*, int)");
  CHECK(demangle("cos_kernel") == "cos_kernel");
  CHECK(demangle("") == "");
  // Bare type codes are not mangled names: an extern "C" kernel may be called "i" or "f".
  CHECK(demangle("i") == "i");
  CHECK(demangle("a") == "a");
  CHECK(demangle("Ss") == "Ss");
  TraceBuilder b(100);
  b.kernel("_Z6kernelPfi", 0, 10);
  const Run run = b.build();
  CHECK(run.kernels.at(0).name == "kernel(float*, int)");
  CHECK(run.kernels.at(0).symbol == "_Z6kernelPfi");
}

TEST_CASE("build: gap causes") {
  SUBCASE("a short gap ended by a launch called after the GPU went idle is launch overhead") {
    TraceBuilder b(300);
    b.kernel("a", 10, 100);
    b.launch("b", 110, 140, 150, 200, {.queued = 145});
    const Run run = b.build();
    const IdleSummary* s = find_idle(run, IdleCause::launch);
    REQUIRE(s);
    CHECK(s->gaps == 1);
    CHECK(s->total_ns == 50);
    CHECK(s->median_ns == 50);
    CHECK(s->max_ns == 50);
    CHECK(evidence(s->evidence, "median_launch_call_ns") == 30.0);
    CHECK(evidence(s->evidence, "median_idle_to_launch_call_ns") == 10.0);
    CHECK(evidence(s->evidence, "median_queued_to_start_ns") == 5.0);
    CHECK(run.idle_ns(IdleCause::startup) == 10);
    CHECK(run.idle_ns(IdleCause::teardown) == 100);
  }
  SUBCASE("the launch limit is inclusive: 100 µs is launch, 100 µs + 1 ns is host") {
    for (int64_t gap : {100'000, 100'001}) {
      CAPTURE(gap);
      TraceBuilder b(gap + 1000);
      b.kernel("a", 0, 100);
      b.launch("b", 120, 140, 100 + gap, 200 + gap);
      const Run run = b.build();
      CHECK(run.idle_ns(gap <= 100'000 ? IdleCause::launch : IdleCause::host) == static_cast<uint64_t>(gap));
    }
  }
  SUBCASE("a long gap is host work") {
    TraceBuilder b(300'000);
    b.kernel("a", 0, 100);
    b.launch("b", 150'000, 150'010, 200'100, 200'200);
    const Run run = b.build();
    CHECK(run.idle_ns(IdleCause::host) == 200'000);
    CHECK(find_idle(run, IdleCause::host)->gaps == 1);
    CHECK(run.idle_ns(IdleCause::launch) == 0);
  }
  SUBCASE("a gap after a sync that began before it and returned inside it is sync") {
    TraceBuilder b(300);
    b.kernel("a", 0, 100);
    b.sync(50, 120);
    b.launch("b", 122, 128, 130, 200);
    const Run run = b.build();
    const IdleSummary* s = find_idle(run, IdleCause::sync);
    REQUIRE(s);
    CHECK(s->total_ns == 30);
    CHECK(evidence(s->evidence, "median_sync_return_to_next_work_ns") == 10.0);
    CHECK(run.idle_ns(IdleCause::launch) == 0);
  }
  SUBCASE("a sync that returned within the clock slack before the GPU went idle still counts") {
    TraceBuilder b(20'000);
    b.kernel("a", 0, 10'000);
    b.sync(500, 9'000);
    b.kernel("b", 10'050, 10'100);
    const Run run = b.build();
    CHECK(run.idle_ns(IdleCause::sync) == 50);
    CHECK(evidence(find_idle(run, IdleCause::sync)->evidence, "median_sync_return_to_next_work_ns") == 50.0);
  }
  SUBCASE("a sync that returned long before the gap, or began inside it, is not the cause") {
    TraceBuilder b(20'000);
    b.kernel("a", 0, 10'000);
    b.sync(500, 4'000);     // returned 6 µs before the GPU went idle
    b.sync(10'010, 10'020); // began after the GPU went idle
    b.kernel("b", 10'050, 10'100);
    const Run run = b.build();
    CHECK(run.idle_ns(IdleCause::sync) == 0);
    CHECK(run.idle_ns(IdleCause::launch) == 50);
  }
  SUBCASE("a synchronous device-to-host copy followed by a gap is sync") {
    TraceBuilder b(300);
    const uint32_t c = b.copy(0, 100, 1 << 20,
                              {.kind = CopyKind::device_to_host,
                               .source = MemoryKind::device,
                               .destination = MemoryKind::pageable,
                               .async = false});
    b.api(c, 0, 105, ApiKind::memcpy);
    b.kernel("k", 150, 200);
    const Run run = b.build();
    CHECK(run.idle_ns(IdleCause::sync) == 50);
    CHECK(evidence(find_idle(run, IdleCause::sync)->evidence, "median_sync_return_to_next_work_ns") == 45.0);
  }
  SUBCASE("the same copy, asynchronous, is not a sync") {
    TraceBuilder b(300);
    const uint32_t c = b.copy(0, 100, 1 << 20,
                              {.kind = CopyKind::device_to_host,
                               .source = MemoryKind::device,
                               .destination = MemoryKind::pinned,
                               .async = true});
    b.api(c, 0, 5, ApiKind::memcpy);
    b.kernel("k", 150, 200);
    const Run run = b.build();
    CHECK(run.idle_ns(IdleCause::sync) == 0);
    CHECK(run.idle_ns(IdleCause::launch) == 50);
  }
  SUBCASE("a gap ended by a copy whose call began before the gap is copy staging") {
    TraceBuilder b(400);
    b.kernel("a", 0, 100);
    const uint32_t c =
        b.copy(150, 300, 1 << 20, {.kind = CopyKind::host_to_device, .source = MemoryKind::pageable, .async = false});
    b.api(c, 90, 310, ApiKind::memcpy);
    const Run run = b.build();
    const IdleSummary* s = find_idle(run, IdleCause::copy);
    REQUIRE(s);
    CHECK(s->total_ns == 50);
    CHECK(evidence(s->evidence, "gaps_before_pageable_copies") == 1.0);
  }
  SUBCASE("a copy whose call began after the GPU went idle is not copy staging") {
    TraceBuilder b(400);
    b.kernel("a", 0, 100);
    const uint32_t c =
        b.copy(150, 300, 1 << 20, {.kind = CopyKind::host_to_device, .source = MemoryKind::pageable, .async = false});
    b.api(c, 120, 310, ApiKind::memcpy);
    const Run run = b.build();
    CHECK(run.idle_ns(IdleCause::copy) == 0);
    CHECK(run.idle_ns(IdleCause::launch) == 50);
  }
  SUBCASE("no GPU activity: the whole run is one idle gap") {
    TraceBuilder b(5000);
    const Run run = b.build();
    CHECK(run.timeline.gpu_begin_ns == run.timeline.gpu_end_ns);
    CHECK(attributed_sum(run) == 5000);
    CHECK(run.idle.size() == 1);
  }
}

TEST_CASE("build: tool (replay) intervals are cut out of the timeline") {
  SUBCASE("the wall shrinks by the cut, later events shift back") {
    TraceBuilder b(1000);
    b.kernel("a", 0, 100);
    b.kernel("b", 600, 700);
    const Run before = b.build();
    CHECK(before.timeline.wall_ns == 1000);
    b.tool(200, 500);
    const Run run = b.build();
    CHECK(run.timeline.wall_ns == 700);
    CHECK(run.collection.tool_ns == 300);
    CHECK(find_kernel(run, "b")->first_start_ns == 300);
    CHECK(find_kernel(run, "b")->total_ns == 100);
    CHECK(run.timeline.gpu_end_ns == 400);
    CHECK(run.idle_ns(IdleCause::launch) == 200);
    CHECK(run.idle_ns(IdleCause::teardown) == 300);
    CHECK(attributed_sum(run) == 700);
  }
  SUBCASE("the GPU's work during a cut stays: only the time it was idle is cut") {
    // A kernel running through the whole hold would have run as long without brrr.
    TraceBuilder b(1000);
    b.kernel("k", 150, 600);
    b.tool(200, 500);
    Run run = b.build();
    CHECK(run.kernels.at(0).total_ns == 450);
    CHECK(run.collection.tool_ns == 0);
    CHECK(run.timeline.wall_ns == 1000);
    // A copy finishing inside the hold (queued before a sampled launch, which waited for it)
    // keeps its 50 ns; the rest of the hold is cut.
    TraceBuilder c(1000);
    c.kernel("a", 0, 100);
    c.copy(250, 300, 4096);
    c.kernel("b", 600, 700);
    c.tool(200, 500);
    run = c.build();
    CHECK(run.collection.tool_ns == 250);
    CHECK(run.timeline.wall_ns == 750);
    REQUIRE(run.transfers.size() == 1);
    CHECK(run.transfers.at(0).total_ns == 50);
    CHECK(find_kernel(run, "b")->first_start_ns == 350);
    CHECK(attributed_sum(run) == 750);
  }
  SUBCASE("overlapping cuts are not subtracted twice") {
    TraceBuilder b(1000);
    b.kernel("k", 0, 100);
    b.tool(200, 400);
    b.tool(300, 500);
    b.tool(450, 450); // empty
    const Run run = b.build();
    CHECK(run.timeline.wall_ns == 700);
    CHECK(run.collection.tool_ns == 300);
  }
  SUBCASE("a cut that began before the target started counts only from the start") {
    TraceBuilder b(1000);
    b.kernel("k", 100, 200);
    b.tool(-100, 50);
    const Run run = b.build();
    CHECK(run.timeline.wall_ns == 950);
    CHECK(run.collection.tool_ns == 50);
    CHECK(run.kernels.at(0).first_start_ns == 50);
    CHECK(run.idle_ns(IdleCause::startup) == 50);
    CHECK(attributed_sum(run) == 950);
  }
  SUBCASE("a cut that lasts past the end counts only up to the end") {
    TraceBuilder b(1000);
    b.kernel("k", 100, 200);
    b.tool(900, 1100);
    b.tool(2000, 3000); // wholly after the run
    const Run run = b.build();
    CHECK(run.timeline.wall_ns == 900);
    CHECK(run.collection.tool_ns == 100);
  }
}

TEST_CASE("build: a launch replayed for counters keeps the time its counter pass measured") {
  // CUPTI gives a replayed launch no timestamps; brrr held the program up from 200 to 500.
  TraceBuilder b(1000);
  b.kernel("a", 0, 100);
  const uint32_t replayed = b.kernel("k", 0, 0);
  b.trace.kernels.back().start_ns = 0;
  b.trace.kernels.back().end_ns = 0;
  b.trace.tool_events.push_back({b.at(200), b.at(500), replayed, 0});
  b.counters(replayed, "k",
             {{"dram__bytes_read.sum", 1e6}, {"dram__bytes_write.sum", 1e6}, {"gpu__time_duration.sum", 120}});
  b.kernel("b", 600, 700);
  const Run run = b.build();
  const KernelGroup* k = find_kernel(run, "k");
  REQUIRE(k != nullptr);
  CHECK(k->untimed_launches == 0);
  CHECK(k->total_ns == 120);
  CHECK(k->first_start_ns == 200);
  REQUIRE(k->counters.has_value());
  // The 300 ns held up, less the kernel's own 120 ns, are cut.
  CHECK(run.collection.tool_ns == 180);
  CHECK(run.timeline.wall_ns == 820);
  CHECK(run.info.complete);
  CHECK(attributed_sum(run) == 820);
}

TEST_CASE("build: GPU activity after the launcher's end extends the run") {
  TraceBuilder b(1000);
  b.kernel("orphan", 900, 1500);
  const Run run = b.build();
  CHECK(run.timeline.wall_ns == 1500);
  CHECK(run.kernels.at(0).total_ns == 600);
  CHECK(attributed_sum(run) == 1500);
}

TEST_CASE("build: events before the start are clamped to it") {
  TraceBuilder b(1000);
  b.kernel("early", -500, 100);
  const Run run = b.build();
  CHECK(run.kernels.at(0).total_ns == 100);
  CHECK(run.kernels.at(0).first_start_ns == 0);
  CHECK(run.timeline.gpu_begin_ns == 0);
  CHECK(run.idle_ns(IdleCause::startup) == 0);
  CHECK(attributed_sum(run) == 1000);
}

TEST_CASE("build: NVTX ranges collect their own time, which sums to their duration") {
  TraceBuilder b(1000);
  b.kernel("k1", 100, 300);
  b.launch("k2", 310, 320, 600, 700);
  b.range("outer", 0, 1000);
  b.range("inner", 200, 400); // nested in outer
  b.range("idle", 350, 550);  // only idle time
  b.range("step", 100, 300);  // two instances of one name
  b.range("step", 600, 700);
  b.range("a", 0, 250); // a and b overlap without nesting
  b.range("b", 150, 650);
  b.range("backwards", 500, 400);
  const Run run = b.build();
  REQUIRE(run.ranges.size() == 7);
  for (const auto& r : run.ranges) {
    CAPTURE(r.name);
    CHECK(range_parts_sum(r) == r.total_ns);
  }

  const auto* outer = find_range(run, "outer");
  REQUIRE(outer);
  CHECK(outer->total_ns == 1000);
  CHECK(outer->instances == 1);
  CHECK(range_kernel_ns(run, *outer, "k1") == 200);
  CHECK(range_kernel_ns(run, *outer, "k2") == 100);
  CHECK(range_idle_ns(*outer, IdleCause::startup) == 100);
  CHECK(range_idle_ns(*outer, IdleCause::launch) == 300);
  CHECK(range_idle_ns(*outer, IdleCause::teardown) == 300);

  const auto* inner = find_range(run, "inner");
  REQUIRE(inner);
  CHECK(inner->total_ns == 200);
  CHECK(range_kernel_ns(run, *inner, "k1") == 100);
  CHECK(range_idle_ns(*inner, IdleCause::launch) == 100);

  const auto* idle = find_range(run, "idle");
  REQUIRE(idle);
  CHECK(idle->kernel_ns.empty());
  CHECK(range_idle_ns(*idle, IdleCause::launch) == 200);

  const auto* step = find_range(run, "step");
  REQUIRE(step);
  CHECK(step->instances == 2);
  CHECK(step->total_ns == 300);
  CHECK(range_kernel_ns(run, *step, "k1") == 200);
  CHECK(range_kernel_ns(run, *step, "k2") == 100);

  const auto* a = find_range(run, "a");
  REQUIRE(a);
  CHECK(a->total_ns == 250);
  CHECK(range_idle_ns(*a, IdleCause::startup) == 100);
  CHECK(range_kernel_ns(run, *a, "k1") == 150);

  const auto* bb = find_range(run, "b");
  REQUIRE(bb);
  CHECK(bb->total_ns == 500);
  CHECK(range_kernel_ns(run, *bb, "k1") == 150);
  CHECK(range_idle_ns(*bb, IdleCause::launch) == 300);
  CHECK(range_kernel_ns(run, *bb, "k2") == 50);

  const auto* backwards = find_range(run, "backwards");
  REQUIRE(backwards);
  CHECK(backwards->instances == 1);
  CHECK(backwards->total_ns == 0);

  // Range kernel indices follow the groups' order (largest first) and are sorted.
  CHECK(run.kernels[0].name == "k1");
  CHECK(outer->kernel_ns == std::vector<std::pair<uint32_t, uint64_t>>{{0, 200}, {1, 100}});
}

TEST_CASE("build: ranges share overlapped time the way the whole run does") {
  TraceBuilder b(100);
  b.kernel("k", 0, 100, {.stream = 0});
  b.copy(0, 100, 10, {.stream = 1});
  b.range("r", 0, 51);
  const Run run = b.build();
  const auto* r = find_range(run, "r");
  REQUIRE(r);
  CHECK(r->total_ns == 51);
  REQUIRE(r->kernel_ns.size() == 1);
  REQUIRE(r->transfer_ns.size() == 1);
  CHECK(r->kernel_ns[0].second + r->transfer_ns[0].second == 51);
  CHECK(r->transfer_ns[0].first == 0);
}

TEST_CASE("build: successions count consecutive kernels of one stream only") {
  TraceBuilder b(1000);
  b.kernel("A", 0, 10, {.stream = 0});
  b.kernel("C", 5, 15, {.stream = 1});
  b.kernel("B", 20, 30, {.stream = 0});
  b.kernel("C", 25, 35, {.stream = 1});
  b.kernel("A", 40, 50, {.stream = 0});
  b.kernel("B", 60, 70, {.stream = 0});
  b.kernel("B", 80, 90, {.stream = 0, .process = 1}); // same stream id, another process
  const Run run = b.build();
  std::size_t a = 0, bi = 0, c = 0;
  REQUIRE(find_kernel(run, "A", &a));
  REQUIRE(find_kernel(run, "B", &bi));
  REQUIRE(find_kernel(run, "C", &c));
  auto count = [&](std::size_t from, std::size_t to) -> uint64_t {
    for (const auto& s : run.successions)
      if (s.from == from && s.to == to) return s.count;
    return 0;
  };
  CHECK(count(a, bi) == 2);
  CHECK(count(bi, a) == 1);
  CHECK(count(c, c) == 1);
  CHECK(count(a, c) == 0);
  CHECK(count(c, bi) == 0);
  CHECK(count(bi, bi) == 0);
  CHECK(run.successions.size() == 3);
  // Most frequent first.
  CHECK(run.successions[0] == Succession{static_cast<uint32_t>(a), static_cast<uint32_t>(bi), 2});
}

TEST_CASE("build: the number of successions kept is limited") {
  TraceBuilder b(10'000);
  for (int i = 0; i < 10; ++i) b.kernel("k" + std::to_string(i), i * 100, i * 100 + 10);
  GapLimits limits;
  limits.successions = 3;
  const Run run = b.build(limits);
  CHECK(run.successions.size() == 3);
}

TEST_CASE("build: counter samples become per-launch means") {
  TraceBuilder b(1000);
  b.facts.collection.counters_mode = "first:2";
  const uint32_t c1 = b.kernel("k", 0, 10);
  const uint32_t c2 = b.kernel("k", 20, 30);
  b.kernel("k", 40, 50);
  b.kernel("unsampled", 60, 70);
  const uint32_t gap = b.kernel("refused", 80, 90);
  const uint32_t partial = b.kernel("partial", 100, 110);
  b.counters(c1, "k",
             {{"sm__sass_thread_inst_executed_op_ffma_pred_on.sum", 100},
              {"sm__ops_path_tensor_src_bf16_dst_fp32.sum", 1000},
              {"dram__bytes_read.sum", 64},
              {"dram__bytes_write.sum", 32},
              {"lts__t_bytes.sum", 500},
              {"gpu__time_duration.sum", 123}});
  b.counters(c2, "k",
             {{"sm__sass_thread_inst_executed_op_ffma_pred_on.sum", 300},
              {"sm__ops_path_tensor_src_bf16_dst_fp32.sum", 3000},
              {"dram__bytes_read.sum", 128},
              {"dram__bytes_write.sum", 96},
              {"lts__t_bytes.sum", 700},
              {"gpu__time_duration.sum", 321}});
  b.counters(9999, "k", {{"dram__bytes_read.sum", 1}, {"dram__bytes_write.sum", 1}}); // no such launch
  b.counter_gap(gap, "refused", "ERR_NVGPUCTRPERM: no permission");
  // Without DRAM metrics a sample does not count.
  b.counters(partial, "partial", {{"sm__sass_thread_inst_executed_op_ffma_pred_on.sum", 5}});
  const Run run = b.build();

  const auto* k = find_kernel(run, "k");
  REQUIRE(k);
  REQUIRE(k->counters);
  CHECK(k->counters_missing_reason.empty());
  CHECK(k->counters->measured_launches == 2);
  CHECK(k->launches == 3);
  CHECK(k->counters->flops_per_launch.get(Precision::fp32, Pipe::cuda_core) == doctest::Approx(400));
  CHECK(k->counters->flops_per_launch.get(Precision::bf16, Pipe::tensor) == doctest::Approx(2000));
  CHECK(k->counters->flops_per_launch.total() == doctest::Approx(2400));
  CHECK(k->counters->dram_read_bytes_per_launch == doctest::Approx(96));
  CHECK(k->counters->dram_write_bytes_per_launch == doctest::Approx(64));
  CHECK(k->counters->l2_bytes_per_launch == doctest::Approx(600));
  CHECK(k->counters->counter_pass_ns_per_launch == doctest::Approx(222));

  CHECK_FALSE(find_kernel(run, "unsampled")->counters);
  CHECK(find_kernel(run, "unsampled")->counters_missing_reason == "no launch of this kernel was sampled");
  CHECK_FALSE(find_kernel(run, "refused")->counters);
  CHECK(find_kernel(run, "refused")->counters_missing_reason == "ERR_NVGPUCTRPERM: no permission");
  CHECK_FALSE(find_kernel(run, "partial")->counters);

  TraceBuilder off(100);
  off.kernel("k", 0, 10);
  CHECK(off.build().kernels.at(0).counters_missing_reason == "counters were off for this run");
}

TEST_CASE("build: every metric of the table is one the collector asks for") {
  const auto metrics = counter_metrics();
  for (const auto& m : flop_metrics()) {
    CAPTURE(m.metric);
    CHECK(std::find(metrics.begin(), metrics.end(), m.metric) != metrics.end());
    CHECK(m.weight > 0);
  }
  CHECK(std::find(metrics.begin(), metrics.end(), "dram__bytes_read.sum") != metrics.end());
  CHECK(std::find(metrics.begin(), metrics.end(), "dram__bytes_write.sum") != metrics.end());
  // A fused multiply-add is two operations.
  LaunchCounters out;
  const std::pair<std::string_view, double> values[] = {{"sm__sass_thread_inst_executed_op_dfma_pred_on.sum", 10},
                                                        {"sm__sass_thread_inst_executed_op_dadd_pred_on.sum", 1},
                                                        {"dram__bytes_read.sum", 8},
                                                        {"dram__bytes_write.sum", 0}};
  CHECK(derive_launch_counters(values, out));
  CHECK(out.flops.get(Precision::fp64, Pipe::cuda_core) == 21);
  CHECK(out.dram_read_bytes == 8);
}

TEST_CASE("build: an incomplete stream or dropped records make the run incomplete") {
  TraceBuilder b(1000);
  b.process(1000, 0, true);
  b.process(1001, 0, false);
  b.trace.processes[0].dropped_records = 7;
  b.kernel("k", 0, 10, {.process = 1});
  const Run run = b.build();
  CHECK_FALSE(run.info.complete);
  REQUIRE(run.info.incomplete_reasons.size() == 2);
  CHECK(run.info.incomplete_reasons[0] == "process 1000: CUPTI dropped 7 records");
  CHECK(run.info.incomplete_reasons[1] == "process 1001: its record stream ended early");
  CHECK(run.collection.dropped_records == 7);
  CHECK(run.processes[1].kernel_launches == 1);
  CHECK(run.processes[0].kernel_launches == 0);
}

TEST_CASE("build: devices become GPU descriptions") {
  TraceBuilder b(100);
  b.device("NVIDIA H100 80GB HBM3", 9, 0, 132);
  const Run run = b.build();
  REQUIRE(run.gpus.size() == 1);
  CHECK(run.gpus[0].name == "NVIDIA H100 80GB HBM3");
  CHECK(run.gpus[0].compute_capability == "9.0");
  CHECK(run.gpus[0].sm_count == 132);
  CHECK(run.gpus[0].sm_clock_mhz == 1980);
}

TEST_CASE("build: property: every nanosecond goes to exactly one part, for random traces") {
  const HardwareProfile profile = small_profile();
  constexpr uint32_t base_seed = 20'240'601;
  // How often each cause and feature came up, so that the generator is known to reach them.
  std::array<int, all_idle_causes.size()> causes_seen{};
  int with_ranges = 0, with_cuts = 0, with_overlap = 0, with_counters = 0, with_communication = 0;
  for (uint32_t i = 0; i < 600; ++i) {
    const uint32_t seed = base_seed + i;
    CAPTURE(seed);
    std::mt19937 rng(seed);
    const TraceBuilder b = random_trace(rng);
    const Run run = b.build();
    const auto& t = run.timeline;

    REQUIRE(attributed_sum(run) == t.wall_ns);
    REQUIRE(t.gpu_begin_ns <= t.gpu_end_ns);
    REQUIRE(t.gpu_end_ns <= t.wall_ns);
    for (const auto& r : run.ranges) {
      CAPTURE(r.name);
      REQUIRE(range_parts_sum(r) == r.total_ns);
    }
    uint64_t launches = 0;
    for (const auto& k : run.kernels) {
      REQUIRE(k.attributed_ns <= k.total_ns);
      REQUIRE(k.min_ns <= k.median_ns);
      REQUIRE(k.median_ns <= k.max_ns);
      launches += k.launches;
    }
    REQUIRE(launches == b.trace.kernels.size());
    for (const auto& tr : run.transfers) {
      REQUIRE(tr.attributed_ns <= tr.total_ns);
      REQUIRE(tr.alone_ns <= tr.attributed_ns);
    }
    for (std::size_t g = 1; g < run.largest_gaps.size(); ++g)
      REQUIRE(run.largest_gaps[g - 1].duration_ns >= run.largest_gaps[g].duration_ns);
    for (const auto& s : run.successions) {
      REQUIRE(s.from < run.kernels.size());
      REQUIRE(s.to < run.kernels.size());
    }

    // The wall plus the cut-out tool time is the run's span: from the start to the later of
    // the launcher's end and the last GPU activity.
    uint64_t end = std::max(b.facts.end_ns, b.facts.start_ns);
    for (const auto& k : b.trace.kernels) end = std::max(end, k.end_ns);
    for (const auto& c : b.trace.copies) end = std::max(end, c.end_ns);
    for (const auto& s : b.trace.sets) end = std::max(end, s.end_ns);
    REQUIRE(t.wall_ns + run.collection.tool_ns == end - b.facts.start_ns);

    for (const auto& idle : run.idle) causes_seen[static_cast<std::size_t>(idle.cause)]++;
    with_ranges += !run.ranges.empty();
    with_cuts += run.collection.tool_ns > 0;
    uint64_t busy = 0;
    for (const auto& k : run.kernels) busy += k.total_ns;
    for (const auto& tr : run.transfers) busy += tr.total_ns;
    with_overlap += busy > t.gpu_end_ns - t.gpu_begin_ns;
    for (const auto& k : run.kernels) with_counters += k.counters.has_value();

    const Analysis a = analyse(run, (i % 3 == 0) ? nullptr : &profile);
    REQUIRE(a.process.sum() == t.wall_ns);
    REQUIRE(a.process.wall_ns == t.wall_ns);
    REQUIRE(a.gpu_active.sum() == t.gpu_end_ns - t.gpu_begin_ns);
    // One rank's report holds its collectives' time whole: the wait is known only across ranks.
    REQUIRE(a.process.get(Part::communication_wait) == 0);
    with_communication += a.process.get(Part::communication) > 0;
    REQUIRE(a.ranges.size() == run.ranges.size());
    for (std::size_t r = 0; r < run.ranges.size(); ++r) REQUIRE(a.ranges[r].sum() == run.ranges[r].total_ns);
    for (std::size_t f = 1; f < a.verdict.findings.size(); ++f)
      REQUIRE(a.verdict.findings[f - 1].saving_ns >= a.verdict.findings[f].saving_ns);
  }
  INFO("idle causes seen: startup ", causes_seen[0], ", launch ", causes_seen[1], ", sync ", causes_seen[2], ", copy ",
       causes_seen[3], ", host ", causes_seen[4], ", teardown ", causes_seen[5]);
  for (auto cause : all_idle_causes) {
    CAPTURE(to_string(cause));
    CHECK(causes_seen[static_cast<std::size_t>(cause)] >= 10);
  }
  CHECK(with_ranges >= 100);
  CHECK(with_cuts >= 50);
  CHECK(with_overlap >= 100);
  CHECK(with_counters >= 100);
  CHECK(with_communication >= 100);
}

TEST_CASE("format: three significant digits in SI units") {
  CHECK(format_duration(0) == "0 ns");
  CHECK(format_duration(999) == "999 ns");
  CHECK(format_duration(999.5) == "1.00 µs");
  CHECK(format_duration(1234) == "1.23 µs");
  CHECK(format_duration(12'345) == "12.3 µs");
  CHECK(format_duration(99'949) == "99.9 µs");
  CHECK(format_duration(99'960) == "100 µs"); // not "100.0 µs"
  CHECK(format_duration(9'996) == "10.0 µs"); // not "10.00 µs"
  CHECK(format_duration(999'499) == "999 µs");
  CHECK(format_duration(999'500) == "1.00 ms");
  CHECK(format_duration(3.25e9) == "3.25 s");
  CHECK(format_bytes(268'435'456) == "268 MB");
  CHECK(format_bytes(99.96e6) == "100 MB");
  CHECK(format_bandwidth(3.35e12) == "3.35 TB/s");
  CHECK(format_flop_rate(9.895e14) == "990 TFLOP/s");
  CHECK(format_flops(2.4e11) == "240 GFLOP");
  CHECK(format_count(9999) == "9999");
  CHECK(format_count(38'000) == "38 000");
  CHECK(format_count(1'234'567) == "1 234 567");
  CHECK(format_count(-12'345) == "-12 345");
  CHECK(format_percent(0) == "0%");
  CHECK(format_percent(0.004) == "0.4%");
  CHECK(format_percent(0.25) == "25%");
  CHECK(format_percent(1) == "100%");
}

TEST_CASE("build: a chip lacking one of a figure's names lacks nothing; one lacking all is named") {
  const auto all = [](std::string_view) { return true; };
  CHECK(figures_without_metrics(all).empty());
  // GH100 names its fp16 tensor work with one metric, the A100 with two: either is enough.
  const auto gh100_like = [](std::string_view m) {
    return m.find("src_fp16_dst_") == std::string_view::npos && m.find("_op_read") == std::string_view::npos &&
           m.find("_op_write") == std::string_view::npos;
  };
  CHECK(figures_without_metrics(gh100_like).empty());
  const auto no_fp8_no_dram = [](std::string_view m) {
    return m.find("fp8") == std::string_view::npos && m.find("dram__") == std::string_view::npos;
  };
  CHECK(figures_without_metrics(no_fp8_no_dram) ==
        std::vector<std::string>{"fp8 tensor FLOPs", "DRAM reads", "DRAM writes"});
}
