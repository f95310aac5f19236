#include "report/profiles.hpp"
#include "report/report.hpp"

namespace brrr {

Report read_analysed_report(const std::filesystem::path& path, const std::filesystem::path& profile) {
  Report report = read_report(path);
  if (!profile.empty()) {
    report.profile = read_profile(profile);
    report.profile_missing_reason.clear();
  }
  report.analysis = analyse(report.run, report.profile ? &*report.profile : nullptr, {report.analysis.ceilings, {}});
  return report;
}

} // namespace brrr
