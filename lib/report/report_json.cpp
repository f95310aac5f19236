// The report's JSON form (docs/report-format.md). Writing emits everything, the analysis
// included, for scripts; reading takes only the measured parts, checks them, and leaves the
// analysis to be derived again.

#include "report/json_parts.hpp"
#include "report/json_reader.hpp"
#include "report/profiles.hpp"
#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace brrr {

using nlohmann::json;
// Reports are written with their keys in the documented order (schema_version first), not
// sorted: a person reading one sees the summary before the details.
using ojson = nlohmann::ordered_json;

namespace {

// Unsigned JSON integers keep nanosecond counts exact; doubles would round past 2^53.
ojson dim3_json(const Dim3& d) { return ojson::array({d.x, d.y, d.z}); }

Dim3 dim3_from(const JsonReader& r) {
  auto items = r.items();
  if (items.size() != 3) r.fail("expected [x, y, z]");
  return {items[0].u32(), items[1].u32(), items[2].u32()};
}

ojson optional_number(const std::optional<double>& v) { return v ? ojson(*v) : ojson(nullptr); }

ojson evidence_json(const std::vector<Evidence>& evidence) {
  ojson j = ojson::object();
  for (const auto& e : evidence) j[e.key] = e.value;
  return j;
}

std::vector<Evidence> evidence_from(const JsonReader& r) {
  std::vector<Evidence> out;
  for (const auto& [key, value] : r.members()) out.push_back({key, value.number()});
  return out;
}

ojson flops_json(const FlopCounts& f) {
  ojson j = ojson::object();
  for (auto p : all_precisions)
    for (auto u : all_pipes)
      if (f.get(p, u) != 0) j[std::string(to_string(p))][std::string(to_string(u))] = f.get(p, u);
  return j;
}

FlopCounts flops_from(const JsonReader& r) {
  FlopCounts f;
  for (const auto& [precision_name, pipes] : r.members()) {
    auto p = parse_precision(precision_name);
    if (!p) pipes.fail("unknown precision");
    for (const auto& [pipe_name, value] : pipes.members()) {
      auto u = parse_pipe(pipe_name);
      if (!u) value.fail("unknown pipe");
      f.set(*p, *u, value.non_negative());
    }
  }
  return f;
}

ojson exit_json(const ExitStatus& e) {
  switch (e.kind) {
  case ExitStatus::Kind::exited:
    return {{"kind", "exited"}, {"code", e.code}};
  case ExitStatus::Kind::signaled:
    return {{"kind", "signaled"}, {"signal", e.signal}, {"signal_name", signal_name(e.signal)}};
  case ExitStatus::Kind::not_started:
    return {{"kind", "not_started"}, {"code", e.code}};
  case ExitStatus::Kind::unknown:
    break;
  }
  return {{"kind", "unknown"}};
}

ExitStatus exit_from(const JsonReader& r) {
  ExitStatus e;
  const std::string kind = r.at("kind").str();
  if (kind == "exited") {
    e.kind = ExitStatus::Kind::exited;
    e.code = r.at("code").i32();
  } else if (kind == "signaled") {
    e.kind = ExitStatus::Kind::signaled;
    e.signal = r.at("signal").i32();
  } else if (kind == "not_started") {
    e.kind = ExitStatus::Kind::not_started;
    e.code = r.at("code").i32();
  } else if (kind == "unknown") {
    e.kind = ExitStatus::Kind::unknown;
  } else {
    r.at("kind").fail("expected exited, signaled, not_started or unknown");
  }
  return e;
}

ojson optional_u32(const std::optional<uint32_t>& v) { return v ? ojson(*v) : ojson(nullptr); }

ojson rank_json(const std::optional<RankInfo>& rank) {
  if (!rank) return nullptr;
  return {{"launcher", rank->launcher},
          {"variable", rank->variable},
          {"rank", rank->rank},
          {"local_rank", optional_u32(rank->local_rank)},
          {"world_size", optional_u32(rank->world_size)}};
}

// Optional: reports written before ranks were recorded have no key, like a run without a launcher.
std::optional<RankInfo> rank_from(const JsonReader& parent) {
  const auto r = parent.optional("rank");
  if (!r) return std::nullopt;
  RankInfo rank;
  rank.launcher = r->at("launcher").str();
  rank.variable = r->at("variable").str();
  rank.rank = r->at("rank").u32();
  if (auto local = r->optional("local_rank")) rank.local_rank = local->u32();
  if (auto size = r->optional("world_size")) rank.world_size = size->u32();
  if (rank.world_size && *rank.world_size <= rank.rank) r->at("world_size").fail("must be larger than rank");
  return rank;
}

ojson kernel_json(const KernelGroup& k, const KernelAnalysis* a) {
  ojson j{{"name", k.name},
          {"symbol", k.symbol},
          {"grid", dim3_json(k.grid)},
          {"block", dim3_json(k.block)},
          {"registers_per_thread", k.registers_per_thread},
          {"static_shared_bytes", k.static_shared_bytes},
          {"dynamic_shared_bytes", k.dynamic_shared_bytes},
          {"device", k.device},
          {"launches", k.launches},
          {"graph_launches", k.graph_launches},
          {"untimed_launches", k.untimed_launches},
          {"duration_ns", {{"total", k.total_ns}, {"min", k.min_ns}, {"median", k.median_ns}, {"max", k.max_ns}}},
          {"attributed_ns", k.attributed_ns},
          {"first_start_ns", k.first_start_ns}};
  if (k.counters) {
    const auto& c = *k.counters;
    j["counters"] = {{"measured_launches", c.measured_launches},
                     {"extrapolated_launches", k.launches - std::min(k.launches, c.measured_launches)},
                     {"flops_per_launch", flops_json(c.flops_per_launch)},
                     {"dram_read_bytes_per_launch", c.dram_read_bytes_per_launch},
                     {"dram_write_bytes_per_launch", c.dram_write_bytes_per_launch},
                     {"l2_bytes_per_launch", c.l2_bytes_per_launch},
                     {"counter_pass_ns_per_launch", c.counter_pass_ns_per_launch}};
  } else {
    j["counters"] = nullptr;
    j["counters_unavailable_reason"] = k.counters_missing_reason;
  }
  if (a) {
    ojson analysis{{"bound", std::string(to_string(a->bound))}, {"grid_below_sm_count", a->grid_below_sm_count}};
    if (a->has_counters) {
      analysis["flops"] = a->flops;
      analysis["dram_bytes"] = a->dram_bytes;
      analysis["l2_bytes"] = a->l2_bytes;
      analysis["arithmetic_intensity"] = optional_number(a->intensity);
      analysis["achieved_flops_per_s"] = a->achieved_flops_per_s;
      analysis["achieved_dram_bytes_per_s"] = a->achieved_dram_bytes_per_s;
      analysis["precision"] = std::string(to_string(a->precision));
      analysis["pipe"] = std::string(to_string(a->pipe));
      analysis["compute_roof_fraction"] = optional_number(a->compute_roof_fraction);
      analysis["dram_roof_fraction"] = optional_number(a->dram_roof_fraction);
      analysis["l2_roof_fraction"] = optional_number(a->l2_roof_fraction);
      analysis["roof_fraction"] = a->roof_fraction;
    }
    j["analysis"] = std::move(analysis);
  }
  return j;
}

KernelGroup kernel_from(const JsonReader& r) {
  KernelGroup k;
  k.name = r.at("name").str();
  k.symbol = r.at("symbol").str();
  k.grid = dim3_from(r.at("grid"));
  k.block = dim3_from(r.at("block"));
  k.registers_per_thread = r.at("registers_per_thread").u32();
  k.static_shared_bytes = r.at("static_shared_bytes").u32();
  k.dynamic_shared_bytes = r.at("dynamic_shared_bytes").u32();
  k.device = r.at("device").u32();
  k.launches = r.at("launches").u64();
  k.graph_launches = r.at("graph_launches").u64();
  if (auto untimed = r.optional("untimed_launches")) k.untimed_launches = untimed->u64();
  const auto d = r.at("duration_ns");
  k.total_ns = d.at("total").u64();
  k.min_ns = d.at("min").u64();
  k.median_ns = d.at("median").u64();
  k.max_ns = d.at("max").u64();
  if (k.min_ns > k.median_ns || k.median_ns > k.max_ns) d.fail("min <= median <= max does not hold");
  k.attributed_ns = r.at("attributed_ns").u64();
  k.first_start_ns = r.at("first_start_ns").u64();
  if (auto c = r.optional("counters")) {
    KernelCounters counters;
    counters.measured_launches = c->at("measured_launches").u64();
    counters.flops_per_launch = flops_from(c->at("flops_per_launch"));
    counters.dram_read_bytes_per_launch = c->at("dram_read_bytes_per_launch").non_negative();
    counters.dram_write_bytes_per_launch = c->at("dram_write_bytes_per_launch").non_negative();
    counters.l2_bytes_per_launch = c->at("l2_bytes_per_launch").non_negative();
    counters.counter_pass_ns_per_launch = c->at("counter_pass_ns_per_launch").non_negative();
    k.counters = counters;
  } else if (auto reason = r.optional("counters_unavailable_reason")) {
    k.counters_missing_reason = reason->str();
  }
  return k;
}

ojson transfer_json(const TransferGroup& t) {
  return {{"kind", std::string(to_string(t.kind))},
          {"source", std::string(to_string(t.source))},
          {"destination", std::string(to_string(t.destination))},
          {"async", t.async},
          {"count", t.count},
          {"bytes", t.bytes},
          {"total_ns", t.total_ns},
          {"attributed_ns", t.attributed_ns},
          {"alone_ns", t.alone_ns}};
}

TransferGroup transfer_from(const JsonReader& r) {
  TransferGroup t;
  auto kind = parse_transfer_kind(r.at("kind").str());
  if (!kind) r.at("kind").fail("unknown transfer kind");
  t.kind = *kind;
  auto source = parse_memory_kind(r.at("source").str());
  auto destination = parse_memory_kind(r.at("destination").str());
  if (!source) r.at("source").fail("unknown memory kind");
  if (!destination) r.at("destination").fail("unknown memory kind");
  t.source = *source;
  t.destination = *destination;
  t.async = r.at("async").boolean();
  t.count = r.at("count").u64();
  t.bytes = r.at("bytes").u64();
  t.total_ns = r.at("total_ns").u64();
  t.attributed_ns = r.at("attributed_ns").u64();
  // Reports written before alone_ns existed count all of a transfer's time as alone.
  t.alone_ns = t.attributed_ns;
  if (auto alone = r.optional("alone_ns")) t.alone_ns = alone->u64();
  if (t.alone_ns > t.attributed_ns) r.at("alone_ns").fail("is larger than attributed_ns");
  return t;
}

IdleCause idle_cause_from(const JsonReader& r) {
  auto cause = parse_idle_cause(r.str());
  if (!cause) r.fail("unknown idle cause");
  return *cause;
}

ojson pairs_json(const std::vector<std::pair<uint32_t, uint64_t>>& pairs) {
  ojson j = ojson::array();
  for (const auto& [index, ns] : pairs) j.push_back({{"index", index}, {"ns", ns}});
  return j;
}

std::vector<std::pair<uint32_t, uint64_t>> pairs_from(const JsonReader& r, std::size_t bound) {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  for (const auto& item : r.items()) {
    const uint32_t index = item.at("index").u32();
    if (index >= bound) item.at("index").fail("refers to an entry that does not exist");
    out.emplace_back(index, item.at("ns").u64());
  }
  return out;
}

void check_attribution_sums(const Run& run, const JsonReader& r) {
  uint64_t sum = 0;
  for (const auto& k : run.kernels) sum += k.attributed_ns;
  for (const auto& t : run.transfers) sum += t.attributed_ns;
  for (const auto& i : run.idle) sum += i.total_ns;
  if (sum != run.timeline.wall_ns)
    r.fail("the attributed times sum to " + std::to_string(sum) + " ns but the wall time is " +
           std::to_string(run.timeline.wall_ns) + " ns: the report was edited or is corrupt");
  auto check_range = [&](const RangeSummary& range, const std::string& what) {
    uint64_t range_sum = 0;
    for (const auto& [index, ns] : range.kernel_ns) range_sum += ns;
    for (const auto& [index, ns] : range.transfer_ns) range_sum += ns;
    for (auto ns : range.idle_ns) range_sum += ns;
    if (range_sum != range.total_ns)
      r.fail(what + " parts sum to " + std::to_string(range_sum) + " ns but it lasted " +
             std::to_string(range.total_ns) + " ns");
  };
  for (const auto& range : run.ranges) check_range(range, "range '" + range.name + "'");
  if (run.between_collectives) check_range(*run.between_collectives, "between_collectives");
}

// A range's time, swept: its kernel groups', transfer groups' and idle causes' shares, and its
// attribution when analysed.
void add_range_parts(ojson& j, const RangeSummary& r, const Attribution* analysed) {
  ojson idle_ns = ojson::object();
  for (std::size_t c = 0; c < all_idle_causes.size(); ++c)
    idle_ns[std::string(to_string(all_idle_causes[c]))] = r.idle_ns[c];
  j["kernels_ns"] = pairs_json(r.kernel_ns);
  j["transfers_ns"] = pairs_json(r.transfer_ns);
  j["idle_ns"] = std::move(idle_ns);
  if (analysed) j["attribution"] = attribution_json(*analysed);
}

void read_range_parts(const JsonReader& item, const Run& run, RangeSummary& s) {
  s.total_ns = item.at("total_ns").u64();
  s.kernel_ns = pairs_from(item.at("kernels_ns"), run.kernels.size());
  s.transfer_ns = pairs_from(item.at("transfers_ns"), run.transfers.size());
  for (const auto& [cause_name, ns] : item.at("idle_ns").members()) {
    auto cause = parse_idle_cause(cause_name);
    if (!cause) ns.fail("unknown idle cause");
    s.idle_ns[static_cast<std::size_t>(*cause)] = ns.u64();
  }
}

} // namespace

nlohmann::ordered_json attribution_json(const Attribution& a) {
  ojson parts = ojson::object();
  for (std::size_t i = 0; i < part_count; ++i) parts[std::string(to_string(static_cast<Part>(i)))] = a.ns[i];
  ojson regimes = ojson::object();
  for (auto r : all_regimes) regimes[std::string(to_string(r))] = a.regime_ns(r);
  return {{"wall_ns", a.wall_ns}, {"parts_ns", parts}, {"regimes_ns", regimes}, {"gpu_busy_ns", a.gpu_busy_ns()}};
}

nlohmann::ordered_json finding_json(const Finding& f) {
  return {{"rule", f.rule_id},
          {"severity", std::string(to_string(f.severity))},
          {"message", f.message},
          {"suggestion", f.suggestion},
          {"evidence", evidence_json(f.evidence)},
          {"saving_ns", f.saving_ns},
          {"saving_fraction", f.saving_fraction},
          {"kernels", f.kernels}};
}

nlohmann::ordered_json verdict_json(const Verdict& v) {
  ojson findings = ojson::array();
  for (const auto& f : v.findings) findings.push_back(finding_json(f));
  return {{"regime", std::string(to_string(v.regime))},
          {"regime_fraction", v.regime_fraction},
          {"headline", v.headline},
          {"findings", std::move(findings)},
          {"will_not_help", v.will_not_help},
          {"notes", v.notes}};
}

nlohmann::ordered_json report_to_json(const Report& report) {
  const Run& run = report.run;
  const Analysis& analysis = report.analysis;
  ojson j;
  j["schema_version"] = report_schema_version;
  j["tool"] = {{"name", "brrr"}, {"version", run.info.tool_version}};
  j["run"] = {{"command", run.info.command},
              {"start_time", run.info.start_time},
              {"host", run.info.host},
              {"rank", rank_json(run.info.rank)},
              {"exit", exit_json(run.info.exit)},
              {"complete", run.info.complete},
              {"incomplete_reasons", run.info.incomplete_reasons},
              {"target_peak_rss_bytes", run.info.target_peak_rss_bytes},
              {"wall_ns", run.timeline.wall_ns},
              {"gpu_active",
               {{"begin_ns", run.timeline.gpu_begin_ns},
                {"end_ns", run.timeline.gpu_end_ns},
                {"duration_ns", run.timeline.gpu_end_ns - run.timeline.gpu_begin_ns}}}};
  ojson gpus = ojson::array();
  for (const auto& g : run.gpus) gpus.push_back(gpu_to_json(g));
  j["gpus"] = std::move(gpus);
  if (report.profile) {
    // Through an unordered object: the profile's keys come out sorted (documented).
    j["hardware_profile"] = json(profile_to_json(*report.profile));
    j["hardware_profile"]["origin"] = report.profile->origin;
  } else {
    j["hardware_profile"] = nullptr;
    j["hardware_profile_unavailable_reason"] = report.profile_missing_reason;
  }
  j["ceilings"] = analysis.ceilings == Ceilings::measured ? "measured" : "datasheet";
  j["ceilings_reason"] = report.ceilings_reason;
  const auto& c = run.collection;
  j["collection"] = {{"counters_mode", c.counters_mode},
                     {"counters_available", c.counters_available},
                     {"counters_unavailable_reason", c.counters_unavailable_reason},
                     {"tool_ns", c.tool_ns},
                     {"kernel_records", c.kernel_records},
                     {"api_records", c.api_records},
                     {"dropped_records", c.dropped_records},
                     {"dataflow", c.dataflow},
                     {"brrr_peak_rss_bytes", c.brrr_peak_rss_bytes}};
  ojson processes = ojson::array();
  for (const auto& p : run.processes)
    processes.push_back({{"pid", p.pid},
                         {"parent_pid", p.parent_pid},
                         {"command", p.command},
                         {"kernel_launches", p.kernel_launches},
                         {"copies", p.copies},
                         {"complete", p.complete},
                         {"problem", p.problem},
                         {"dropped_records", p.dropped_records},
                         {"warnings", p.warnings},
                         {"rank", rank_json(p.rank)}});
  j["processes"] = std::move(processes);
  j["attribution"] = {{"process", attribution_json(analysis.process)},
                      {"gpu_active", attribution_json(analysis.gpu_active)}};
  j["verdict"] = verdict_json(analysis.verdict);
  ojson kernels = ojson::array();
  for (std::size_t i = 0; i < run.kernels.size(); ++i)
    kernels.push_back(kernel_json(run.kernels[i], i < analysis.kernels.size() ? &analysis.kernels[i] : nullptr));
  j["kernels"] = std::move(kernels);
  ojson transfers = ojson::array();
  for (const auto& t : run.transfers) transfers.push_back(transfer_json(t));
  j["transfers"] = std::move(transfers);
  ojson idle = ojson::array();
  for (const auto& s : run.idle)
    idle.push_back({{"cause", std::string(to_string(s.cause))},
                    {"gaps", s.gaps},
                    {"total_ns", s.total_ns},
                    {"median_ns", s.median_ns},
                    {"max_ns", s.max_ns},
                    {"evidence", evidence_json(s.evidence)}});
  j["idle"] = std::move(idle);
  ojson gaps = ojson::array();
  for (const auto& g : run.largest_gaps)
    gaps.push_back(
        {{"start_ns", g.start_ns}, {"duration_ns", g.duration_ns}, {"cause", std::string(to_string(g.cause))}});
  j["largest_gaps"] = std::move(gaps);
  ojson ranges = ojson::array();
  for (std::size_t i = 0; i < run.ranges.size(); ++i) {
    const auto& r = run.ranges[i];
    ojson range{{"name", r.name}, {"instances", r.instances}, {"total_ns", r.total_ns}};
    add_range_parts(range, r, i < analysis.ranges.size() ? &analysis.ranges[i] : nullptr);
    ranges.push_back(std::move(range));
  }
  j["ranges"] = std::move(ranges);
  j["between_collectives"] = nullptr;
  if (const auto& b = run.between_collectives) {
    ojson between{{"total_ns", b->total_ns}};
    add_range_parts(between, *b, analysis.between_collectives ? &*analysis.between_collectives : nullptr);
    j["between_collectives"] = std::move(between);
  }
  ojson successions = ojson::array();
  for (const auto& s : run.successions)
    successions.push_back({{"from", s.from}, {"to", s.to}, {"count", s.count}, {"linked", s.linked}});
  j["successions"] = std::move(successions);
  return j;
}

Report report_from_json(const json& j, const std::string& source) {
  JsonReader r(j, source);
  if (!j.is_object()) r.fail("not a brrr report (expected a JSON object)");
  if (!j.contains("schema_version")) r.fail("not a brrr report (no schema_version)");
  const auto version = r.at("schema_version").u64();
  if (version > static_cast<uint64_t>(report_schema_version))
    r.fail("report schema_version " + std::to_string(version) + " is newer than this brrr reads (" +
           std::to_string(report_schema_version) + "); upgrade brrr to read it");
  if (version < 1) r.at("schema_version").fail("must be 1 or more");

  Report report;
  Run& run = report.run;
  run.info.tool_version = r.at("tool").at("version").str();
  const auto rr = r.at("run");
  run.info.command = rr.at("command").strings();
  run.info.start_time = rr.at("start_time").str();
  run.info.host = rr.at("host").str();
  run.info.rank = rank_from(rr);
  run.info.exit = exit_from(rr.at("exit"));
  run.info.complete = rr.at("complete").boolean();
  run.info.incomplete_reasons = rr.at("incomplete_reasons").strings();
  if (auto rss = rr.optional("target_peak_rss_bytes")) run.info.target_peak_rss_bytes = rss->u64();
  run.timeline.wall_ns = rr.at("wall_ns").u64();
  run.timeline.gpu_begin_ns = rr.at("gpu_active").at("begin_ns").u64();
  run.timeline.gpu_end_ns = rr.at("gpu_active").at("end_ns").u64();
  if (run.timeline.gpu_begin_ns > run.timeline.gpu_end_ns || run.timeline.gpu_end_ns > run.timeline.wall_ns)
    rr.at("gpu_active").fail("the GPU-active span must lie within the run");

  for (const auto& g : r.at("gpus").items()) run.gpus.push_back(gpu_from_json(g));
  if (auto p = r.optional("hardware_profile")) {
    report.profile = profile_from_json(p->json(), source + ": hardware_profile");
    if (auto origin = p->optional("origin")) report.profile->origin = origin->str();
  } else if (auto reason = r.optional("hardware_profile_unavailable_reason")) {
    report.profile_missing_reason = reason->str();
  }

  const auto c = r.at("collection");
  run.collection.counters_mode = c.at("counters_mode").str();
  run.collection.counters_available = c.at("counters_available").boolean();
  run.collection.counters_unavailable_reason = c.at("counters_unavailable_reason").str();
  run.collection.tool_ns = c.at("tool_ns").u64();
  run.collection.kernel_records = c.at("kernel_records").u64();
  run.collection.api_records = c.at("api_records").u64();
  run.collection.dropped_records = c.at("dropped_records").u64();
  if (auto rss = c.optional("brrr_peak_rss_bytes")) run.collection.brrr_peak_rss_bytes = rss->u64();
  if (auto dataflow = c.optional("dataflow")) run.collection.dataflow = dataflow->boolean();

  for (const auto& p : r.at("processes").items()) {
    ProcessSummary s;
    s.pid = p.at("pid").i32();
    s.parent_pid = p.at("parent_pid").i32();
    s.command = p.at("command").strings();
    s.kernel_launches = p.at("kernel_launches").u64();
    s.copies = p.at("copies").u64();
    s.complete = p.at("complete").boolean();
    s.problem = p.at("problem").str();
    s.dropped_records = p.at("dropped_records").u64();
    s.warnings = p.at("warnings").strings();
    s.rank = rank_from(p);
    run.processes.push_back(std::move(s));
  }
  for (const auto& k : r.at("kernels").items()) run.kernels.push_back(kernel_from(k));
  for (const auto& t : r.at("transfers").items()) run.transfers.push_back(transfer_from(t));
  for (const auto& i : r.at("idle").items()) {
    IdleSummary s;
    s.cause = idle_cause_from(i.at("cause"));
    s.gaps = i.at("gaps").u64();
    s.total_ns = i.at("total_ns").u64();
    s.median_ns = i.at("median_ns").u64();
    s.max_ns = i.at("max_ns").u64();
    s.evidence = evidence_from(i.at("evidence"));
    run.idle.push_back(std::move(s));
  }
  for (const auto& g : r.at("largest_gaps").items())
    run.largest_gaps.push_back({g.at("start_ns").u64(), g.at("duration_ns").u64(), idle_cause_from(g.at("cause"))});
  for (const auto& item : r.at("ranges").items()) {
    RangeSummary s;
    s.name = item.at("name").str();
    s.instances = item.at("instances").u64();
    read_range_parts(item, run, s);
    run.ranges.push_back(std::move(s));
  }
  if (auto between = r.optional("between_collectives")) {
    RangeSummary s;
    s.instances = 1;
    read_range_parts(*between, run, s);
    run.between_collectives = std::move(s);
  }
  for (const auto& s : r.at("successions").items()) {
    Succession succession{s.at("from").u32(), s.at("to").u32(), s.at("count").u64(),
                          s.optional("linked") ? s.at("linked").u64() : 0};
    if (succession.linked > succession.count) s.at("linked").fail("is more than count");
    if (succession.from >= run.kernels.size() || succession.to >= run.kernels.size())
      s.fail("refers to a kernel that does not exist");
    run.successions.push_back(succession);
  }
  check_attribution_sums(run, r);
  if (auto ceilings = r.optional("ceilings"); ceilings && ceilings->str() == "measured")
    report.analysis.ceilings = Ceilings::measured;
  if (auto reason = r.optional("ceilings_reason")) report.ceilings_reason = reason->str();
  return report;
}

std::string report_to_text(const Report& report) {
  return report_to_json(report).dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

json parse_json_text(const std::string& text, const std::string& source) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) throw InputError(source + ": is empty");
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // The parser reports the end of input in its message only between tokens; a file cut
    // inside a string, number or literal fails one byte past its end.
    const bool cut = std::string(e.what()).find("unexpected end of input") != std::string::npos || e.byte > text.size();
    throw InputError(source + ": " +
                     (cut ? "JSON is cut short (truncated file?) at byte " : "not valid JSON at byte ") +
                     std::to_string(e.byte));
  } catch (const json::out_of_range& e) {
    // A number beyond the range of a double; the message quotes it, after the library's tag.
    const std::string what = e.what();
    throw InputError(source + ": not valid JSON: " + what.substr(what.find("] ") + 2));
  }
}

json read_json_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw InputError(name + ": no such file");
  if (std::filesystem::is_directory(status)) throw InputError(name + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(name + ": cannot be read (" + std::strerror(errno) + ")");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_json_text(buffer.str(), name);
}

Report read_report(const std::filesystem::path& path) { return report_from_json(read_json_file(path), path.string()); }

void reanalyse(Report& report) {
  report.analysis =
      analyse(report.run, report.profile ? &*report.profile : nullptr, {report.analysis.ceilings, ClassifyLimits{}});
}

namespace {

namespace fs = std::filesystem;

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

// What a producer writes to a temporary file ".<name>.XXXXXX" beside its destination (a rename
// across file systems would not be atomic), fsync'd, with the mode of an ordinary file of the
// user's; removed on destruction unless it was published under its name.
class StagedFile {
public:
  StagedFile(const fs::path& path, const std::function<void(const WriteChunk&)>& produce) : folder_(folder_of(path)) {
    std::string name = (folder_ / ("." + path.filename().string() + ".XXXXXX")).string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0) fail(path, "cannot write in " + folder_.string(), errno);
    temporary_ = std::move(name);
    const WriteChunk write = [&](std::string_view chunk) {
      std::size_t done = 0;
      while (done < chunk.size()) {
        const ssize_t n = ::write(fd, chunk.data() + done, chunk.size() - done);
        if (n < 0 && errno == EINTR) continue;
        // A regular file that takes no bytes is full.
        if (n <= 0) fail(path, "cannot write", n == 0 ? ENOSPC : errno);
        done += static_cast<std::size_t>(n);
      }
    };
    // A constructor that throws runs no destructor: each failure removes the file itself.
    try {
      produce(write);
      if (::fsync(fd) != 0) fail(path, "cannot write", errno);
    } catch (...) {
      ::close(fd);
      ::unlink(temporary_.c_str());
      throw;
    }
    if (::close(fd) != 0) {
      const int err = errno;
      ::unlink(temporary_.c_str());
      fail(path, "cannot write", err);
    }
    // mkstemp creates the file 0600; a report is an ordinary file of the user's.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(temporary_.c_str(), 0666 & ~mask);
  }
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile() {
    if (!temporary_.empty()) ::unlink(temporary_.c_str());
  }

  // Gives the file the name `path` unless that name exists. link(2) fails when the name exists,
  // so no check-then-write race can replace another writer's file. Returns false when the name
  // is taken; throws on other failures.
  bool publish_new(const fs::path& path) {
    if (::link(temporary_.c_str(), path.c_str()) == 0) {
      ::unlink(temporary_.c_str());
      temporary_.clear();
      sync_folder(folder_);
      return true;
    }
    const int err = errno;
    if (err == EEXIST) return false;
    // Some file systems have no hard links; there a check just before the rename must do.
    if (err == EPERM || err == ENOTSUP || err == EOPNOTSUPP) {
      std::error_code ec;
      if (fs::exists(fs::symlink_status(path, ec))) return false;
      publish_replacing(path);
      return true;
    }
    fail(path, "cannot write", err);
  }

  // Gives the file the name `path`, replacing what is there.
  void publish_replacing(const fs::path& path) {
    if (::rename(temporary_.c_str(), path.c_str()) != 0) fail(path, "cannot write", errno);
    temporary_.clear();
    sync_folder(folder_);
  }

private:
  fs::path folder_;
  std::string temporary_;
};

std::runtime_error exists_error(const fs::path& path) {
  return std::runtime_error(path.string() + ": exists; pass --force to overwrite it, or choose another name");
}

// The checks made before writing `path`: what exists there may be replaced.
void check_replaceable(const fs::path& path, bool overwrite) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) return;
  if (!overwrite) throw exists_error(path);
  // A device, a folder or a pipe is never replaced by a report (brrr runs as root in CI).
  if (!fs::is_regular_file(status)) throw std::runtime_error(path.string() + ": is not a regular file");
}

} // namespace

void write_file_atomically(const fs::path& path, const std::string& text, bool overwrite) {
  write_file_atomically(
      path, [&](const WriteChunk& write) { write(text); }, overwrite);
}

void write_file_atomically(const fs::path& path, const std::function<void(const WriteChunk&)>& produce,
                           bool overwrite) {
  check_replaceable(path, overwrite);
  StagedFile staged(path, produce);
  if (overwrite)
    staged.publish_replacing(path);
  else if (!staged.publish_new(path))
    throw exists_error(path);
}

fs::path write_numbered_file(const std::string& stem, const std::string& text) {
  // Far more than any folder of reports holds; a bound, so that a file system that reports
  // every name as taken cannot keep brrr looping.
  constexpr int most_names = 100'000;
  fs::path path = stem + ".json";
  StagedFile staged(path, [&](const WriteChunk& write) { write(text); });
  for (int number = 2; !staged.publish_new(path); ++number) {
    if (number > most_names)
      throw std::runtime_error(stem + ".json: it and the next " + std::to_string(most_names - 1) +
                               " numbered names are taken");
    path = stem + "-" + std::to_string(number) + ".json";
  }
  return path;
}

void check_folder_writable(const fs::path& path) {
  StagedFile probe(path, [](const WriteChunk&) {});
}

void check_writable(const fs::path& path, bool overwrite) {
  check_replaceable(path, overwrite);
  check_folder_writable(path);
}

} // namespace brrr
