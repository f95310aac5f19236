#pragma once
// Checks a Chrome trace-event file as Perfetto and chrome://tracing read it, for the CPU tests
// of the export (test_trace_events.cpp) and the GPU test of `brrr profile --trace`: the fields
// each phase needs, durations never negative, the slices of one row nested and never half over
// one another (GPU work never even nested), a name for every process and row, no row's tid a
// process's pid, each flow with one start and one end; and against the model: the idle gaps
// and their causes equal to the run's.

#include "model/run.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace brrr::testing {

// One complete event ("ph":"X") as read back, times in nanoseconds.
struct Slice {
  std::string category;
  std::string name;
  uint64_t pid = 0;
  uint64_t tid = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  nlohmann::json args;
};

// What a file holds once checked against the format.
struct ParsedTrace {
  std::vector<Slice> slices;
  std::map<uint64_t, std::string> process_names;
  std::map<uint64_t, std::string> thread_names; // by tid: tids are unique across processes
  nlohmann::json other_data;
  std::size_t flows = 0;

  [[nodiscard]] std::vector<const Slice*> of(const std::string& category) const {
    std::vector<const Slice*> out;
    for (const auto& s : slices)
      if (s.category == category) out.push_back(&s);
    return out;
  }
};

// A time in microseconds, as the file writes it, back to nanoseconds.
inline uint64_t to_ns(const nlohmann::json& us) {
  REQUIRE(us.is_number());
  REQUIRE(us.get<double>() >= 0);
  return static_cast<uint64_t>(std::llround(us.get<double>() * 1000));
}

// Parses a trace-event file and checks everything the format asks of it; returns the slices.
inline ParsedTrace check_trace_events(const std::string& text) {
  const auto file = nlohmann::ordered_json::parse(text);
  REQUIRE(file.is_object());
  // Perfetto reads displayTimeUnit only before the events, and stops at a key it does not know.
  REQUIRE(file.begin().key() == "displayTimeUnit");
  CHECK(file["displayTimeUnit"] == "ns");
  for (const auto& [key, value] : file.items())
    CHECK((key == "displayTimeUnit" || key == "traceEvents" || key == "otherData"));
  REQUIRE(file["traceEvents"].is_array());

  ParsedTrace out;
  out.other_data = nlohmann::json::parse(file["otherData"].dump());
  std::map<uint64_t, uint64_t> pid_of_tid;
  std::map<uint64_t, std::pair<int, int>> flow_ends; // bind_id → (flow_out count, flow_in count)
  for (const auto& e : file["traceEvents"]) {
    INFO("event: ", e.dump());
    REQUIRE(e.is_object());
    REQUIRE(e["ph"].is_string());
    REQUIRE(e["name"].is_string());
    REQUIRE(e["pid"].is_number_unsigned());
    const std::string ph = e["ph"];
    const uint64_t pid = e["pid"];
    if (ph == "M") {
      REQUIRE(e["args"].is_object());
      const std::string name = e["name"];
      if (name == "process_name") {
        REQUIRE(e["args"]["name"].is_string());
        CHECK(out.process_names.emplace(pid, e["args"]["name"]).second);
      } else if (name == "thread_name") {
        REQUIRE(e["tid"].is_number_unsigned());
        REQUIRE(e["args"]["name"].is_string());
        CHECK(out.thread_names.emplace(e["tid"].get<uint64_t>(), e["args"]["name"]).second);
        CHECK(pid_of_tid.emplace(e["tid"].get<uint64_t>(), pid).first->second == pid);
      } else if (name == "thread_sort_index" || name == "process_sort_index") {
        CHECK(e["args"]["sort_index"].is_number_integer());
        if (name == "thread_sort_index") CHECK(e["tid"].is_number_unsigned());
      } else {
        FAIL("unknown metadata event ", name);
      }
      continue;
    }
    REQUIRE(ph == "X");
    REQUIRE(e["tid"].is_number_unsigned());
    REQUIRE(e["cat"].is_string());
    Slice s;
    s.category = e["cat"];
    s.name = e["name"];
    s.pid = pid;
    s.tid = e["tid"];
    s.start_ns = to_ns(e["ts"]);
    s.end_ns = s.start_ns + to_ns(e["dur"]);
    if (e.contains("args")) {
      REQUIRE(e["args"].is_object());
      s.args = nlohmann::json::parse(e["args"].dump());
    }
    if (e.contains("bind_id")) {
      REQUIRE(e["bind_id"].is_number_unsigned());
      const bool in = e.value("flow_in", false);
      const bool out_flow = e.value("flow_out", false);
      CHECK(in != out_flow);
      auto& [outs, ins] = flow_ends[e["bind_id"].get<uint64_t>()];
      (out_flow ? outs : ins)++;
    }
    CHECK(pid_of_tid.emplace(s.tid, pid).first->second == pid);
    out.slices.push_back(std::move(s));
  }
  // Every flow goes from one launch call to one piece of GPU work.
  for (const auto& [bind_id, ends] : flow_ends) {
    // INFO is a lambda, and clang before 16 cannot capture a structured binding in one.
    const uint64_t id = bind_id;
    INFO("bind_id ", id);
    CHECK(ends == std::pair(1, 1));
  }
  out.flows = flow_ends.size();
  // Every process and every row has a name, and no row's tid is also a process's pid.
  for (const auto& s : out.slices) {
    CHECK(out.process_names.count(s.pid) == 1);
    CHECK(out.thread_names.count(s.tid) == 1);
    CHECK(out.process_names.count(s.tid) == 0);
  }
  // The slices of one row nest: each starts after the previous ones ended, or ends inside the
  // innermost one still open. GPU work on one row never overlaps at all: overlapping kernels
  // ran side by side, not one inside the other.
  std::map<uint64_t, std::vector<const Slice*>> rows;
  for (const auto& s : out.slices) rows[s.tid].push_back(&s);
  for (auto& [row_tid, row] : rows) {
    const uint64_t tid = row_tid; // for INFO's lambda, as above
    std::stable_sort(row.begin(), row.end(), [](const Slice* a, const Slice* b) {
      return a->start_ns != b->start_ns ? a->start_ns < b->start_ns : a->end_ns > b->end_ns;
    });
    std::vector<uint64_t> open;
    for (const Slice* s : row) {
      while (!open.empty() && open.back() <= s->start_ns) open.pop_back();
      INFO("row ", out.thread_names[tid], ": ", s->name, " [", s->start_ns, ", ", s->end_ns, "]");
      CHECK((open.empty() || s->end_ns <= open.back()));
      const bool gpu_work = s->category == "kernel" || s->category == "copy" || s->category == "set";
      if (gpu_work) CHECK(open.empty());
      open.push_back(s->end_ns);
    }
  }
  return out;
}

// The gaps' slices agree with the model's idle time: per cause, as many gaps and the same total.
inline void check_gaps_match_model(const ParsedTrace& parsed, const Run& run) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_cause; // cause → (gaps, ns)
  for (const Slice* s : parsed.of("idle")) {
    auto& [gaps, ns] = by_cause[s->args.at("cause").get<std::string>()];
    gaps++;
    ns += s->end_ns - s->start_ns;
  }
  for (const auto& idle : run.idle) {
    INFO("cause ", to_string(idle.cause));
    CHECK(by_cause[std::string(to_string(idle.cause))] == std::pair(idle.gaps, idle.total_ns));
  }
  uint64_t causes_in_run = 0;
  for (const auto& [cause, figures] : by_cause) causes_in_run += figures.first > 0 ? 1 : 0;
  CHECK(causes_in_run == run.idle.size());
  // The report's longest gaps are among them, with the same cause.
  for (const auto& gap : run.largest_gaps) {
    const auto slices = parsed.of("idle");
    CHECK(std::any_of(slices.begin(), slices.end(), [&](const Slice* s) {
      return s->start_ns == gap.start_ns && s->end_ns == gap.start_ns + gap.duration_ns &&
             s->args.at("cause") == to_string(gap.cause);
    }));
  }
}

} // namespace brrr::testing
