#include "base/wait_word.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/internal/test_child.h"
#include "base/launch.h"
#include "base/status.h"
#include "gtest/gtest.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace mp {
namespace {

using test_util::ExitCode;

// What the tests share with their child processes: one page of shared
// memory laid out as below.
struct Shared {
  WaitWord word;
  WaitWord second;
};

// A child process's job; the return value is its exit status.
int ChildWaitForChange(Shared* shared) {
  // Wait until the parent changes the word, however often we return early.
  while (shared->word.value().load() == 0) {
    absl::Status s = shared->word.Wait(0, Deadline::Never());
    if (!s.ok()) return 2;
  }
  return shared->word.value().load() == 1 ? 0 : 3;
}

int ChildTimeOut(Shared* shared) {
  const int64_t start = Deadline::NowNanos();
  Deadline deadline = Deadline::After(absl::Milliseconds(100));
  absl::Status s;
  do {
    s = shared->second.Wait(0, deadline);
  } while (s.ok());
  if (!IsTimeout(s)) return 2;
  return Deadline::NowNanos() - start >= 100 * 1000 * 1000 ? 0 : 3;
}

int RunChild(absl::string_view mode, Shared* shared) {
  if (mode == "wait") return ChildWaitForChange(shared);
  if (mode == "timeout") return ChildTimeOut(shared);
  return 100;
}

// A page of shared memory and the child processes that map it: fork on
// POSIX, the test binary launched again (base/launch.h) on Windows.
#ifdef _WIN32

class SharedPage {
 public:
  SharedPage() {
    mapping_ = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE,
                                  0, 4096, nullptr);
    addr_ = MapViewOfFile(mapping_, FILE_MAP_ALL_ACCESS, 0, 0, 4096);
    shared_ = new (addr_) Shared;
  }
  ~SharedPage() {
    shared_->word.ForgetInThisProcess();
    shared_->second.ForgetInThisProcess();
    UnmapViewOfFile(addr_);
    CloseHandle(mapping_);
  }
  Shared* get() { return shared_; }

  // Starts a child running `mode` on the page.
  absl::StatusOr<ChildProcess> StartChild(const char* mode) {
    LaunchOptions options;
    options.args = {mode};
    options.handles = {mapping_};
    return LaunchSelf(options);
  }

 private:
  HANDLE mapping_;
  void* addr_;
  Shared* shared_;
};

// In a launched child: maps the parent's page and runs the mode it names.
bool MaybeRunChild(int argc, char** argv, int* exit_code) {
  if (!IsLaunchedChild(argc, argv)) return false;
  absl::StatusOr<LaunchInfo> info = TakeLaunchInfo(argc, argv);
  if (!info.ok() || info->args.size() != 1 || info->handles.size() != 1) {
    *exit_code = 101;
    return true;
  }
  void* addr =
      MapViewOfFile(info->handles[0].get(), FILE_MAP_ALL_ACCESS, 0, 0, 4096);
  if (addr == nullptr) {
    *exit_code = 102;
    return true;
  }
  Shared* shared = static_cast<Shared*>(addr);
  *exit_code = RunChild(info->args[0], shared);
  shared->word.ForgetInThisProcess();
  shared->second.ForgetInThisProcess();
  return true;
}

#else  // POSIX

class SharedPage {
 public:
  SharedPage() {
    addr_ = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    shared_ = new (addr_) Shared;
  }
  ~SharedPage() { munmap(addr_, 4096); }
  Shared* get() { return shared_; }

  absl::StatusOr<ChildProcess> StartChild(const char* mode) {
    pid_t pid = fork();
    if (pid == 0) _exit(RunChild(mode, shared_));
    if (pid < 0) return absl::InternalError("fork failed");
    return ChildProcess::Adopt(pid);
  }

 private:
  void* addr_;
  Shared* shared_;
};

bool MaybeRunChild(int, char**, int*) { return false; }

#endif

// Spins (yielding) until `n` threads are inside Wait() on `word`; a minute
// is a failure, not a hang.
void AwaitWaiters(const WaitWord& word, uint32_t n) {
  Deadline deadline = Deadline::After(absl::Seconds(60));
  while (word.num_waiters() < n) {
    ASSERT_FALSE(deadline.Expired()) << "fewer than " << n << " waiters";
    std::this_thread::yield();
  }
}

TEST(WaitWordTest, ReturnsAtOnceWhenTheValueDiffers) {
  WaitWord word(1);
  EXPECT_TRUE(word.Wait(0, Deadline::Never()).ok());
  EXPECT_EQ(word.num_waiters(), 0u);
}

TEST(WaitWordTest, ZeroFilledMemoryIsAWordHoldingZero) {
  alignas(WaitWord) unsigned char buf[sizeof(WaitWord)];
  std::memset(buf, 0, sizeof buf);
  WaitWord* word = reinterpret_cast<WaitWord*>(buf);
  EXPECT_EQ(word->value().load(), 0u);
  EXPECT_TRUE(word->Wait(7, Deadline::Never()).ok());
  EXPECT_TRUE(IsTimeout(word->Wait(0, Deadline::Now())));
  word->ForgetInThisProcess();
}

TEST(WaitWordTest, NonBlockingWaitTimesOutAtOnce) {
  WaitWord word;
  absl::Status s = word.Wait(0, Deadline::Now());
  EXPECT_TRUE(IsTimeout(s)) << s;
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(WaitWordTest, TimesOutAfterAtLeastTheTimeout) {
  WaitWord word;
  const int64_t start = Deadline::NowNanos();
  Deadline deadline = Deadline::After(absl::Milliseconds(100));
  absl::Status s;
  int returns = 0;
  do {
    s = word.Wait(0, deadline);
    ++returns;
  } while (s.ok());
  EXPECT_TRUE(IsTimeout(s)) << s;
  EXPECT_GE(Deadline::NowNanos() - start, 100 * 1000 * 1000);
  EXPECT_GE(returns, 1);
  EXPECT_EQ(word.num_waiters(), 0u);
  word.ForgetInThisProcess();
}

TEST(WaitWordTest, WakeWithoutSleepersIsOk) {
  WaitWord word;
  word.value().store(1);
  EXPECT_TRUE(word.Wake(1).ok());
  EXPECT_TRUE(word.Wake(0).ok());
  EXPECT_TRUE(word.WakeAll().ok());
}

TEST(WaitWordTest, WakesAThreadOfTheSameProcess) {
  WaitWord word;
  std::atomic<bool> saw_change{false};
  std::thread sleeper([&] {
    while (word.value().load() == 0) {
      if (!word.Wait(0, Deadline::Never()).ok()) return;
    }
    saw_change = true;
  });
  AwaitWaiters(word, 1);
  word.value().store(1);
  EXPECT_TRUE(word.Wake(1).ok());
  sleeper.join();
  EXPECT_TRUE(saw_change);
  word.ForgetInThisProcess();
}

TEST(WaitWordTest, WakeCountWakesAtLeastThatMany) {
  WaitWord word;
  std::atomic<int> returned{0};
  std::vector<std::thread> sleepers;
  for (int i = 0; i < 3; ++i) {
    sleepers.emplace_back([&] {
      // One wait each, on a value that never changes: only a wake (or a
      // spurious return) ends it.
      word.Wait(0, Deadline::Never()).IgnoreError();
      returned.fetch_add(1);
    });
  }
  AwaitWaiters(word, 3);
  // The word never changes, so a wake sent before a sleeper reached the
  // kernel would be lost on Linux: keep waking until two have returned.
  while (returned.load() < 2) {
    ASSERT_TRUE(word.Wake(2 - returned.load()).ok());
    std::this_thread::yield();
  }
  while (returned.load() < 3) {
    ASSERT_TRUE(word.WakeAll().ok());
    std::this_thread::yield();
  }
  for (std::thread& t : sleepers) t.join();
  EXPECT_EQ(word.num_waiters(), 0u);
  word.ForgetInThisProcess();
}

// A barrier of four threads on one word, round after round: the last to
// arrive bumps the word and wakes the others, who wait for the bump. A
// wake-up meant for one round's sleepers must not be spent on a thread that
// is already waiting in the next round: that strands a sleeper for good.
TEST(WaitWordTest, EveryRoundOfSleepersIsWoken) {
  constexpr int kThreads = 4;
  constexpr uint32_t kRounds = 2000;
  WaitWord word;
  std::atomic<int> arrived{0};
  std::atomic<bool> failed{false};
  auto party = [&] {
    for (uint32_t round = 0; round < kRounds && !failed.load(); ++round) {
      if (arrived.fetch_add(1) + 1 == kThreads) {
        arrived.store(0);
        word.value().fetch_add(1);
        // Both kinds of wake-up: all, and exactly the sleepers' number.
        absl::Status s =
            round % 2 == 0 ? word.WakeAll() : word.Wake(kThreads - 1);
        if (!s.ok()) failed = true;
        continue;
      }
      // A round takes microseconds; a stranded sleeper would never wake,
      // and the test's time limit is a minute.
      Deadline deadline = Deadline::After(absl::Seconds(20));
      while (word.value().load() == round && !failed.load()) {
        if (!word.Wait(round, deadline).ok()) {
          failed = true;
          word.WakeAll().IgnoreError();  // let the others see it
          break;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(party);
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(word.value().load(), kRounds);
  EXPECT_EQ(word.num_waiters(), 0u);
  word.ForgetInThisProcess();
}

TEST(WaitWordTest, WokenAcrossProcesses) {
  SharedPage page;
  absl::StatusOr<ChildProcess> child = page.StartChild("wait");
  ASSERT_TRUE(child.ok()) << child.status();
  // The child is inside Wait() (asleep, or about to compare and sleep).
  AwaitWaiters(page.get()->word, 1);
  page.get()->word.value().store(1);
  ASSERT_TRUE(page.get()->word.Wake(1).ok());
  EXPECT_EQ(ExitCode(child), 0);
  EXPECT_EQ(page.get()->word.num_waiters(), 0u);
}

TEST(WaitWordTest, WakeAllWakesEveryProcess) {
  SharedPage page;
  std::vector<absl::StatusOr<ChildProcess>> children;
  uint32_t started = 0;
  for (int i = 0; i < 3; ++i) {
    children.push_back(page.StartChild("wait"));
    if (children.back().ok()) ++started;  // ExitCode() reports the others
  }
  AwaitWaiters(page.get()->word, started);
  page.get()->word.value().store(1);
  ASSERT_TRUE(page.get()->word.WakeAll().ok());
  for (auto& c : children) EXPECT_EQ(ExitCode(c), 0);
}

TEST(WaitWordTest, ChangeBeforeTheChildSleepsIsNotMissed) {
  SharedPage page;
  page.get()->word.value().store(1);
  ASSERT_TRUE(page.get()->word.WakeAll().ok());
  // The child finds the word already changed and must not sleep.
  absl::StatusOr<ChildProcess> child = page.StartChild("wait");
  EXPECT_EQ(ExitCode(child), 0);
}

TEST(WaitWordTest, TimesOutInAnotherProcess) {
  SharedPage page;
  absl::StatusOr<ChildProcess> child = page.StartChild("timeout");
  EXPECT_EQ(ExitCode(child), 0);
}

}  // namespace
}  // namespace mp

int main(int argc, char** argv) {
  int exit_code = 0;
  if (mp::MaybeRunChild(argc, argv, &exit_code)) return exit_code;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
