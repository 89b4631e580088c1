// Tests of the launcher. The test binary launches itself: main() below runs
// the child modes (RunChild) when IsLaunchedChild() says so.
#include "base/launch.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/handle.h"
#include "base/internal/test_util.h"
#include "base/status.h"
#include "gtest/gtest.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#include <unistd.h>
#endif

namespace mp {
namespace {

using test_util::KillPid;
using test_util::MakePipe;
using test_util::ReadAll;
using test_util::ReadLine;
using test_util::SleepForever;
using test_util::WriteAll;

// ---------------------------------------------------------------------------
// Pids and handle values for the tests, one definition per platform.

#ifdef _WIN32
int SelfPid() { return static_cast<int>(GetCurrentProcessId()); }
uint64_t HandleValue(NativeHandle h) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(h));
}
NativeHandle FromValue(uint64_t v) {
  return reinterpret_cast<NativeHandle>(static_cast<uintptr_t>(v));
}
#else
int SelfPid() { return getpid(); }
uint64_t HandleValue(NativeHandle h) { return static_cast<uint64_t>(h); }
NativeHandle FromValue(uint64_t v) { return static_cast<NativeHandle>(v); }

// The child's open descriptors, but for `skip` and the directory stream's.
std::vector<int> OpenFds(int skip) {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (dirent* e = readdir(dir)) {
    int fd;
    if (absl::SimpleAtoi(e->d_name, &fd) && fd != dirfd(dir) && fd != skip) {
      fds.push_back(fd);
    }
  }
  closedir(dir);
  std::sort(fds.begin(), fds.end());
  return fds;
}
#endif

// Whether `h` reaches end of file within `timeout`. The read runs on a
// thread so that a pipe that never ends cannot hang the test; `unblock`
// must make it end (kill the last writer) when it did not. (std::future,
// not absl::Notification: see test_util's ReadAllWithin.)
bool EofWithin(NativeHandle h, absl::Duration timeout,
               const std::function<void()>& unblock) {
  std::future<void> reader =
      std::async(std::launch::async, [h] { ReadAll(h); });
  bool eof = reader.wait_for(absl::ToChronoMilliseconds(timeout)) ==
             std::future_status::ready;
  if (!eof) unblock();
  reader.wait();
  return eof;
}

// ---------------------------------------------------------------------------
// The child side: args[0] names the mode.

int RunChild(int argc, char** argv) {
  absl::StatusOr<LaunchInfo> info = TakeLaunchInfo(argc, argv);
  if (!info.ok()) {
    fprintf(stderr, "child: %s\n", info.status().ToString().c_str());
    return 100;
  }
  const std::vector<std::string>& args = info->args;
  const std::string mode = args.empty() ? "" : args[0];
  if (mode == "echo") {
    // args: echo <exit code> <words...>; reports on handles[0].
    std::string report = absl::StrCat(
        "args=", absl::StrJoin(args.begin() + 2, args.end(), "|"),
        ";handles=", info->handles.size(), ";payload=", info->payload);
    if (!WriteAll(info->handles[0].get(), report)) return 101;
    int code = 0;
    return absl::SimpleAtoi(args[1], &code) ? code : 102;
  }
  if (mode == "exit") {
    int code = 0;
    return absl::SimpleAtoi(args[1], &code) ? code : 102;
  }
  if (mode == "probe") {
    // args: probe <handle value>...: write where the parent's unlisted
    // handles would be, had they been inherited.
    for (size_t i = 1; i < args.size(); ++i) {
      uint64_t v;
      if (absl::SimpleAtoi(args[i], &v)) WriteAll(FromValue(v), "leak");
    }
    return 0;
  }
#ifndef _WIN32
  if (mode == "fds") {
    std::vector<int> fds = OpenFds(info->parent_sentinel.get());
    WriteAll(info->handles[0].get(), absl::StrCat(absl::StrJoin(fds, ","), ";",
                                                  info->handles[0].get()));
    return 0;
  }
#endif
  if (mode == "parent") {
    // args: parent <expected parent pid>
    int expected = 0;
    if (!absl::SimpleAtoi(args[1], &expected)) return 102;
    if (info->parent_pid != expected) return 103;
    if (!info->parent_sentinel.valid()) return 104;
    return 0;
  }
  if (mode == "sleep") SleepForever();
  if (mode == "middle") {
    // args: middle <kill grandchild with me: 0|1>. Starts a grandchild that
    // holds handles[0], then sleeps until killed.
    LaunchOptions options;
    options.args = {"hold"};
    options.handles = {info->handles[0].get()};
    options.kill_with_parent = args[1] == "1";
    absl::StatusOr<ChildProcess> grandchild = LaunchSelf(options);
    if (!grandchild.ok()) return 105;
    info->handles.clear();  // only the grandchild holds the pipe now
    SleepForever();
  }
  if (mode == "hold") {
    // Reports its pid, then keeps handles[0] open until it dies.
    WriteAll(info->handles[0].get(), absl::StrCat(SelfPid(), "\n"));
    SleepForever();
  }
  fprintf(stderr, "child: unknown mode \"%s\"\n", mode.c_str());
  return 106;
}

// ---------------------------------------------------------------------------
// Tests.

absl::StatusOr<ChildProcess> Launch(std::vector<std::string> args,
                                    std::vector<NativeHandle> handles = {},
                                    std::string payload = "") {
  LaunchOptions options;
  options.args = std::move(args);
  options.handles = std::move(handles);
  options.payload = std::move(payload);
  return LaunchSelf(options);
}

TEST(LaunchTest, ArgsPayloadAndListedHandleReachTheChild) {
  auto [r, w] = MakePipe();
  // Larger than any pipe buffer: the payload must not depend on the child
  // reading it while the parent waits.
  std::string payload(3 << 20, 'x');
  payload[12345] = 'y';
  absl::StatusOr<ChildProcess> child = Launch(
      {"echo", "7", "a b", "\"quoted\\\"", "", "last"}, {w.get()}, payload);
  ASSERT_TRUE(child.ok()) << child.status();
  // Handed over without ever becoming inheritable here.
  EXPECT_EQ(*IsInheritable(w.get()), false);
  w.reset();  // the child holds the only writer now
  EXPECT_EQ(ReadAll(r.get()),
            "args=a b|\"quoted\\\"||last;handles=1;payload=" + payload);
  absl::StatusOr<int> code = child->Wait();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 7);
  EXPECT_GT(child->pid(), 0);
  EXPECT_NE(child->pid(), SelfPid());
}

TEST(LaunchTest, ExitCodeWithoutPayloadOrHandles) {
  absl::StatusOr<ChildProcess> child = Launch({"exit", "0"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(*child->Wait(), 0);
  // Once reaped, every Wait returns the same code at once.
  EXPECT_EQ(*child->Wait(absl::ZeroDuration()), 0);
  child = Launch({"exit", "42"});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(*child->Wait(), 42);
}

TEST(LaunchTest, UnlistedHandlesAreNotInheritedEvenIfInheritable) {
  auto [report_r, report_w] = MakePipe();
  auto [plain_r, plain_w] = MakePipe();
  auto [leaky_r, leaky_w] = MakePipe();
  // A handle the program made inheritable itself: still not passed on.
  ASSERT_TRUE(SetInheritable(leaky_w.get(), true).ok());
  absl::StatusOr<ChildProcess> child =
      Launch({"probe", absl::StrCat(HandleValue(plain_w.get())),
              absl::StrCat(HandleValue(leaky_w.get()))},
             {report_w.get()});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(*child->Wait(), 0);
  // Had the child inherited either, its "leak" would be in the pipe now.
  plain_w.reset();
  leaky_w.reset();
  EXPECT_EQ(ReadAll(plain_r.get()), "");
  EXPECT_EQ(ReadAll(leaky_r.get()), "");
}

#ifndef _WIN32
TEST(LaunchTest, ChildHasOnlyStdioAndListedDescriptors) {
  auto [r, w] = MakePipe();
  auto [leaky_r, leaky_w] = MakePipe();
  ASSERT_TRUE(SetInheritable(leaky_r.get(), true).ok());
  LaunchOptions options;
  options.args = {"fds"};
  options.handles = {w.get()};
  options.payload = "some bytes";
  absl::StatusOr<ChildProcess> child = LaunchSelf(options);
  ASSERT_TRUE(child.ok()) << child.status();
  w.reset();
  // The payload's memfd is closed after reading; the parent's pidfd (the
  // sentinel) is left out of the report. What is left: stdio and the one
  // listed descriptor, wherever it landed.
  std::string report = ReadAll(r.get());
  std::string handle = report.substr(report.find(';') + 1);
  EXPECT_EQ(report, absl::StrCat("0,1,2,", handle, ";", handle));
  EXPECT_EQ(*child->Wait(), 0);
}
#endif

TEST(LaunchTest, ParentPidAndSentinel) {
  absl::StatusOr<ChildProcess> child =
      Launch({"parent", absl::StrCat(SelfPid())});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(*child->Wait(), 0);
}

TEST(LaunchTest, WaitTimesOutThenTerminate) {
  absl::StatusOr<ChildProcess> child = Launch({"sleep"});
  ASSERT_TRUE(child.ok()) << child.status();
  const absl::Duration timeout = absl::Milliseconds(200);
  absl::Time start = absl::Now();
  absl::StatusOr<int> code = child->Wait(timeout);
  EXPECT_GE(absl::Now() - start, timeout);
  EXPECT_TRUE(IsTimeout(code.status())) << code.status();
  start = absl::Now();
  code = child->Wait(absl::ZeroDuration());
  EXPECT_TRUE(IsTimeout(code.status())) << code.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  ASSERT_TRUE(child->Terminate().ok());
  code = child->Wait();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, -15);  // -SIGTERM, on Windows too
  // Ending an ended child is not an error, and changes nothing.
  EXPECT_TRUE(child->Terminate().ok());
  EXPECT_TRUE(child->Kill().ok());
  EXPECT_EQ(*child->Wait(), -15);
}

TEST(LaunchTest, Kill) {
  absl::StatusOr<ChildProcess> child = Launch({"sleep"});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->Kill().ok());
  EXPECT_EQ(*child->Wait(), -9);  // -SIGKILL, on Windows too
}

TEST(LaunchTest, WaitFromTwoThreads) {
  absl::StatusOr<ChildProcess> child = Launch({"sleep"});
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<int> other;
  std::thread waiter([&] { other = child->Wait(); });
  absl::StatusOr<int> mine = child->Wait(absl::Milliseconds(50));
  EXPECT_TRUE(IsTimeout(mine.status()));
  ASSERT_TRUE(child->Kill().ok());
  mine = child->Wait();
  waiter.join();
  ASSERT_TRUE(mine.ok()) << mine.status();
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(*mine, -9);
  EXPECT_EQ(*other, -9);
}

// The middle child starts a grandchild holding the pipe's only writer, and
// is then killed outright.
void KillMiddle(bool kill_with_parent, int* grandchild_pid,
                OwnedHandle* pipe_reader) {
  auto [r, w] = MakePipe();
  absl::StatusOr<ChildProcess> middle =
      Launch({"middle", kill_with_parent ? "1" : "0"}, {w.get()});
  ASSERT_TRUE(middle.ok()) << middle.status();
  w.reset();
  // The grandchild reports once it runs (after TakeLaunchInfo armed its
  // parent-death signal).
  ASSERT_TRUE(absl::SimpleAtoi(ReadLine(r.get()), grandchild_pid));
  ASSERT_TRUE(middle->Kill().ok());
  EXPECT_EQ(*middle->Wait(), -9);
  *pipe_reader = std::move(r);
}

TEST(LaunchTest, KillWithParentEndsTheChildWhenTheParentIsKilled) {
  int grandchild = 0;
  OwnedHandle r;
  ASSERT_NO_FATAL_FAILURE(KillMiddle(true, &grandchild, &r));
  // End of file: the grandchild, the last writer, is gone.
  EXPECT_TRUE(EofWithin(r.get(), absl::Seconds(60),
                        [grandchild] { KillPid(grandchild); }));
}

TEST(LaunchTest, WithoutKillWithParentTheChildOutlivesItsParent) {
  int grandchild = 0;
  OwnedHandle r;
  ASSERT_NO_FATAL_FAILURE(KillMiddle(false, &grandchild, &r));
  // Python's default: an orphan keeps running. (Had it been killed, the
  // pipe would reach end of file at once.)
  EXPECT_FALSE(EofWithin(r.get(), absl::Milliseconds(300),
                         [grandchild] { KillPid(grandchild); }));
}

TEST(LaunchTest, BadInputIsRefusedWithoutStartingAnything) {
  absl::StatusOr<ChildProcess> child = Launch({"exit", "0", "caf\xc3\xa9"});
  EXPECT_EQ(child.status().code(), absl::StatusCode::kInvalidArgument);
  child = Launch({"exit", "0", "line\nbreak"});
  EXPECT_EQ(child.status().code(), absl::StatusCode::kInvalidArgument);
  child = Launch({"exit", "0"}, {kInvalidHandle});
  EXPECT_EQ(child.status().code(), absl::StatusCode::kInvalidArgument);
  NativeHandle stale;
  {
    auto [r, w] = MakePipe();
    stale = w.get();
  }
  child = Launch({"exit", "0"}, {stale});
  EXPECT_EQ(child.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LaunchTest, TakeLaunchInfoRefusesForeignArguments) {
  const char* plain[] = {"prog", "--gtest_filter=x"};
  EXPECT_FALSE(IsLaunchedChild(2, plain));
  EXPECT_EQ(TakeLaunchInfo(2, plain).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* bad : {"--mp-launch=", "--mp-launch=1:2:-:-:",
                          "--mp-launch=x:0:-:-:", "--mp-launch=1:0:-:-:3,x",
                          "--mp-launch=1:0:-:7:7", "--mp-launch=1:0:-:-"}) {
    const char* argv[] = {"prog", bad};
    EXPECT_TRUE(IsLaunchedChild(2, argv));
    EXPECT_EQ(TakeLaunchInfo(2, argv).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(LaunchTest, EmptyChildProcess) {
  ChildProcess none;
  EXPECT_FALSE(none.valid());
  EXPECT_EQ(none.Wait().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(none.Terminate().ok());
  EXPECT_FALSE(IsValidHandle(none.sentinel()));
}

}  // namespace
}  // namespace mp

int main(int argc, char** argv) {
  if (mp::IsLaunchedChild(argc, argv)) return mp::RunChild(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
