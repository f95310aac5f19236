// The browser tests: the HTML report in a real headless Chromium. Without Chromium (Debian's
// chromium package, which scripts/install-deps.sh installs) they exit with 77, which ctest
// reports as skipped.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "browser.hpp"

#include <cstdio>

int main(int argc, char** argv) {
  if (brrr::testing::find_chromium().empty()) {
    std::printf("chromium not found (install Debian's chromium package, as scripts/install-deps.sh does, or set "
                "BRRR_CHROMIUM): the browser tests are skipped\n");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
