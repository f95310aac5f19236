// brrr merge REPORT... [-o FILE]: one view of a multi-process job from its ranks' reports,
// written as a merged report and printed like explain prints a report.

#include "commands.hpp"

#include "render/render.hpp"
#include "report/merged.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <unistd.h>

namespace brrr::cmd {

Run add_merge(CLI::App& app) {
  struct Options {
    std::vector<std::string> reports;
    std::string output;
    bool force = false;
    bool quiet = false;
    std::string format = "text";
  };
  auto options = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "merge", "Merge the reports of a multi-process job's ranks: the slowest rank and why, load imbalance, waits.");
  sub->add_option("reports", options->reports, "The ranks' reports (JSON), as brrr profile wrote them")->required();
  sub->add_option("-o,--output", options->output,
                  "Merged report file (default: brrr-merged.json, numbered so that no report is overwritten)");
  sub->add_flag("--force", options->force, "Overwrite the merged report file if it exists");
  sub->add_flag("-q,--quiet", options->quiet, "Do not print the merged view");
  sub->add_option("-f,--format", options->format, "How to print the merged view: text, json, md or csv")
      ->check(CLI::IsMember({"text", "json", "md", "markdown", "csv"}));
  return [options] {
    // Refuse before reading: the inputs may be many and large.
    std::error_code ec;
    if (!options->output.empty() && !options->force && std::filesystem::exists(options->output, ec))
      throw InputError(options->output + ": exists; pass --force to overwrite it, or -o to choose another name");
    std::vector<RankReport> ranks;
    for (const auto& path : options->reports) ranks.push_back(read_rank_report(path));
    const MergedReport merged = merge_reports(std::move(ranks), BRRR_VERSION);
    const std::string text = merged_to_json(merged).dump(2) + "\n";
    std::filesystem::path output = options->output;
    if (output.empty())
      output = write_numbered_file("brrr-merged", text);
    else
      write_file_atomically(output, text, options->force);
    if (!options->quiet) {
      RenderOptions render_options;
      render_options.color = use_color(STDOUT_FILENO);
      render_options.unicode = use_unicode();
      std::cout << render(merged, *parse_format(options->format), render_options);
      if (!std::cout.flush()) throw std::runtime_error("cannot write to standard output");
    }
    std::cerr << "brrr: merged report of " << merged.ranks.size() << " ranks written to " << output.string() << "\n";
    return 0;
  };
}

} // namespace brrr::cmd
