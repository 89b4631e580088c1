// Linux specifics of the robust mutex: its entries share glibc's robust list
// with glibc's own robust pthread mutexes (interleaved, in one thread and
// across a SIGKILL), nested holds released out of order, entries left on a
// list by a release from another thread, and plain fork() children.
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "lock/barrier.h"
#include "lock/lock.h"
#include "shm_value/value.h"

namespace mp {
namespace {

struct RobustHead {
  void* list;
  long futex_offset;
  void* list_op_pending;
};

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

int Reap(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

// A child that runs `hold` (taking locks), reports on a pipe, and waits to be
// SIGKILLed; returns once it is dead.
template <typename F>
void KillWhileHolding(F hold) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    char ok = hold() ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    for (;;) pause();
  }
  close(ready[1]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  EXPECT_EQ(ok, 'y');
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = Reap(pid);
  EXPECT_TRUE(WIFSIGNALED(status));
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
  auto value = Value<int>::Create(0);
  ASSERT_TRUE(lock.ok() && rlock.ok() && value.ok());
  for (AnyLock l : {AnyLock(*lock), AnyLock(*rlock), value->get_lock()}) {
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
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The copy is the same lock, held by the parent's thread.
    if (!IsTimeout(lock->Acquire(absl::ZeroDuration()))) _exit(1);
    if (lock->held_by_me()) _exit(2);
    _exit(lock->Release().ok() ? 0 : 3);
  }
  int status = Reap(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(lock->locked());
}

// A process that dies inside the barrier's internal lock (here: its action
// kills it) breaks the barrier, promptly, instead of hanging the others.
TEST(LockLinuxTest, DeathInsideTheBarrierBreaksIt) {
  absl::StatusOr<Barrier> barrier = Barrier::Create(1, [] { raise(SIGKILL); });
  ASSERT_TRUE(barrier.ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    barrier->Wait().IgnoreError();  // the last party: runs the action
    _exit(0);
  }
  int status = Reap(pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  int64_t start = Deadline::NowNanos();
  EXPECT_TRUE(IsBrokenBarrier(barrier->Wait(absl::Seconds(20)).status()));
  EXPECT_LT(Deadline::NowNanos() - start, int64_t{5} * 1000 * 1000 * 1000);
  EXPECT_TRUE(barrier->broken());
}

TEST(LockLinuxTest, HundredForkedProcessesThousandIncrementsEach) {
  auto v = Value<int>::Create(0);
  ASSERT_TRUE(v.ok());
  std::vector<pid_t> pids;
  for (int i = 0; i < 100; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int j = 0; j < 1000; ++j) {
        if (!v->Update([](int& x) { ++x; }).ok()) _exit(1);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = Reap(pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(*v->Get(), 100000);
}

}  // namespace
}  // namespace mp
