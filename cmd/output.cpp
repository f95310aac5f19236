// Printing a rendered report or diff on standard output, as explain and diff both do.

#include "commands.hpp"

#include <unistd.h>

#include <iostream>
#include <stdexcept>

namespace brrr::cmd {

RenderOptions terminal_render_options(int fd, std::size_t top) {
  RenderOptions options;
  options.top = top;
  options.color = use_color(fd);
  options.unicode = use_unicode();
  // The terminal roofline is for people: drawn on a terminal, left out of pipes and files.
  options.roofline = isatty(fd) != 0;
  return options;
}

void print_to_stdout(const std::string& text) {
  std::cout << text;
  if (!std::cout.flush()) throw std::runtime_error("cannot write to standard output");
}

} // namespace brrr::cmd
