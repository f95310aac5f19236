#include "render/layout.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace brrr::layout {

std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string pad_right(std::string s, std::size_t width) {
  const std::size_t w = display_width(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

std::string pad_left(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w < width ? std::string(width - w, ' ') + s : s;
}

std::string clip(const std::string& s, std::size_t width, bool unicode) {
  if (display_width(s) <= width) return s;
  const std::string ellipsis = unicode ? "…" : "...";
  const std::size_t keep = width > display_width(ellipsis) ? width - display_width(ellipsis) : 0;
  std::string out;
  std::size_t columns = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80 && ++columns > keep) break;
    out += s[i];
  }
  return out + ellipsis;
}

std::string markdown_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string command_line(const std::vector<std::string>& command) {
  std::string out;
  for (const auto& arg : command) {
    if (!out.empty()) out += ' ';
    out += arg.find(' ') != std::string::npos ? "'" + arg + "'" : arg;
  }
  return out;
}

std::string Style::wrap_in(const char* code, const std::string& s) const {
  return color_ ? fmt::format("\033[{}m{}\033[0m", code, s) : s;
}

} // namespace brrr::layout
