// Condition: CPython's test_notify, test_notify_all, test_notify_n,
// test_timeout, test_waitfor, test_waitfor_timeout, with waiters in spawned
// processes and in threads.
#include "lock/condition.h"

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
#include "base/status.h"
#include "gtest/gtest.h"
#include "lock/event.h"
#include "lock/lock.h"
#include "lock/semaphore.h"

namespace mp {
namespace {

using test_util::ChildRegistrar;
using test_util::ExitCode;
using test_util::SpawnChild;

// CPython's _TestCondition.f: take the lock, say "sleeping", wait (up to
// `timeout_ms`, < 0: forever), say "woken" (or "timed out"), let go.
struct Signals {
  Semaphore sleeping;
  Semaphore woken;
  Semaphore timed_out;
};

int Waiter(Condition cond, const Signals& sig, int64_t timeout_ms) {
  if (!cond.Acquire().ok()) return 91;
  if (!sig.sleeping.valid()) return 92;
  Semaphore sleeping = sig.sleeping;
  if (!sleeping.Release().ok()) return 93;
  absl::Status s = cond.Wait(timeout_ms < 0 ? absl::InfiniteDuration()
                                            : absl::Milliseconds(timeout_ms));
  Semaphore report = s.ok() ? sig.woken : sig.timed_out;
  int rc = (s.ok() || IsTimeout(s)) ? 0 : 94;
  if (!report.Release().ok()) rc = 95;
  if (!cond.lock().held_by_me()) rc = 96;
  if (!cond.Release().ok()) rc = 97;
  return rc;
}

int WaiterChild(Decoder& args) {
  Condition cond;
  Signals sig;
  int64_t timeout_ms = -1;
  if (!args.Read(cond, sig.sleeping, sig.woken, sig.timed_out, timeout_ms)
           .ok()) {
    return 90;
  }
  return Waiter(cond, sig, timeout_ms);
}
const ChildRegistrar kWaiter("waiter", &WaiterChild);

class ConditionTest : public testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Condition> cond = Condition::Create();
    ASSERT_TRUE(cond.ok()) << cond.status();
    cond_ = *cond;
    for (Semaphore* s : {&sig_.sleeping, &sig_.woken, &sig_.timed_out}) {
      absl::StatusOr<Semaphore> sem = Semaphore::Create(0);
      ASSERT_TRUE(sem.ok());
      *s = *sem;
    }
  }
  void TearDown() override {
    // A test that failed half way may leave waiters behind: release them,
    // so that the failure is reported instead of a hang.
    {
      LockGuard guard(cond_);
      if (guard.held()) cond_.NotifyAll().IgnoreError();
    }
    for (std::thread& t : threads_) t.join();
    for (auto& c : children_) EXPECT_EQ(ExitCode(c), 0);
  }

  // `n` waiting processes and `n` waiting threads.
  void StartWaiters(int n, int64_t timeout_ms) {
    for (int i = 0; i < n; ++i) {
      children_.push_back(SpawnChild("waiter", cond_, sig_.sleeping, sig_.woken,
                                     sig_.timed_out, timeout_ms));
      threads_.emplace_back([this, timeout_ms] {
        EXPECT_EQ(Waiter(cond_, sig_, timeout_ms), 0);
      });
    }
  }
  // Returns once `n` waiters have said they are about to wait (they hold
  // the lock then, so once we get it they are inside Wait()).
  void AwaitSleeping(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(sig_.sleeping.Acquire(absl::Seconds(60)).ok());
    }
  }
  void AwaitWoken(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(sig_.woken.Acquire(absl::Seconds(60)).ok());
    }
  }
  // No further waiter wakes: there is no event to wait for, so this gives
  // a wrongly woken one a generous moment to show up.
  void ExpectNoMoreWoken() {
    EXPECT_TRUE(IsTimeout(sig_.woken.Acquire(absl::Milliseconds(200))));
  }
  void Notify(int n) {
    LockGuard guard(cond_);
    ASSERT_TRUE(guard.status().ok());
    ASSERT_TRUE(cond_.Notify(n).ok());
  }

  Condition cond_;
  Signals sig_;
  std::vector<std::thread> threads_;
  std::vector<absl::StatusOr<ChildProcess>> children_;
};

TEST_F(ConditionTest, NotifyWakesExactlyOneWaiter) {
  StartWaiters(1, -1);  // one process, one thread
  AwaitSleeping(2);
  Notify(1);
  AwaitWoken(1);
  ExpectNoMoreWoken();
  Notify(1);
  AwaitWoken(1);
  EXPECT_EQ(sig_.timed_out.value(), 0);
}

TEST_F(ConditionTest, SixTimedWaitersAllTimeOutThenNotifyAllWakesSixMore) {
  StartWaiters(3, 100);
  AwaitSleeping(6);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(sig_.timed_out.Acquire(absl::Seconds(60)).ok());
  }
  EXPECT_EQ(sig_.woken.value(), 0);
  // The timed-out tickets are gone: a notify now wakes no one, and later
  // waiters are woken by notify_all.
  Notify(3);
  StartWaiters(3, -1);
  AwaitSleeping(6);
  ExpectNoMoreWoken();
  {
    LockGuard guard(cond_);
    ASSERT_TRUE(cond_.NotifyAll().ok());
  }
  AwaitWoken(6);
}

TEST_F(ConditionTest, NotifyTwoThenFour) {
  StartWaiters(3, -1);
  AwaitSleeping(6);
  Notify(2);
  AwaitWoken(2);
  ExpectNoMoreWoken();
  Notify(4);
  AwaitWoken(4);
  Notify(3);  // nobody left
  ExpectNoMoreWoken();
}

TEST_F(ConditionTest, TimedOutWaiterInTheMiddleIsSkipped) {
  // Ticket order: A (forever), B (100 ms), C (forever). B times out; a
  // notify(1) must wake A, the next one C.
  std::atomic<int> order{0};
  int a = 0, c = 0;
  auto waiter = [&](int64_t ms, int* when) {
    LockGuard guard(cond_);
    ASSERT_TRUE(sig_.sleeping.Release().ok());
    absl::Status s =
        cond_.Wait(ms < 0 ? absl::InfiniteDuration() : absl::Milliseconds(ms));
    if (s.ok()) *when = ++order;
    ASSERT_TRUE((s.ok() ? sig_.woken : sig_.timed_out).Release().ok());
  };
  threads_.emplace_back(waiter, -1, &a);
  AwaitSleeping(1);
  threads_.emplace_back(waiter, 100, nullptr);
  AwaitSleeping(1);
  threads_.emplace_back(waiter, -1, &c);
  AwaitSleeping(1);
  ASSERT_TRUE(sig_.timed_out.Acquire(absl::Seconds(60)).ok());
  Notify(1);
  AwaitWoken(1);
  ExpectNoMoreWoken();
  Notify(1);
  AwaitWoken(1);
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(c, 2);
}

TEST_F(ConditionTest, WaitTimesOutAfterAtLeastTheTimeout) {
  LockGuard guard(cond_);
  int64_t start = Deadline::NowNanos();
  EXPECT_TRUE(IsTimeout(cond_.Wait(absl::Milliseconds(100))));
  EXPECT_GE(Deadline::NowNanos() - start, 100 * 1000 * 1000);
  EXPECT_TRUE(cond_.lock().held_by_me());
}

TEST_F(ConditionTest, WaitAndNotifyNeedTheLock) {
  absl::Status w = cond_.Wait(absl::ZeroDuration());
  EXPECT_EQ(w.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.message(), "must acquire() condition before using wait()");
  absl::Status n = cond_.Notify();
  EXPECT_EQ(n.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(n.message(), "lock is not owned");
  EXPECT_EQ(cond_.NotifyAll().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(EmptyConditionTest, RefusesWorkNamingTheCall) {
  Condition empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_FALSE(empty.lock().valid());
  EXPECT_EQ(empty.Acquire(), EmptyObjectError("Condition.Acquire"));
  EXPECT_EQ(empty.Release(), EmptyObjectError("Condition.Release"));
  EXPECT_EQ(empty.Wait(), EmptyObjectError("Condition.Wait"));
  bool asked = false;
  EXPECT_EQ(empty.WaitFor([&] { return asked = true; }),
            EmptyObjectError("Condition.WaitFor"));
  EXPECT_FALSE(asked);
  EXPECT_EQ(empty.Notify(), EmptyObjectError("Condition.Notify"));
  EXPECT_EQ(empty.Notify(0), EmptyObjectError("Condition.Notify"));
  EXPECT_EQ(empty.NotifyAll(), EmptyObjectError("Condition.NotifyAll"));
  absl::StatusOr<Condition> cond = Condition::Create();
  ASSERT_TRUE(cond.ok());
  Condition moved = std::move(*cond);
  EXPECT_TRUE(moved.valid());
  EXPECT_FALSE(cond->valid());
  EXPECT_EQ(cond->Acquire(), EmptyObjectError("Condition.Acquire"));
}

TEST_F(ConditionTest, WaitGivesBackEveryLevelOfAnRLock) {
  ASSERT_TRUE(cond_.Acquire().ok());
  ASSERT_TRUE(cond_.Acquire().ok());
  std::thread notifier([&] {
    // Gets the lock only if Wait() gave back both levels.
    LockGuard guard(cond_);
    ASSERT_TRUE(guard.status().ok());
    ASSERT_TRUE(cond_.Notify().ok());
  });
  EXPECT_TRUE(cond_.Wait(absl::Seconds(60)).ok());
  notifier.join();
  EXPECT_TRUE(cond_.Release().ok());
  EXPECT_TRUE(cond_.lock().held_by_me());  // the second level is back
  EXPECT_TRUE(cond_.Release().ok());
  EXPECT_FALSE(cond_.lock().locked());
}

TEST_F(ConditionTest, WorksOverAPlainLock) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  absl::StatusOr<Condition> cond = Condition::Create(*lock);
  ASSERT_TRUE(cond.ok());
  std::atomic<bool> ready{false};
  std::thread setter([&] {
    LockGuard guard(*cond);
    ready = true;
    ASSERT_TRUE(cond->NotifyAll().ok());
  });
  {
    LockGuard guard(*cond);
    EXPECT_TRUE(cond->WaitFor([&] { return ready.load(); }).ok());
  }
  setter.join();
  EXPECT_FALSE(lock->locked());
}

TEST_F(ConditionTest, WaitForAsInCPython) {
  std::atomic<int> state{0};
  std::thread changer([&] {
    for (int i = 0; i < 4; ++i) {
      LockGuard guard(cond_);
      ++state;
      ASSERT_TRUE(cond_.Notify().ok());
    }
  });
  {
    LockGuard guard(cond_);
    EXPECT_TRUE(cond_.WaitFor([&] { return state.load() == 4; }).ok());
    EXPECT_EQ(state.load(), 4);
  }
  changer.join();
}

TEST_F(ConditionTest, WaitForTimesOut) {
  LockGuard guard(cond_);
  int64_t start = Deadline::NowNanos();
  int calls = 0;
  absl::Status s = cond_.WaitFor(
      [&] {
        ++calls;
        return false;
      },
      absl::Milliseconds(100));
  EXPECT_TRUE(IsTimeout(s)) << s;
  EXPECT_GE(Deadline::NowNanos() - start, 100 * 1000 * 1000);
  EXPECT_GE(calls, 1);
  EXPECT_TRUE(cond_.WaitFor([] { return true; }, absl::ZeroDuration()).ok());
}

// Takes the condition's lock, says so, and waits to be killed.
int HoldChild(Decoder& args) {
  Condition cond;
  Event held;
  if (!args.Read(cond, held).ok()) return 90;
  if (!cond.Acquire().ok() || !held.Set().ok()) return 91;
  test_util::SleepForever();
}
const ChildRegistrar kHold("hold", &HoldChild);

TEST_F(ConditionTest, ProcessKilledHoldingTheLockIsAnOwnerDeath) {
  absl::StatusOr<Event> held = Event::Create();
  ASSERT_TRUE(held.ok());
  auto child = SpawnChild("hold", cond_, *held);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(held->Wait(absl::Seconds(60)).ok());
  ASSERT_TRUE(child->Kill().ok());
  absl::Status s = cond_.Acquire(absl::Seconds(30));
  EXPECT_TRUE(IsOwnerDied(s)) << s;
  EXPECT_TRUE(cond_.Notify().ok());  // held: the condition works on
  EXPECT_TRUE(cond_.Release().ok());
  EXPECT_NE(*child->Wait(), 0);
}

}  // namespace
}  // namespace mp

int main(int argc, char** argv) { return mp::test_util::TestMain(argc, argv); }
