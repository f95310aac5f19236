#include "collect/kernel_signature.hpp"

namespace brrr {
namespace {

bool opens(char c) { return c == '(' || c == '<' || c == '['; }
bool closes(char c) { return c == ')' || c == '>' || c == ']'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// A parameter's type without the qualifiers that may follow its last '*'.
std::string_view unqualified(std::string_view type) {
  for (bool stripped = true; stripped;) {
    stripped = false;
    type = trim(type);
    for (std::string_view qualifier : {"const", "volatile", "restrict", "__restrict", "__restrict__"}) {
      if (type.size() > qualifier.size() && type.substr(type.size() - qualifier.size()) == qualifier &&
          (type[type.size() - qualifier.size() - 1] == ' ' || type[type.size() - qualifier.size() - 1] == '*')) {
        type.remove_suffix(qualifier.size());
        stripped = true;
      }
    }
  }
  return type;
}

} // namespace

std::vector<PointerParameter> pointer_parameters(std::string_view demangled) {
  std::vector<PointerParameter> pointers;
  // The parameter list is the last parenthesised group: the one whose ')' ends the text.
  const size_t close = demangled.find_last_of(')');
  if (close == std::string_view::npos) return pointers;
  size_t open = std::string_view::npos;
  int depth = 0;
  for (size_t i = close + 1; i-- > 0;) {
    if (closes(demangled[i])) ++depth;
    if (opens(demangled[i]) && --depth == 0) {
      open = i;
      break;
    }
  }
  if (open == std::string_view::npos) return pointers;
  const std::string_view list = demangled.substr(open + 1, close - open - 1);
  if (trim(list).empty() || trim(list) == "void") return pointers;
  uint32_t index = 0;
  size_t start = 0;
  depth = 0;
  for (size_t i = 0; i <= list.size(); ++i) {
    if (i < list.size() && opens(list[i])) ++depth;
    if (i < list.size() && closes(list[i])) --depth;
    if (i == list.size() || (list[i] == ',' && depth == 0)) {
      const std::string_view type = unqualified(list.substr(start, i - start));
      if (!type.empty() && type.back() == '*') {
        const std::string_view pointee = trim(type.substr(0, type.size() - 1));
        const bool read_only = pointee.starts_with("const ") ||
                               (pointee.size() > 5 && pointee.ends_with("const") &&
                                (pointee[pointee.size() - 6] == ' ' || pointee[pointee.size() - 6] == '*'));
        pointers.push_back({index, read_only});
      }
      ++index;
      start = i + 1;
    }
  }
  return pointers;
}

} // namespace brrr
