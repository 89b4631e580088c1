// Semaphore and BoundedSemaphore (CPython's test_semaphore,
// test_bounded_semaphore, test_timeout) and Event (test_event), across
// threads and spawned processes.
#include "lock/semaphore.h"

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
#include "gtest/gtest.h"
#include "lock/event.h"

namespace mp {
namespace {

using test_util::ChildRegistrar;
using test_util::ExitCode;
using test_util::SendThroughCodec;
using test_util::SpawnChild;

// Releases `sem` once.
int ReleaseChild(Decoder& args) {
  Semaphore sem;
  if (!args.Read(sem).ok()) return 90;
  return sem.Release().ok() ? 0 : 1;
}
const ChildRegistrar kRelease("release", &ReleaseChild);

// Takes a unit and waits to be killed.
int HoldChild(Decoder& args) {
  Semaphore sem;
  Event held;
  if (!args.Read(sem, held).ok()) return 90;
  if (!sem.Acquire().ok() || !held.Set().ok()) return 91;
  test_util::SleepForever();
}
const ChildRegistrar kHold("hold", &HoldChild);

// `rounds` times: takes a unit, counts itself in, records the most seen
// inside at once, counts itself out, gives the unit back.
struct Inside {
  std::atomic<int32_t> now;
  std::atomic<int32_t> most;
};
int CrowdChild(Decoder& args) {
  Semaphore sem;
  SharedMemory board;
  int rounds = 0;
  if (!args.Read(sem, board, rounds).ok()) return 90;
  Inside* inside = static_cast<Inside*>(board.data());
  for (int i = 0; i < rounds; ++i) {
    if (!sem.Acquire().ok()) return 91;
    int32_t n = inside->now.fetch_add(1) + 1;
    int32_t most = inside->most.load();
    while (n > most && !inside->most.compare_exchange_weak(most, n)) {
    }
    std::this_thread::yield();
    inside->now.fetch_sub(1);
    if (!sem.Release().ok()) return 92;
  }
  return 0;
}
const ChildRegistrar kCrowd("crowd", &CrowdChild);

// Waits for `event`, then exits 0; 1 if the wait failed.
int EventWaitChild(Decoder& args) {
  Event event;
  if (!args.Read(event).ok()) return 90;
  return event.Wait(absl::Seconds(60)).ok() ? 0 : 1;
}
const ChildRegistrar kEventWait("event_wait", &EventWaitChild);

int EventSetChild(Decoder& args) {
  Event event;
  if (!args.Read(event).ok()) return 90;
  return event.Set().ok() ? 0 : 1;
}
const ChildRegistrar kEventSet("event_set", &EventSetChild);

template <typename S>
void CheckCPythonSemaphoreSequence(S& sem) {
  EXPECT_EQ(sem.value(), 2);
  EXPECT_TRUE(sem.Acquire().ok());
  EXPECT_EQ(sem.value(), 1);
  EXPECT_TRUE(sem.Acquire().ok());
  EXPECT_EQ(sem.value(), 0);
  EXPECT_TRUE(IsTimeout(sem.Acquire(absl::ZeroDuration())));
  EXPECT_EQ(sem.value(), 0);
  EXPECT_TRUE(sem.Release().ok());
  EXPECT_EQ(sem.value(), 1);
  EXPECT_TRUE(sem.Release().ok());
  EXPECT_EQ(sem.value(), 2);
}

TEST(SemaphoreTest, CPythonSequence) {
  absl::StatusOr<Semaphore> sem = Semaphore::Create(2);
  ASSERT_TRUE(sem.ok()) << sem.status();
  CheckCPythonSemaphoreSequence(*sem);
  EXPECT_TRUE(sem->Release().ok());
  EXPECT_EQ(sem->value(), 3);
  EXPECT_TRUE(sem->Release().ok());
  EXPECT_EQ(sem->value(), 4);
}

TEST(SemaphoreTest, BoundedRefusesToGoPastItsStart) {
  absl::StatusOr<BoundedSemaphore> sem = BoundedSemaphore::Create(2);
  ASSERT_TRUE(sem.ok());
  CheckCPythonSemaphoreSequence(*sem);
  absl::Status s = sem->Release();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "semaphore or lock released too many times");
  EXPECT_EQ(sem->value(), 2);
}

TEST(SemaphoreTest, BadValuesAndEmptyHandles) {
  EXPECT_EQ(Semaphore::Create(-1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BoundedSemaphore::Create(-3).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Semaphore> full = Semaphore::Create(Semaphore::kMaxValue);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->Release().code(), absl::StatusCode::kFailedPrecondition);
  Semaphore empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.Acquire(), EmptyObjectError("Semaphore.Acquire"));
  EXPECT_EQ(empty.Release(), EmptyObjectError("Semaphore.Release"));
  EXPECT_EQ(empty.value(), 0);
  BoundedSemaphore bounded;
  EXPECT_FALSE(bounded.valid());
  EXPECT_EQ(bounded.Acquire(), EmptyObjectError("BoundedSemaphore.Acquire"));
  EXPECT_EQ(bounded.Release(), EmptyObjectError("BoundedSemaphore.Release"));
  EXPECT_EQ(bounded.value(), 0);
  absl::StatusOr<Semaphore> sem = Semaphore::Create(1);
  ASSERT_TRUE(sem.ok());
  Semaphore moved = std::move(*sem);
  EXPECT_TRUE(moved.valid());
  EXPECT_FALSE(sem->valid());
  EXPECT_EQ(sem->Acquire(), EmptyObjectError("Semaphore.Acquire"));
}

TEST(SemaphoreTest, TimeoutsAsInCPython) {
  absl::StatusOr<Semaphore> sem = Semaphore::Create(0);
  ASSERT_TRUE(sem.ok());
  int64_t start = Deadline::NowNanos();
  EXPECT_TRUE(IsTimeout(sem->Acquire(absl::ZeroDuration())));
  EXPECT_TRUE(IsTimeout(sem->Acquire(absl::Milliseconds(-5))));
  EXPECT_TRUE(IsTimeout(sem->Acquire(absl::Milliseconds(100))));
  EXPECT_GE(Deadline::NowNanos() - start, 100 * 1000 * 1000);
}

TEST(SemaphoreTest, ReleaseFromAThreadWakesAWaiter) {
  absl::StatusOr<Semaphore> sem = Semaphore::Create(0);
  ASSERT_TRUE(sem.ok());
  std::thread releaser([&] { EXPECT_TRUE(sem->Release().ok()); });
  EXPECT_TRUE(sem->Acquire(absl::Seconds(30)).ok());
  releaser.join();
  EXPECT_EQ(sem->value(), 0);
}

TEST(SemaphoreTest, ReleaseFromAProcessWakesAWaiter) {
  absl::StatusOr<Semaphore> sem = Semaphore::Create(0);
  ASSERT_TRUE(sem.ok());
  auto child = SpawnChild("release", *sem);
  EXPECT_TRUE(sem->Acquire(absl::Seconds(30)).ok());
  EXPECT_EQ(ExitCode(child), 0);
}

TEST(SemaphoreTest, NeverMoreInsideThanItsValue) {
  absl::StatusOr<Semaphore> sem = Semaphore::Create(2);
  absl::StatusOr<SharedMemory> board = SharedMemory::Create(sizeof(Inside));
  ASSERT_TRUE(sem.ok() && board.ok());
  std::vector<absl::StatusOr<ChildProcess>> children;
  for (int i = 0; i < 4; ++i) {
    children.push_back(SpawnChild("crowd", *sem, *board, 300));
  }
  for (auto& c : children) EXPECT_EQ(ExitCode(c), 0);
  Inside* inside = static_cast<Inside*>(board->data());
  EXPECT_EQ(inside->now.load(), 0);
  EXPECT_GE(inside->most.load(), 1);
  EXPECT_LE(inside->most.load(), 2);
  EXPECT_EQ(sem->value(), 2);
}

// A semaphore has no owner: a unit taken by a process that dies is gone,
// which this test pins down (see semaphore.h).
TEST(SemaphoreTest, UnitHeldByADeadProcessStaysTaken) {
  absl::StatusOr<Semaphore> sem = Semaphore::Create(1);
  absl::StatusOr<Event> held = Event::Create();
  ASSERT_TRUE(sem.ok() && held.ok());
  auto child = SpawnChild("hold", *sem, *held);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(held->Wait(absl::Seconds(30)).ok());
  ASSERT_TRUE(child->Kill().ok());
  EXPECT_NE(*child->Wait(), 0);
  EXPECT_EQ(sem->value(), 0);
  EXPECT_TRUE(IsTimeout(sem->Acquire(absl::ZeroDuration())));
}

TEST(SemaphoreTest, DecodeChecksTheKind) {
  absl::StatusOr<BoundedSemaphore> bounded = BoundedSemaphore::Create(1);
  ASSERT_TRUE(bounded.ok());
  Semaphore sem;
  EXPECT_TRUE(IsDecodeError(SendThroughCodec(*bounded, &sem)));
}

// ---- Event ------------------------------------------------------------------

}  // namespace

class EventTestPeer {
 public:
  // Threads of every process inside Wait() on `event` right now.
  static uint32_t Waiters(const Event& event) {
    return event.state_->flag.num_waiters();
  }
};

namespace {

TEST(EventTest, CPythonSequence) {
  absl::StatusOr<Event> event = Event::Create();
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_FALSE(event->is_set());
  EXPECT_TRUE(IsTimeout(event->Wait(absl::ZeroDuration())));
  int64_t start = Deadline::NowNanos();
  EXPECT_TRUE(IsTimeout(event->Wait(absl::Milliseconds(100))));
  EXPECT_GE(Deadline::NowNanos() - start, 100 * 1000 * 1000);
  EXPECT_TRUE(event->Set().ok());
  EXPECT_TRUE(event->is_set());
  EXPECT_TRUE(event->Wait().ok());
  EXPECT_TRUE(event->Wait(absl::Milliseconds(100)).ok());
  EXPECT_TRUE(event->Clear().ok());
  EXPECT_FALSE(event->is_set());
  Event empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.Set(), EmptyObjectError("Event.Set"));
  EXPECT_EQ(empty.Clear(), EmptyObjectError("Event.Clear"));
  EXPECT_EQ(empty.Wait(), EmptyObjectError("Event.Wait"));
  EXPECT_FALSE(empty.is_set());
}

TEST(EventTest, SetInAProcessWakesTheWaiter) {
  absl::StatusOr<Event> event = Event::Create();
  ASSERT_TRUE(event.ok());
  auto child = SpawnChild("event_set", *event);
  EXPECT_TRUE(event->Wait(absl::Seconds(30)).ok());
  EXPECT_EQ(ExitCode(child), 0);
}

TEST(EventTest, SetWakesEveryWaitingProcessAndThread) {
  absl::StatusOr<Event> event = Event::Create();
  ASSERT_TRUE(event.ok());
  std::vector<absl::StatusOr<ChildProcess>> children;
  uint32_t started = 0;
  for (int i = 0; i < 3; ++i) {
    children.push_back(SpawnChild("event_wait", *event));
    if (children.back().ok()) ++started;  // ExitCode() reports the others
  }
  std::vector<std::thread> threads;
  std::atomic<int> woken{0};
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      if (event->Wait(absl::Seconds(60)).ok()) woken.fetch_add(1);
    });
  }
  // Set only once all six are inside Wait(), so that it has sleepers to
  // wake rather than a flag they would find already set.
  Deadline deadline = Deadline::After(absl::Seconds(60));
  while (EventTestPeer::Waiters(*event) < started + 3 && !deadline.Expired()) {
    std::this_thread::yield();
  }
  EXPECT_EQ(EventTestPeer::Waiters(*event), started + 3);
  ASSERT_TRUE(event->Set().ok());
  for (std::thread& t : threads) t.join();
  for (auto& c : children) EXPECT_EQ(ExitCode(c), 0);
  EXPECT_EQ(woken.load(), 3);
}

}  // namespace
}  // namespace mp

int main(int argc, char** argv) { return mp::test_util::TestMain(argc, argv); }
