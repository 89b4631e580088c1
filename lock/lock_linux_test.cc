// Linux specifics of the robust mutex: its entries share glibc's robust list
// with glibc's own robust pthread mutexes (interleaved, in one thread and
// across a SIGKILL), nested holds released out of order, entries left on a
// list by a release from another thread or by a killed holder whose waiter
// takes over while it exits, a holder out of the kernel's sight, and plain
// fork() children.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/internal/test_child.h"
#include "base/internal/test_util.h"
#include "base/launch.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "lock/barrier.h"
#include "lock/internal/robust_mutex.h"
#include "lock/lock.h"

namespace mp {
namespace {

using lock_internal::RobustHead;
using test_util::ExitCode;
using test_util::ForkAndHold;
using test_util::ForkChild;

// Far beyond any fair wait, short of a hang.
constexpr absl::Duration kPatience = absl::Seconds(60);

RobustHead* MyRobustHead() {
  RobustHead* head = nullptr;
  size_t len = 0;
  EXPECT_EQ(syscall(SYS_get_robust_list, 0, &head, &len), 0);
  return head;
}

// glibc robust, process-shared mutexes in shared memory.
struct GlibcMutexes {
  pthread_mutex_t m[2];
};

GlibcMutexes* NewGlibcMutexes() {
  void* mem = mmap(nullptr, sizeof(GlibcMutexes), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(mem, MAP_FAILED);
  auto* g = new (mem) GlibcMutexes;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  for (pthread_mutex_t& m : g->m) pthread_mutex_init(&m, &attr);
  pthread_mutexattr_destroy(&attr);
  return g;
}

// A forked child runs `hold` (taking locks) and is SIGKILLed holding them;
// returns once it is dead.
void KillWhileHolding(absl::FunctionRef<bool()> hold) {
  absl::StatusOr<ChildProcess> child = ForkAndHold(hold);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->Kill().ok());
  EXPECT_EQ(ExitCode(child), -SIGKILL);
}

TEST(LockLinuxTest, InterleavesWithGlibcRobustMutexesInOneThread) {
  GlibcMutexes* g = NewGlibcMutexes();
  absl::StatusOr<Lock> a = Lock::Create();
  absl::StatusOr<RLock> b = RLock::Create();
  ASSERT_TRUE(a.ok() && b.ok());
  RobustHead* head = MyRobustHead();
  ASSERT_NE(head, nullptr);
  for (int round = 0; round < 100; ++round) {
    ASSERT_EQ(pthread_mutex_lock(&g->m[0]), 0);
    ASSERT_TRUE(a->Acquire().ok());
    ASSERT_EQ(pthread_mutex_lock(&g->m[1]), 0);
    ASSERT_TRUE(b->Acquire().ok());
    ASSERT_TRUE(a->Release().ok());                // ours, from the middle
    ASSERT_EQ(pthread_mutex_unlock(&g->m[0]), 0);  // glibc's, at the end
    ASSERT_TRUE(a->Acquire().ok());
    ASSERT_EQ(pthread_mutex_unlock(&g->m[1]), 0);
    ASSERT_TRUE(b->Release().ok());
    ASSERT_TRUE(a->Release().ok());
    // Two of ours: the older one leaves from behind the newer.
    ASSERT_TRUE(a->Acquire().ok());
    ASSERT_TRUE(b->Acquire().ok());
    ASSERT_TRUE(a->Release().ok());
    ASSERT_EQ(pthread_mutex_lock(&g->m[0]), 0);
    ASSERT_TRUE(b->Release().ok());
    ASSERT_EQ(pthread_mutex_unlock(&g->m[0]), 0);
  }
  // Everything came off again: the list is empty.
  EXPECT_EQ(head->list, static_cast<void*>(head));
  EXPECT_EQ(head->list_op_pending, nullptr);
  munmap(g, sizeof(GlibcMutexes));
}

TEST(LockLinuxTest, KilledHolderOfMixedMutexesMarksThemAll) {
  GlibcMutexes* g = NewGlibcMutexes();
  absl::StatusOr<Lock> a = Lock::Create();
  absl::StatusOr<Lock> b = Lock::Create();
  absl::StatusOr<Lock> c = Lock::Create();
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  KillWhileHolding([&] {
    return pthread_mutex_lock(&g->m[0]) == 0 && a->Acquire().ok() &&
           b->Acquire().ok() && pthread_mutex_lock(&g->m[1]) == 0 &&
           c->Acquire().ok() && b->Release().ok();  // b released: not held
  });
  EXPECT_EQ(pthread_mutex_lock(&g->m[0]), EOWNERDEAD);
  EXPECT_EQ(pthread_mutex_lock(&g->m[1]), EOWNERDEAD);
  EXPECT_TRUE(IsOwnerDied(a->Acquire(absl::Seconds(10))));
  EXPECT_TRUE(b->Acquire(absl::ZeroDuration()).ok());
  EXPECT_TRUE(IsOwnerDied(c->Acquire(absl::Seconds(10))));
  for (Lock* l : {&*a, &*b, &*c}) EXPECT_TRUE(l->Release().ok());
  for (pthread_mutex_t& m : g->m) {
    pthread_mutex_consistent(&m);
    pthread_mutex_unlock(&m);
  }
  munmap(g, sizeof(GlibcMutexes));
}

TEST(LockLinuxTest, ForkedChildKilledHoldingEachKind) {
  absl::StatusOr<Lock> lock = Lock::Create();
  absl::StatusOr<RLock> rlock = RLock::Create();
  ASSERT_TRUE(lock.ok() && rlock.ok());
  for (AnyLock l : {AnyLock(*lock), AnyLock(*rlock)}) {
    KillWhileHolding([&] {
      return l.Acquire().ok() &&
             l.Acquire(absl::ZeroDuration()).ok() == l.recursive();
    });
    absl::Status s = l.Acquire(absl::Seconds(10));
    EXPECT_TRUE(IsOwnerDied(s)) << s;
    EXPECT_TRUE(l.Release().ok());
  }
}

TEST(LockLinuxTest, ReleaseByAnotherThreadThenTheFirstTakesItBack) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  // This thread's entry stays on its list after the other thread's
  // release; taking the lock again reuses it, and it works as before.
  ASSERT_TRUE(lock->Acquire().ok());
  std::thread([&] { ASSERT_TRUE(lock->Release().ok()); }).join();
  ASSERT_TRUE(lock->Acquire().ok());
  ASSERT_TRUE(lock->Release().ok());
  RobustHead* head = MyRobustHead();
  EXPECT_EQ(head->list, static_cast<void*>(head));
  // Protected again: a thread ending with it held is an owner death.
  std::thread([&] { ASSERT_TRUE(lock->Acquire().ok()); }).join();
  EXPECT_TRUE(IsOwnerDied(lock->Acquire(absl::Seconds(10))));
  EXPECT_TRUE(lock->Release().ok());
}

TEST(LockLinuxTest, HeldByMeProtectedOnlyWhenADeathWouldBeNoticed) {
  auto m = std::make_unique<lock_internal::RobustMutex>();
  EXPECT_FALSE(m->HeldByMeProtected());
  ASSERT_TRUE(m->Lock(Deadline::Never()).ok());
  EXPECT_TRUE(m->HeldByMeProtected());
  ASSERT_TRUE(m->Unlock().ok());
  EXPECT_FALSE(m->HeldByMeProtected());
  // Another thread holds it, this one releases it for that thread and takes
  // it: the entry is on the other thread's list, which is still there, so
  // this hold is unprotected.
  absl::Notification taken, done;
  std::thread other([&] {
    EXPECT_TRUE(m->Lock(Deadline::Never()).ok());
    EXPECT_TRUE(m->HeldByMeProtected());
    taken.Notify();
    done.WaitForNotification();
  });
  taken.WaitForNotification();
  ASSERT_TRUE(m->Release().ok());
  ASSERT_TRUE(m->Lock(Deadline::Never()).ok());
  EXPECT_TRUE(m->HeldByMe());
  EXPECT_FALSE(m->HeldByMeProtected());
  ASSERT_TRUE(m->Unlock().ok());
  done.Notify();
  other.join();
}

// The kernel wakes a killed holder's waiter while the holder is still
// exiting (here it has much memory to free), and the waiter takes the mutex
// at once. Its hold must be protected all the same: when it dies holding
// the mutex in turn, the next acquirer is told, instead of waiting for
// good behind a dead thread.
TEST(LockLinuxTest, WaiterWokenByAKilledHolderIsProtected) {
  void* mem = mmap(nullptr, sizeof(lock_internal::RobustMutex),
                   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* m = new (mem) lock_internal::RobustMutex;
  absl::StatusOr<ChildProcess> holder = ForkAndHold([&] {
    return test_util::FillMemoryToExitSlowly(size_t{512} << 20) &&
           m->Lock(Deadline::Never()).ok();
  });
  ASSERT_TRUE(holder.ok()) << holder.status();
  absl::StatusOr<ChildProcess> waiter = ForkChild([&] {
    if (!IsOwnerDied(m->Lock(Deadline::Never()))) return 1;
    if (!m->HeldByMeProtected()) return 2;
    raise(SIGKILL);  // dies holding it
    return 3;
  });
  ASSERT_TRUE(waiter.ok()) << waiter.status();
  EXPECT_TRUE(test_util::WaitUntilInFutexWait(waiter->pid(), kPatience));
  ASSERT_TRUE(holder->Kill().ok());
  EXPECT_EQ(ExitCode(holder), -SIGKILL);
  EXPECT_EQ(ExitCode(waiter), -SIGKILL);
  EXPECT_TRUE(IsOwnerDied(m->Lock(Deadline::After(kPatience))));
  EXPECT_TRUE(m->Unlock().ok());
  munmap(mem, sizeof(lock_internal::RobustMutex));
}

// After a release by another thread, the entry stays parked on the
// holder's list. A process that then takes the mutex holds it unprotected
// and dies: the kernel marks the owner death (the mutex was its pending
// entry), but the entry is still on the first thread's live list, so the
// next holder must leave it there, and that thread gets it back intact.
TEST(LockLinuxTest, ParkedEntryStaysOnItsLiveThreadsList) {
  void* mem = mmap(nullptr, sizeof(lock_internal::RobustMutex),
                   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* m = new (mem) lock_internal::RobustMutex;
  absl::Notification taken, released, done;
  std::thread first([&] {
    EXPECT_TRUE(m->Lock(Deadline::Never()).ok());
    taken.Notify();
    released.WaitForNotification();
    // Its own entry, parked: taking the mutex protects it again, and
    // releasing it leaves this thread's list empty.
    EXPECT_TRUE(m->Lock(Deadline::Never()).ok());
    EXPECT_TRUE(m->HeldByMeProtected());
    EXPECT_TRUE(m->Unlock().ok());
    RobustHead* head = MyRobustHead();
    EXPECT_EQ(head->list, static_cast<void*>(head));
    done.Notify();
  });
  taken.WaitForNotification();
  ASSERT_TRUE(m->Release().ok());
  absl::StatusOr<ChildProcess> child = ForkChild([&] {
    if (!m->Lock(Deadline::Never()).ok()) return 1;
    if (m->HeldByMeProtected()) return 2;
    raise(SIGKILL);  // dies holding it, unprotected
    return 3;
  });
  EXPECT_EQ(ExitCode(child), -SIGKILL);
  EXPECT_TRUE(IsOwnerDied(m->Lock(Deadline::After(kPatience))));
  EXPECT_FALSE(m->HeldByMeProtected());
  EXPECT_TRUE(m->Unlock().ok());
  released.Notify();
  done.WaitForNotification();
  first.join();
  munmap(mem, sizeof(lock_internal::RobustMutex));
}

// After a release by another thread, a process takes the mutex while its
// entry is parked on the first thread's list, so the kernel does not know
// of this hold: taking and releasing another mutex also clears the pending
// slot that covered it. When it dies holding the mutex, a sleeper must
// notice by itself (it watches the holder), and so must an acquirer that
// does not wait.
TEST(LockLinuxTest, UnprotectedHolderThatDiesIsTakenOver) {
  struct Mutexes {
    lock_internal::RobustMutex m;
    lock_internal::RobustMutex other;
  };
  void* mem = mmap(nullptr, sizeof(Mutexes), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* mutexes = new (mem) Mutexes;
  lock_internal::RobustMutex* m = &mutexes->m;
  absl::Notification taken, released, done;
  std::thread first([&] {
    EXPECT_TRUE(m->Lock(Deadline::Never()).ok());
    taken.Notify();
    released.WaitForNotification();
    EXPECT_TRUE(m->Lock(Deadline::Never()).ok());
    EXPECT_TRUE(m->HeldByMeProtected());
    EXPECT_TRUE(m->Unlock().ok());
    done.Notify();
  });
  taken.WaitForNotification();
  ASSERT_TRUE(m->Release().ok());
  auto hold_unprotected = [&] {
    return m->Lock(Deadline::Never()).ok() && !m->HeldByMeProtected() &&
           mutexes->other.Lock(Deadline::Never()).ok() &&
           mutexes->other.Unlock().ok();
  };
  for (bool sleeper : {true, false}) {
    SCOPED_TRACE(sleeper ? "a sleeping acquirer" : "an acquirer not waiting");
    absl::StatusOr<ChildProcess> holder = ForkAndHold(hold_unprotected);
    ASSERT_TRUE(holder.ok()) << holder.status();
    if (sleeper) {
      absl::StatusOr<ChildProcess> waiter = ForkChild([&] {
        if (!IsOwnerDied(m->Lock(Deadline::After(kPatience)))) return 1;
        return m->Unlock().ok() ? 0 : 2;
      });
      ASSERT_TRUE(waiter.ok()) << waiter.status();
      EXPECT_TRUE(test_util::WaitUntilInFutexWait(waiter->pid(), kPatience));
      ASSERT_TRUE(holder->Kill().ok());
      EXPECT_EQ(ExitCode(holder), -SIGKILL);
      EXPECT_EQ(ExitCode(waiter), 0);
    } else {
      ASSERT_TRUE(holder->Kill().ok());
      EXPECT_EQ(ExitCode(holder), -SIGKILL);
      EXPECT_TRUE(IsOwnerDied(m->Lock(Deadline::Now())));
      EXPECT_TRUE(m->Unlock().ok());
    }
  }
  released.Notify();
  done.WaitForNotification();
  first.join();
  munmap(mem, sizeof(Mutexes));
}

TEST(LockLinuxTest, EntryOfAnEndedThreadIsTakenOver) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  // A thread takes the lock, this one releases it (the entry stays on the
  // other thread's list), and that thread ends: its list is gone.
  std::thread([&] { ASSERT_TRUE(lock->Acquire().ok()); }).join();
  // The ended holder made it an owner death; take and release it.
  ASSERT_TRUE(IsOwnerDied(lock->Acquire(absl::Seconds(10))));
  ASSERT_TRUE(lock->Release().ok());
  std::thread first([&] {
    ASSERT_TRUE(lock->Acquire().ok());
    std::thread([&] { ASSERT_TRUE(lock->Release().ok()); }).join();
  });
  first.join();
  // The next holder takes the entry over and is protected: its thread's end
  // is noticed.
  std::thread([&] { ASSERT_TRUE(lock->Acquire().ok()); }).join();
  EXPECT_TRUE(IsOwnerDied(lock->Acquire(absl::Seconds(10))));
  EXPECT_TRUE(lock->Release().ok());
}

TEST(LockLinuxTest, ForkedChildSeesTheParentsHoldAndMayReleaseIt) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(lock->Acquire().ok());
  absl::StatusOr<ChildProcess> child = ForkChild([&] {
    // The copy is the same lock, held by the parent's thread.
    if (!IsTimeout(lock->Acquire(absl::ZeroDuration()))) return 1;
    if (lock->held_by_me()) return 2;
    return lock->Release().ok() ? 0 : 3;
  });
  EXPECT_EQ(ExitCode(child), 0);
  EXPECT_FALSE(lock->locked());
}

// A process that dies inside the barrier's internal lock (here: its action
// kills it) breaks the barrier, promptly, instead of hanging the others.
TEST(LockLinuxTest, DeathInsideTheBarrierBreaksIt) {
  absl::StatusOr<Barrier> barrier = Barrier::Create(1, [] { raise(SIGKILL); });
  ASSERT_TRUE(barrier.ok());
  absl::StatusOr<ChildProcess> child = ForkChild([&] {
    barrier->Wait().IgnoreError();  // the last party: runs the action
    return 0;
  });
  ASSERT_EQ(ExitCode(child), -SIGKILL);
  int64_t start = Deadline::NowNanos();
  EXPECT_TRUE(IsBrokenBarrier(barrier->Wait(absl::Seconds(20)).status()));
  EXPECT_LT(Deadline::NowNanos() - start, int64_t{5} * 1000 * 1000 * 1000);
  EXPECT_TRUE(barrier->broken());
}

TEST(LockLinuxTest, HundredForkedProcessesThousandIncrementsEach) {
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  // A plain counter in memory the forked children share, guarded by `lock`
  // alone: a lost update would be a hole in the mutual exclusion.
  void* mem = mmap(nullptr, sizeof(int64_t), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* counter = static_cast<volatile int64_t*>(mem);
  std::vector<absl::StatusOr<ChildProcess>> children;
  for (int i = 0; i < 100; ++i) {
    children.push_back(ForkChild([&] {
      for (int j = 0; j < 1000; ++j) {
        if (!lock->Acquire().ok()) return 1;
        *counter = *counter + 1;
        if (!lock->Release().ok()) return 1;
      }
      return 0;
    }));
  }
  for (auto& c : children) EXPECT_EQ(ExitCode(c), 0);
  EXPECT_EQ(*counter, 100000);
  munmap(mem, sizeof(int64_t));
}

}  // namespace
}  // namespace mp
