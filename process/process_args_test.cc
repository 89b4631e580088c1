// Every lock/ and shm_value/ object passed as a Process argument, under each
// start method the platform has (fork and spawn on Linux, spawn on
// Windows): the child reaches the same lock or memory. Also the classic
// multiprocessing examples of jobs sharing a Value, ticket buyers and
// writers to one file under a Lock, and owner death of a killed Process.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/internal/test_util.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "lock/barrier.h"
#include "lock/condition.h"
#include "lock/event.h"
#include "lock/lock.h"
#include "lock/semaphore.h"
#include "process/process.h"
#include "shm_value/shared_memory.h"
#include "shm_value/value.h"

namespace mp {
namespace {

// ---- targets ----------------------------------------------------------------

int IncrementUnderLock(Lock lock, RawValue<int64_t> counter, int n) {
  for (int i = 0; i < n; ++i) {
    if (!lock.Acquire().ok()) return 2;
    *counter.get_obj() += 1;
    if (!lock.Release().ok()) return 3;
  }
  return 0;
}
MP_REGISTER(IncrementUnderLock);

int IncrementUnderRLock(RLock lock, RawValue<int64_t> counter, int n) {
  for (int i = 0; i < n; ++i) {
    // Twice, as an RLock allows.
    if (!lock.Acquire().ok() || !lock.Acquire().ok()) return 2;
    *counter.get_obj() += 1;
    if (!lock.Release().ok() || !lock.Release().ok()) return 3;
  }
  return 0;
}
MP_REGISTER(IncrementUnderRLock);

int IncrementValue(Value<int> v, int n) {
  for (int i = 0; i < n; ++i) {
    if (!v.Update([](int& x) { x += 1; }).ok()) return 2;
  }
  return 0;
}
MP_REGISTER(IncrementValue);

int ReleaseSemaphore(Semaphore sem, BoundedSemaphore bounded) {
  if (!sem.Release().ok()) return 2;
  return bounded.Acquire(absl::ZeroDuration()).ok() ? 0 : 3;
}
MP_REGISTER(ReleaseSemaphore);

int SetEvent(Event event) { return event.Set().ok() ? 0 : 2; }
MP_REGISTER(SetEvent);

int NotifyWhenReady(Condition cond, RawValue<int> ready) {
  LockGuard guard(cond);
  if (!guard.status().ok()) return 2;
  if (!ready.Set(1).ok()) return 4;
  return cond.NotifyAll().ok() ? 0 : 3;
}
MP_REGISTER(NotifyWhenReady);

int PassBarrier(Barrier barrier, int passes) {
  for (int i = 0; i < passes; ++i) {
    if (!barrier.Wait(absl::Seconds(60)).ok()) return 2;
  }
  return 0;
}
MP_REGISTER(PassBarrier);

int DoublePrefix(Array<double> arr, SharedMemory shm) {
  absl::Status s = arr.Update([](absl::Span<double> a) {
    for (size_t i = 1; i < a.size(); ++i) a[i] += a[i - 1];
  });
  if (!s.ok()) return 2;
  std::snprintf(static_cast<char*>(shm.data()), shm.size(), "child wrote");
  return 0;
}
MP_REGISTER(DoublePrefix);

// Takes `lock` and waits to be killed; `held` says it has it.
int HoldForever(AnyLock lock, Event held) {
  if (!lock.Acquire().ok() || !held.Set().ok()) return 2;
  test_util::SleepForever();
}
MP_REGISTER(HoldForever);

// job(v, num, l): five additions of `num`, all under the lock.
void AddFiveTimes(Value<int> v, int num, Lock l) {
  if (!l.Acquire().ok()) return;
  for (int i = 0; i < 5; ++i) {
    absl::SleepFor(absl::Milliseconds(2));  // the job's time.sleep(0.1)
    *v.get_obj() += num;
  }
  l.Release().IgnoreError();
}
MP_REGISTER(AddFiveTimes);

// A ticket buyer: search, then get() under the lock; records a
// purchase in `bought`.
int ReadCount(const std::string& file) {
  std::ifstream in(file);
  int count = -1;
  in >> count;
  return count;
}
void BuyTicket(std::string file, Lock l, Value<int> bought) {
  ReadCount(file);  // search(): reads the tickets left
  if (!l.Acquire().ok()) return;
  int count = ReadCount(file);
  if (count > 0) {
    std::ofstream(file) << count - 1;
    bought.Update([](int& n) { ++n; }).IgnoreError();
  }
  l.Release().IgnoreError();
}
MP_REGISTER(BuyTicket);

// A writer: append `line` `n` times, holding the lock for
// the whole loop.
void AppendLines(std::string file, std::string line, int n, Lock lock) {
  if (!lock.Acquire().ok()) return;
  for (int i = 0; i < n; ++i) {
    std::ofstream(file, std::ios::app) << line << "\n";
    absl::SleepFor(absl::Milliseconds(5));  // the writer's time.sleep(1)
  }
  lock.Release().IgnoreError();
}
MP_REGISTER(AppendLines);

// ---- tests ------------------------------------------------------------------

class ProcessArgsTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    absl::StatusOr<Context> ctx = GetContext(GetParam());
    ASSERT_TRUE(ctx.ok()) << ctx.status();
    ctx_ = *ctx;
  }
  template <typename F, typename... Args>
  void Start(F f, Args... args) {
    procs_.push_back(ctx_->Process(f, args...));
    ASSERT_TRUE(procs_.back().Start().ok());
  }
  void JoinAll() {
    for (Process& p : procs_) {
      ASSERT_TRUE(p.Join().ok());
      EXPECT_EQ(p.exitcode(), 0) << p.name();
    }
    procs_.clear();
  }

  std::optional<Context> ctx_;
  std::vector<Process> procs_;
};

TEST_P(ProcessArgsTest, LockAndRLockSerialiseProcesses) {
  absl::StatusOr<Lock> lock = Lock::Create();
  absl::StatusOr<RLock> rlock = RLock::Create();
  auto counter = RawValue<int64_t>::Create(0);
  ASSERT_TRUE(lock.ok() && rlock.ok() && counter.ok());
  for (int i = 0; i < 2; ++i) Start(IncrementUnderLock, *lock, *counter, 2000);
  JoinAll();
  EXPECT_EQ(*counter->Get(), 4000);
  for (int i = 0; i < 2; ++i)
    Start(IncrementUnderRLock, *rlock, *counter, 2000);
  JoinAll();
  EXPECT_EQ(*counter->Get(), 8000);
}

TEST_P(ProcessArgsTest, ValueIncrementsAreExact) {
  auto v = Value<int>::Create(0);
  ASSERT_TRUE(v.ok());
  for (int i = 0; i < 4; ++i) Start(IncrementValue, *v, 1000);
  JoinAll();
  EXPECT_EQ(*v->Get(), 4000);
}

TEST_P(ProcessArgsTest, SemaphoresEventConditionBarrier) {
  absl::StatusOr<Semaphore> sem = Semaphore::Create(0);
  absl::StatusOr<BoundedSemaphore> bounded = BoundedSemaphore::Create(1);
  absl::StatusOr<Event> event = Event::Create();
  absl::StatusOr<Condition> cond = Condition::Create();
  absl::StatusOr<Barrier> barrier = Barrier::Create(3);
  auto ready = RawValue<int>::Create(0);
  ASSERT_TRUE(sem.ok() && bounded.ok() && event.ok() && cond.ok() &&
              barrier.ok() && ready.ok());
  Start(ReleaseSemaphore, *sem, *bounded);
  EXPECT_TRUE(sem->Acquire(absl::Seconds(60)).ok());
  Start(SetEvent, *event);
  EXPECT_TRUE(event->Wait(absl::Seconds(60)).ok());
  {
    LockGuard guard(*cond);
    Start(NotifyWhenReady, *cond, *ready);
    EXPECT_TRUE(
        cond->WaitFor([&] { return *ready->Get() == 1; }, absl::Seconds(60))
            .ok());
  }
  Start(PassBarrier, *barrier, 20);
  Start(PassBarrier, *barrier, 20);
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(barrier->Wait(absl::Seconds(60)).ok());
  }
  JoinAll();
  EXPECT_EQ(bounded->value(), 0);  // the child took the unit
}

TEST_P(ProcessArgsTest, ArrayPrefixSumAndSharedMemory) {
  auto arr = Array<double>::Create({1.0, 2.0, 3.0, 4.0});
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(64);
  ASSERT_TRUE(arr.ok() && shm.ok());
  Start(DoublePrefix, *arr, *shm);
  JoinAll();
  EXPECT_EQ(*arr->GetSlice(0, 4), (std::vector<double>{1, 3, 6, 10}));
  EXPECT_STREQ(static_cast<const char*>(shm->data()), "child wrote");
}

TEST_P(ProcessArgsTest, KilledHolderOfEachLockKindIsAnOwnerDeath) {
  absl::StatusOr<Lock> lock = Lock::Create();
  absl::StatusOr<RLock> rlock = RLock::Create();
  absl::StatusOr<Condition> cond = Condition::Create();
  auto value = Value<int>::Create(0);
  ASSERT_TRUE(lock.ok() && rlock.ok() && cond.ok() && value.ok());
  for (AnyLock l :
       {AnyLock(*lock), AnyLock(*rlock), cond->lock(), value->get_lock()}) {
    absl::StatusOr<Event> held = Event::Create();
    ASSERT_TRUE(held.ok());
    Process p = ctx_->Process(HoldForever, l, *held);
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(held->Wait(absl::Seconds(60)).ok());
    ASSERT_TRUE(p.Kill().ok());
    int64_t start = Deadline::NowNanos();
    absl::Status s = l.Acquire(absl::Seconds(30));
    EXPECT_TRUE(IsOwnerDied(s)) << s;
    EXPECT_LT(Deadline::NowNanos() - start, int64_t{5} * 1000 * 1000 * 1000);
    EXPECT_TRUE(l.Release().ok());
    EXPECT_TRUE(l.Acquire(absl::ZeroDuration()).ok());
    EXPECT_TRUE(l.Release().ok());
    ASSERT_TRUE(p.Join().ok());
    EXPECT_EQ(p.exitcode(), -9);
  }
}

TEST_P(ProcessArgsTest, TwoJobsAddUnderOneLock) {
  auto v = Value<int>::Create(0);
  absl::StatusOr<Lock> l = Lock::Create();
  ASSERT_TRUE(v.ok() && l.ok());
  Start(AddFiveTimes, *v, 1, *l);
  Start(AddFiveTimes, *v, 3, *l);
  JoinAll();
  EXPECT_EQ(*v->Get(), 5 * 1 + 5 * 3);
}

TEST_P(ProcessArgsTest, TenTicketBuyersNeverOversell) {
  const std::string file = test_util::TempPath("tickets_" + GetParam());
  std::ofstream(file) << 6;
  absl::StatusOr<Lock> l = Lock::Create();
  auto bought = Value<int>::Create(0);
  ASSERT_TRUE(l.ok() && bought.ok());
  for (int i = 0; i < 10; ++i) Start(BuyTicket, file, *l, *bought);
  JoinAll();
  EXPECT_EQ(*bought->Get(), 6);
  EXPECT_EQ(ReadCount(file), 0);
}

TEST_P(ProcessArgsTest, TwoWritersNeverInterleave) {
  const std::string file = test_util::TempPath("writers_" + GetParam());
  std::remove(file.c_str());
  absl::StatusOr<Lock> lock = Lock::Create();
  ASSERT_TRUE(lock.ok());
  Start(AppendLines, file, std::string("i love pyhton"), 3, *lock);
  Start(AppendLines, file, std::string("come on baby"), 1, *lock);
  JoinAll();
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string a = "i love pyhton\ni love pyhton\ni love pyhton\n";
  const std::string b = "come on baby\n";
  EXPECT_TRUE(text.str() == a + b || text.str() == b + a) << text.str();
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessArgsTest,
                         testing::ValuesIn(GetAllStartMethods()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace mp
