// The tour: `tools/tour.sh` builds and runs this. Each section is one
// primitive, shown through the small programs that usually introduce
// Python's version (examples/tour.h).
#include "examples/tour.h"

#include <cstdio>

#include "process/process.h"

namespace mp {
namespace tour {

void Heading(const char* title) {
  std::printf("\n=== %s ===\n", title);
  std::fflush(stdout);
}

}  // namespace tour
}  // namespace mp

int main(int argc, char** argv) {
  // In a child started by the spawn method this runs the child's target and
  // exits; in the tour itself it returns at once (Python's
  // `if __name__ == "__main__":`).
  mp::ChildMain(argc, argv);
  std::printf("mp: Python's multiprocessing in C++ -- a tour\n");
  mp::tour::TourBase();
  mp::tour::TourProcess();
  mp::tour::TourPipe();
  mp::tour::TourLock();
  mp::tour::TourQueue();
  return 0;
}
