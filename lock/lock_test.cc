// Lock and RLock: CPython's test_lock / test_rlock behaviours, across
// threads and across spawned processes (the codec carries the locks), and
// owner death. Linux-only fork cases are in lock_linux_test.cc.
#include "lock/lock.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/deadline.h"
#include "base/internal/test_child.h"
#include "base/internal/test_util.h"
#include "base/shared_memory.h"
#include "base/status.h"
#include "base/wait_word.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

using test_util::ChildRegistrar;
using test_util::ExitCode;
using test_util::SendThroughCodec;
using test_util::SpawnChild;

// A page the tests share with their children.
struct Board {
  WaitWord ready;  // a child sets it once it holds the lock
  int64_t counter;
};

Board* BoardOf(const SharedMemory& shm) {
  return static_cast<Board*>(shm.data());
}

SharedMemory NewBoard() {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(sizeof(Board));
  EXPECT_TRUE(shm.ok()) << shm.status();
  return *std::move(shm);
}

// Sleeps until a child has set `ready`; a minute is a failure, not a hang.
void AwaitReady(Board* board) {
  Deadline deadline = Deadline::After(absl::Seconds(60));
  while (board->ready.value().load() == 0) {
    ASSERT_TRUE(board->ready.Wait(0, deadline).ok());
  }
}

void SetReady(Board* board) {
  board->ready.value().store(1);
  board->ready.WakeAll().IgnoreError();
}

// ---- children -------------------------------------------------------------

// Takes `lock` `levels` times, says so, and waits to be killed.
int HoldChild(Decoder& args) {
  AnyLock lock;
  SharedMemory board;
  int levels = 0;
  if (!args.Read(lock, board, levels).ok()) return 90;
  for (int i = 0; i < levels; ++i) {
    if (!lock.Acquire().ok()) return 91;
  }
  SetReady(BoardOf(board));
  test_util::SleepForever();
}
const ChildRegistrar kHold("hold", &HoldChild);

// Does `n` increments of the board's counter under `lock`.
int IncrementChild(Decoder& args) {
  AnyLock lock;
  SharedMemory board;
  int n = 0;
  if (!args.Read(lock, board, n).ok()) return 90;
  volatile int64_t* counter = &BoardOf(board)->counter;
  for (int i = 0; i < n; ++i) {
    if (!lock.Acquire().ok()) return 91;
    *counter = *counter + 1;
    if (!lock.Release().ok()) return 92;
  }
  return 0;
}
const ChildRegistrar kIncrement("increment", &IncrementChild);

// Exit 0 if a non-blocking acquire fails with a timeout.
int TryChild(Decoder& args) {
  AnyLock lock;
  if (!args.Read(lock).ok()) return 90;
  return IsTimeout(lock.Acquire(absl::ZeroDuration())) ? 0 : 1;
}
const ChildRegistrar kTry("try", &TryChild);

// Exit 0 if a 100 ms acquire times out after at least 100 ms.
int TimedChild(Decoder& args) {
  AnyLock lock;
  if (!args.Read(lock).ok()) return 90;
  int64_t start = Deadline::NowNanos();
  absl::Status s = lock.Acquire(absl::Milliseconds(100));
  if (!IsTimeout(s)) return 1;
  return Deadline::NowNanos() - start >= 100 * 1000 * 1000 ? 0 : 2;
}
const ChildRegistrar kTimed("timed", &TimedChild);

// Releases `lock`; the exit code says how that went: 0 OK, 1
// kFailedPrecondition, 2 anything else.
int ReleaseChild(Decoder& args) {
  AnyLock lock;
  if (!args.Read(lock).ok()) return 90;
  absl::Status s = lock.Release();
  if (s.ok()) return 0;
  return s.code() == absl::StatusCode::kFailedPrecondition ? 1 : 2;
}
const ChildRegistrar kRelease("release", &ReleaseChild);

// A child holding `lock` `levels` times and waiting to be killed; returns
// once it holds the lock.
absl::StatusOr<ChildProcess> SpawnHolder(AnyLock lock, int levels) {
  SharedMemory board = NewBoard();
  absl::StatusOr<ChildProcess> child = SpawnChild("hold", lock, board, levels);
  if (child.ok()) AwaitReady(BoardOf(board));
  return child;
}

// `processes` children each do `n` increments under `lock`: none is lost.
void ExpectProcessesIncrementExactly(AnyLock lock, int processes, int n) {
  SharedMemory board = NewBoard();
  std::vector<absl::StatusOr<ChildProcess>> children;
  for (int i = 0; i < processes; ++i) {
    children.push_back(SpawnChild("increment", lock, board, n));
  }
  for (auto& c : children) EXPECT_EQ(ExitCode(c), 0);
  EXPECT_EQ(BoardOf(board)->counter, int64_t{processes} * n);
}

// ---- Lock -----------------------------------------------------------------

TEST(LockTest, AcquireReleaseAsInCPythonTestLock) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_FALSE(lock->locked());
  EXPECT_TRUE(lock->Acquire().ok());
  EXPECT_TRUE(lock->locked());
  EXPECT_TRUE(lock->held_by_me());
  // Not recursive: a second try fails, even from the holder.
  EXPECT_TRUE(IsTimeout(lock->Acquire(absl::ZeroDuration())));
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_FALSE(lock->locked());
  absl::Status again = lock->Release();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.message(), "semaphore or lock released too many times");
}

TEST(LockTest, TimedAcquireOfAHeldLockWaitsAtLeastTheTimeout) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->Acquire().ok());
  int64_t start = Deadline::NowNanos();
  EXPECT_TRUE(IsTimeout(lock->Acquire(absl::Milliseconds(100))));
  EXPECT_GE(Deadline::NowNanos() - start, 100 * 1000 * 1000);
  EXPECT_TRUE(lock->Release().ok());
}

TEST(LockTest, GuardReleasesAtScopeEnd) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  {
    LockGuard guard(*lock);
    EXPECT_TRUE(guard.status().ok());
    EXPECT_TRUE(guard.held());
    EXPECT_TRUE(lock->locked());
    LockGuard second(*lock, absl::ZeroDuration());
    EXPECT_FALSE(second.held());
    EXPECT_TRUE(IsTimeout(second.status()));
  }
  EXPECT_FALSE(lock->locked());
}

TEST(LockTest, EmptyLockRefusesWork) {
  Lock lock;
  EXPECT_FALSE(lock.valid());
  EXPECT_EQ(lock.Acquire(), EmptyObjectError("Lock.Acquire"));
  EXPECT_EQ(lock.Release(), EmptyObjectError("Lock.Release"));
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(lock.held_by_me());
  std::vector<NativeHandle> handles;
  EXPECT_EQ(Encode(lock, &handles).status(), EmptyObjectError("Lock"));
}

TEST(LockTest, EmptyRLockAndAnyLockNameThemselves) {
  RLock rlock;
  EXPECT_FALSE(rlock.valid());
  EXPECT_EQ(rlock.Acquire(), EmptyObjectError("RLock.Acquire"));
  EXPECT_EQ(rlock.Release(), EmptyObjectError("RLock.Release"));
  EXPECT_FALSE(rlock.locked());
  AnyLock any;
  EXPECT_FALSE(any.valid());
  EXPECT_FALSE(any.recursive());
  EXPECT_EQ(any.Acquire(), EmptyObjectError("AnyLock.Acquire"));
  EXPECT_EQ(any.Release(), EmptyObjectError("AnyLock.Release"));
}

TEST(LockTest, MovedFromLocksAreEmpty) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  Lock moved = std::move(*lock);
  EXPECT_TRUE(moved.valid());
  EXPECT_FALSE(lock->valid());
  EXPECT_EQ(lock->Acquire(), EmptyObjectError("Lock.Acquire"));
  absl::StatusOr<RLock> rlock = RLock::Create();
  ASSERT_TRUE(rlock.ok());
  RLock assigned;
  assigned = std::move(*rlock);
  EXPECT_TRUE(assigned.valid());
  EXPECT_FALSE(rlock->valid());
  EXPECT_EQ(rlock->Release(), EmptyObjectError("RLock.Release"));
}

TEST(LockTest, CopiesAreTheSameLock) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  Lock copy = *lock;
  ASSERT_TRUE(copy.Acquire().ok());
  EXPECT_TRUE(lock->locked());
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_FALSE(copy.locked());
}

TEST(LockTest, AnotherThreadMayReleaseIt) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->Acquire().ok());
  absl::Status released;
  std::thread([&] { released = lock->Release(); }).join();
  EXPECT_TRUE(released.ok()) << released;
  EXPECT_FALSE(lock->locked());
  // And it goes on working, with owner-death detection for this thread.
  EXPECT_TRUE(lock->Acquire().ok());
  EXPECT_TRUE(lock->Release().ok());
}

TEST(LockTest, HolderBlocksUntilAnotherThreadReleases) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->Acquire().ok());
  std::atomic<bool> second_acquire_started{false};
  std::thread releaser([&] {
    while (!second_acquire_started) std::this_thread::yield();
    // Whether or not the holder is asleep yet, this release lets it go on.
    EXPECT_TRUE(lock->Release().ok());
  });
  second_acquire_started = true;
  EXPECT_TRUE(lock->Acquire().ok());
  releaser.join();
  EXPECT_TRUE(lock->Release().ok());
}

TEST(LockTest, ThreadsIncrementExactly) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  int64_t counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        LockGuard guard(*lock);
        ++counter;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, 20000);
}

TEST(LockTest, ThreadThatEndsHoldingItIsAnOwnerDeath) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  std::thread([&] { ASSERT_TRUE(lock->Acquire().ok()); }).join();
  absl::Status s = lock->Acquire(absl::Seconds(10));
  EXPECT_TRUE(IsOwnerDied(s)) << s;
  EXPECT_TRUE(lock->held_by_me());
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_TRUE(lock->Acquire().ok());  // normal from then on
  EXPECT_TRUE(lock->Release().ok());
}

TEST(LockTest, ChildProcessSeesItHeld) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->Acquire().ok());
  auto tried = SpawnChild("try", AnyLock(*lock));
  EXPECT_EQ(ExitCode(tried), 0);
  auto timed = SpawnChild("timed", AnyLock(*lock));
  EXPECT_EQ(ExitCode(timed), 0);
  EXPECT_TRUE(lock->Release().ok());
}

TEST(LockTest, ChildProcessMayReleaseIt) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->Acquire().ok());
  auto released = SpawnChild("release", AnyLock(*lock));
  EXPECT_EQ(ExitCode(released), 0);
  EXPECT_FALSE(lock->locked());
  auto again = SpawnChild("release", AnyLock(*lock));
  EXPECT_EQ(ExitCode(again), 1);  // released too many times
}

TEST(LockTest, ProcessesIncrementExactly) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  ExpectProcessesIncrementExactly(*lock, 4, 5000);
}

TEST(LockTest, ProcessKilledHoldingItIsAnOwnerDeath) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  absl::StatusOr<ChildProcess> child = SpawnHolder(*lock, 1);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(lock->locked());
  EXPECT_FALSE(lock->held_by_me());
  ASSERT_TRUE(child->Kill().ok());
  int64_t start = Deadline::NowNanos();
  absl::Status s = lock->Acquire(absl::Seconds(20));
  EXPECT_TRUE(IsOwnerDied(s)) << s;
  EXPECT_LT(Deadline::NowNanos() - start, int64_t{5} * 1000 * 1000 * 1000);
  EXPECT_TRUE(lock->held_by_me());
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_TRUE(lock->Acquire(absl::ZeroDuration()).ok());
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_EQ(*child->Wait(), -9);
}

TEST(LockTest, SleepingAcquirerIsWokenByAnOwnerDeath) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  absl::StatusOr<ChildProcess> child = SpawnHolder(*lock, 1);
  ASSERT_TRUE(child.ok()) << child.status();
  absl::Status s;
  bool held = false;
  std::thread waiter([&] {
    s = lock->Acquire(absl::Seconds(20));
    held = lock->held_by_me();
    // A thread that ended holding it would be the next owner death.
    if (Acquired(s)) lock->Release().IgnoreError();
  });
  // Kill while the waiter is (most likely) asleep; either way it must get
  // the lock with OwnerDied.
  ASSERT_TRUE(child->Kill().ok());
  waiter.join();
  EXPECT_TRUE(IsOwnerDied(s)) << s;
  EXPECT_TRUE(held);
  EXPECT_FALSE(lock->locked());
  EXPECT_TRUE(lock->Acquire(absl::ZeroDuration()).ok());
  EXPECT_TRUE(lock->Release().ok());
}

TEST(LockTest, DecodeRefusesAnRLock) {
  absl::StatusOr<RLock> rlock = RLock::Create();
  ASSERT_TRUE(rlock.ok());
  Lock lock;
  absl::Status s = SendThroughCodec(*rlock, &lock);
  EXPECT_TRUE(IsDecodeError(s)) << s;
}

// ---- RLock ----------------------------------------------------------------

TEST(RLockTest, AcquireReleaseAsInCPythonTestRLock) {
  absl::StatusOr<RLock> lock = RLock::Create();
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_TRUE(lock->Acquire().ok());
  EXPECT_TRUE(lock->Acquire().ok());
  EXPECT_TRUE(lock->Acquire(absl::ZeroDuration()).ok());
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_TRUE(lock->locked());
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_FALSE(lock->locked());
  absl::Status again = lock->Release();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RLockTest, OnlyTheHolderMayRelease) {
  absl::StatusOr<RLock> lock = RLock::Create();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->Acquire().ok());
  absl::Status by_thread;
  std::thread([&] { by_thread = lock->Release(); }).join();
  EXPECT_EQ(by_thread.code(), absl::StatusCode::kFailedPrecondition);
  auto by_process = SpawnChild("release", AnyLock(*lock));
  EXPECT_EQ(ExitCode(by_process), 1);
  EXPECT_TRUE(lock->held_by_me());
  EXPECT_TRUE(lock->Release().ok());
}

TEST(RLockTest, OtherThreadsAndProcessesWait) {
  absl::StatusOr<RLock> lock = RLock::Create();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->Acquire().ok());
  ASSERT_TRUE(lock->Acquire().ok());
  absl::Status by_thread;
  std::thread([&] { by_thread = lock->Acquire(absl::ZeroDuration()); }).join();
  EXPECT_TRUE(IsTimeout(by_thread));
  auto timed = SpawnChild("timed", AnyLock(*lock));
  EXPECT_EQ(ExitCode(timed), 0);
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_TRUE(lock->Release().ok());
}

TEST(RLockTest, ProcessKilledHoldingItIsAnOwnerDeath) {
  absl::StatusOr<RLock> lock = RLock::Create();
  ASSERT_TRUE(lock.ok());
  absl::StatusOr<ChildProcess> child = SpawnHolder(*lock, 3);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->Kill().ok());
  absl::Status s = lock->Acquire(absl::Seconds(20));
  EXPECT_TRUE(IsOwnerDied(s)) << s;
  // One level, whatever the dead holder had.
  EXPECT_TRUE(lock->Release().ok());
  EXPECT_FALSE(lock->locked());
  EXPECT_TRUE(lock->Acquire().ok());
  EXPECT_TRUE(lock->Release().ok());
}

TEST(RLockTest, ProcessesIncrementExactly) {
  absl::StatusOr<RLock> lock = RLock::Create();
  ASSERT_TRUE(lock.ok());
  ExpectProcessesIncrementExactly(*lock, 3, 3000);
}

}  // namespace
}  // namespace mp

int main(int argc, char** argv) { return mp::test_util::TestMain(argc, argv); }
