// A program whose main() forgets mp::ChildMain: its spawned child runs
// main() from the top, as Python's child would run an unguarded script.
// mp must stop that child from starting processes of its own (Python's
// "An attempt has been made to start a new process before the current
// process has finished its bootstrapping phase") and make it fail with a
// message saying what to add.
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "base/internal/test_util.h"
#include "base/launch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "process/process.h"

namespace mp {
namespace {

void DoNothing() {}
MP_REGISTER(DoNothing);

// What the program's main() does when it runs again in the child.
int RunAgainInChild() {
  Process p(DoNothing);
  p.set_start_method(StartMethod::kSpawn).IgnoreError();
  absl::Status s = p.Start();
  std::fprintf(stderr, "child's Start: %s\n", s.ToString().c_str());
  return 0;  // mp turns this into exit code 1
}

TEST(MissingChildMainTest, SpawnedChildFailsWithAClearMessage) {
  test_util::CaptureOutput err(test_util::CaptureOutput::kStderr,
                               test_util::TempPath("stderr"));
  Process p(DoNothing);
  ASSERT_TRUE(p.set_start_method(StartMethod::kSpawn).ok());
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Join().ok());
  std::string out = err.Finish();
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_THAT(out, ::testing::HasSubstr(
                       "child's Start: FAILED_PRECONDITION: this program was "
                       "started as a spawned child process, but its main() "
                       "did not call mp::ChildMain(argc, argv) first"));
  EXPECT_THAT(out, ::testing::HasSubstr(
                       "mp: this program was started as a spawned child "
                       "process"));
}

}  // namespace
}  // namespace mp

int main(int argc, char** argv) {
  // Deliberately no mp::ChildMain(argc, argv) here.
  if (mp::IsLaunchedChild(argc, argv)) return mp::RunAgainInChild();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
