// The tour: `tools/tour.sh` builds and runs this. Each section is one
// primitive, shown the way the seed documents show Python's version.
#include "examples/tour.h"

#include <cstdio>

namespace mp {
namespace tour {

void Heading(const char* title) {
  std::printf("\n=== %s ===\n", title);
  std::fflush(stdout);
}

}  // namespace tour
}  // namespace mp

int main(int argc, char** argv) {
  std::printf("mp: Python's multiprocessing in C++ -- a tour\n");
  mp::tour::TourBase();
  return 0;
}
