// main() for GoogleTest binaries whose tests start processes: gtest_main's,
// with mp::ChildMain first, so that the spawn start method can run a test's
// registered targets in a fresh copy of the test binary.
#include "gtest/gtest.h"
#include "process/process.h"

int main(int argc, char** argv) {
  mp::ChildMain(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
