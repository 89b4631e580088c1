// Crash safety: a producer or consumer killed in the middle of a Put or Get
// leaves the queue usable, loses no item whose Put returned OK (other than
// the one a killed consumer had taken), and hangs nobody.
//
// Two ways: (1) a child dies at each step of the protocol in turn (the
// crash points of internal/crash_point.h), and the next user of the queue
// must find exactly what the protocol promises; (2) producers and consumers
// are killed at random moments, many times, while others keep going.
#include <signal.h>
#ifndef _WIN32
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/internal/test_util.h"
#include "base/shared_memory.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "lock/internal/robust_mutex.h"
#include "pipe/pipe.h"
#include "process/process.h"
#include "queue/internal/bias.h"
#include "queue/internal/crash_point.h"
#include "queue/internal/layout.h"
#include "queue/queue.h"

namespace mp {
namespace queue_internal {
struct QueueTestPeer {
  template <typename Q>
  static Core& CoreOf(Q& q) {
    return *q.state_->core;
  }
  // Whether the calling thread holds the queue's producer bias.
  template <typename Q>
  static bool HoldsBias(Q& q) {
    return CoreOf(q).h_->bias.load() == ThreadToken();
  }
  template <typename Q>
  static lock_internal::RobustMutex& ProducerLock(Q& q) {
    return CoreOf(q).h_->producer_lock;
  }
  // The lock a consumer holds while it copies out a big item.
  template <typename Q>
  static lock_internal::RobustMutex& BigItemLock(Q& q) {
    return CoreOf(q).h_->big_item_lock;
  }
};
}  // namespace queue_internal

namespace {

using queue_internal::CrashPoint;
using queue_internal::QueueTestPeer;

void ExpectConsistent(Queue<std::string>& q) {
  absl::Status s = QueueTestPeer::CoreOf(q).CheckConsistency();
  EXPECT_TRUE(s.ok()) << s;
}

constexpr absl::Duration kPatience = absl::Seconds(60);

// Item `index` from source `tag`, `size` bytes: a recognisable prefix, then
// a pattern that depends on both.
std::string MakeItem(const std::string& tag, int index, int size) {
  std::string s = absl::StrCat(tag, index, "|");
  const size_t prefix = s.size();
  s.resize(std::max<size_t>(prefix, static_cast<size_t>(size)));
  for (size_t i = prefix; i < s.size(); ++i) {
    s[i] = static_cast<char>((i * 31 + static_cast<size_t>(index)) & 0xff);
  }
  return s;
}

constexpr int kSmall = 100;
constexpr int kBig = 200 << 10;  // needs a segment of its own class

// ---------------------------------------------------------------------------
// (1) Death at each crash point.

// Puts `warmup` items MakeItem("x", i, kSmall), then (if any) checks that
// they earned it the producer bias. Then puts MakeItem("c", i, sizes[i]) for
// each i, telling `acks` after each successful Put; dies at `point` (the
// skip+1-th time). Returns 0 if it never got there.
int CrashingPut(Queue<std::string> q, int point, int skip, int warmup,
                std::vector<int> sizes, Connection acks) {
  for (int i = 0; i < warmup; ++i) {
    if (!q.Put(MakeItem("x", i, kSmall)).ok()) return 1;
  }
  if (warmup > 0 && !QueueTestPeer::HoldsBias(q)) return 4;
  queue_internal::ArmCrashPoint(static_cast<CrashPoint>(point), skip);
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (!q.Put(MakeItem("c", static_cast<int>(i), sizes[i])).ok()) return 1;
    if (!acks.Send(static_cast<int>(i)).ok()) return 2;
  }
  return 0;
}
MP_REGISTER(CrashingPut);

// Gets `n` items, sending each to `acks`; dies at `point`.
int CrashingGet(Queue<std::string> q, int point, int skip, int n,
                Connection acks) {
  queue_internal::ArmCrashPoint(static_cast<CrashPoint>(point), skip);
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<std::string> item = q.Get(kPatience);
    if (!item.ok()) return 1;
    if (!acks.Send(*item).ok()) return 2;
  }
  return 0;
}
MP_REGISTER(CrashingGet);

struct Case {
  CrashPoint point;
  const char* name;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.name;
}

// Runs `child`, which must die, and returns what it acknowledged.
template <typename T>
std::vector<T> RunToDeath(Process child, Connection& acks_reader,
                          Connection& acks_writer) {
  std::vector<T> acked;
  EXPECT_TRUE(child.Start().ok());
  EXPECT_TRUE(acks_writer.Close().ok());
  EXPECT_TRUE(child.Join(kPatience).ok());
  EXPECT_NE(child.exitcode(), 0) << "the child never reached the point";
  EXPECT_NE(child.exitcode(), 1);
  EXPECT_NE(child.exitcode(), 2);
  EXPECT_NE(child.exitcode(), 4) << "the child did not get the bias";
  for (;;) {
    absl::StatusOr<T> v = acks_reader.Recv<T>();
    if (!v.ok()) {
      EXPECT_TRUE(IsEof(v.status())) << v.status();
      break;
    }
    acked.push_back(*v);
  }
  return acked;
}

// After a crash: the queue takes and gives items of every size, across
// segment switches, and ends empty.
void ExpectQueueWorks(Queue<std::string>& q) {
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(q.Put(MakeItem("w", i, i % 3 == 2 ? kBig : kSmall)).ok());
    }
    for (int i = 0; i < 6; ++i) {
      absl::StatusOr<std::string> v = q.Get(kPatience);
      ASSERT_TRUE(v.ok()) << v.status();
      EXPECT_EQ(*v, MakeItem("w", i, i % 3 == 2 ? kBig : kSmall));
    }
  }
  EXPECT_TRUE(q.Empty());
  EXPECT_EQ(q.Qsize(), 0);
  ExpectConsistent(q);
}

std::vector<std::string> Drain(Queue<std::string>& q) {
  std::vector<std::string> out;
  for (;;) {
    absl::StatusOr<std::string> v = q.GetNowait();
    if (!v.ok()) {
      EXPECT_TRUE(IsEmpty(v.status())) << v.status();
      return out;
    }
    out.push_back(*std::move(v));
  }
}

// The producer dies at a crash point while it holds the producer lock, or
// (biased) while it holds the producer bias, which it earned with puts
// before (Linux only: the bias needs membarrier).
class ProducerCrashTest
    : public ::testing::TestWithParam<std::tuple<Case, bool>> {};

// Whether an item whose Put died at `point` was committed.
bool CommittedAt(CrashPoint point) {
  return point == CrashPoint::kCommitted || point == CrashPoint::kWordUpdated ||
         point == CrashPoint::kPutDone;
}

TEST_P(ProducerCrashTest, NextProducerRepairs) {
  const CrashPoint point = std::get<0>(GetParam()).point;
  const bool biased = std::get<1>(GetParam());
  if (biased && !queue_internal::PrepareBiasHolder()) {
    GTEST_SKIP() << "no producer bias on this platform";
  }
  const int warmup = biased ? static_cast<int>(queue_internal::kBiasAfter) : 0;
  auto q = Queue<std::string>::Create();
  ASSERT_TRUE(q.ok());
  std::vector<std::string> expected;
  std::vector<int> sizes;
  int skip = 0;
  switch (point) {
    case CrashPoint::kReclaimPushed:
    case CrashPoint::kAllocPopped:
      // Two big items, each in a new segment, taken again: the chain now
      // has two segments to reclaim, one of the class the next big item
      // needs.
      for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(q->Put(MakeItem("p", i, kBig)).ok());
      }
      for (int i = 0; i < 2; ++i) ASSERT_TRUE(q->Get().ok());
      sizes = {kSmall, kBig, kSmall};
      break;
    case CrashPoint::kAllocPending:
    case CrashPoint::kAllocInitialized:
    case CrashPoint::kAllocBumped:
    case CrashPoint::kLinked:
    case CrashPoint::kEndWritten:
    case CrashPoint::kMoved:
      // A fresh queue: the big item takes a new segment from the top.
      ASSERT_TRUE(q->Put(MakeItem("p", 0, kSmall)).ok());
      expected.push_back(MakeItem("p", 0, kSmall));
      sizes = {kSmall, kBig, kSmall};
      break;
    default:
      for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(q->Put(MakeItem("p", i, kSmall)).ok());
        expected.push_back(MakeItem("p", i, kSmall));
      }
      sizes = {kSmall, kSmall, kSmall};
      skip = 1;  // die in the second put
      break;
  }
  absl::StatusOr<std::pair<Connection, Connection>> acks = Pipe(false);
  ASSERT_TRUE(acks.ok());
  std::vector<int> acked =
      RunToDeath<int>(Process(CrashingPut, *q, static_cast<int>(point), skip,
                              warmup, sizes, std::move(acks->second)),
                      acks->first, acks->second);
  ASSERT_FALSE(HasFailure());
  for (int i = 0; i < warmup; ++i) {
    expected.push_back(MakeItem("x", i, kSmall));
  }

  // The items acknowledged, then the one in flight if it was committed.
  for (int i : acked) expected.push_back(MakeItem("c", i, sizes[i]));
  const int in_flight = static_cast<int>(acked.size());
  if (CommittedAt(point)) {
    expected.push_back(MakeItem("c", in_flight, sizes[in_flight]));
  }
  // The next producer repairs and goes on, a big item included.
  ExpectConsistent(*q);
  ASSERT_TRUE(q->Put(MakeItem("a", 0, kSmall)).ok());
  ASSERT_TRUE(q->Put(MakeItem("a", 1, kBig)).ok());
  expected.push_back(MakeItem("a", 0, kSmall));
  expected.push_back(MakeItem("a", 1, kBig));
  EXPECT_EQ(q->Qsize(), static_cast<int64_t>(expected.size()));
  std::vector<std::string> got = Drain(*q);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i] == expected[i])
        << "item " << i << " is " << got[i].substr(0, 8);
  }
  ExpectQueueWorks(*q);
}

INSTANTIATE_TEST_SUITE_P(
    Points, ProducerCrashTest,
    ::testing::Combine(
        ::testing::Values(Case{CrashPoint::kPutLocked, "PutLocked"},
                          Case{CrashPoint::kReclaimPushed, "ReclaimPushed"},
                          Case{CrashPoint::kAllocPopped, "AllocPopped"},
                          Case{CrashPoint::kAllocPending, "AllocPending"},
                          Case{CrashPoint::kAllocInitialized,
                               "AllocInitialized"},
                          Case{CrashPoint::kAllocBumped, "AllocBumped"},
                          Case{CrashPoint::kLinked, "Linked"},
                          Case{CrashPoint::kEndWritten, "EndWritten"},
                          Case{CrashPoint::kMoved, "Moved"},
                          Case{CrashPoint::kPayloadCopied, "PayloadCopied"},
                          Case{CrashPoint::kStamped, "Stamped"},
                          Case{CrashPoint::kCommitted, "Committed"},
                          Case{CrashPoint::kWordUpdated, "WordUpdated"},
                          Case{CrashPoint::kPutDone, "PutDone"}),
        ::testing::Bool()),
    [](const ::testing::TestParamInfo<std::tuple<Case, bool>>& info) {
      return std::string(std::get<0>(info.param).name) +
             (std::get<1>(info.param) ? "Biased" : "");
    });

// A producer killed while it revokes this thread's bias, right after
// marking it kRevoking: this thread's next put finds the bias gone, takes
// the lock (told its owner died), finishes the revocation and goes on.
TEST(BiasCrashTest, RevokerKilledWhileRevoking) {
  if (!queue_internal::PrepareBiasHolder()) {
    GTEST_SKIP() << "no producer bias on this platform";
  }
  auto q = Queue<std::string>::Create();
  ASSERT_TRUE(q.ok());
  std::vector<std::string> expected;
  for (int i = 0; i < static_cast<int>(queue_internal::kBiasAfter); ++i) {
    ASSERT_TRUE(q->Put(MakeItem("p", i, kSmall)).ok());
    expected.push_back(MakeItem("p", i, kSmall));
  }
  ASSERT_TRUE(QueueTestPeer::HoldsBias(*q));
  absl::StatusOr<std::pair<Connection, Connection>> acks = Pipe(false);
  ASSERT_TRUE(acks.ok());
  std::vector<int> acked = RunToDeath<int>(
      Process(CrashingPut, *q, static_cast<int>(CrashPoint::kRevoking), 0, 0,
              std::vector<int>{kSmall}, std::move(acks->second)),
      acks->first, acks->second);
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(acked.empty());
  ASSERT_TRUE(q->Put(MakeItem("a", 0, kSmall)).ok());
  expected.push_back(MakeItem("a", 0, kSmall));
  EXPECT_FALSE(QueueTestPeer::HoldsBias(*q));
  std::vector<std::string> got = Drain(*q);
  EXPECT_TRUE(got == expected);
  ExpectQueueWorks(*q);
}

// Earns the producer bias and dies holding it, between two puts.
int EarnBiasAndDie(Queue<std::string> q) {
  for (int i = 0; i < static_cast<int>(queue_internal::kBiasAfter); ++i) {
    if (!q.Put(MakeItem("x", i, kSmall)).ok()) return 1;
  }
  if (!QueueTestPeer::HoldsBias(q)) return 4;
  queue_internal::DieAbruptly();
}
MP_REGISTER(EarnBiasAndDie);

// Puts until this thread holds the bias again (which takes 2^k runs after k
// revocations); false if it does not within `most` puts. The items are
// MakeItem("b", i, kSmall), appended to *expected.
bool EarnBiasAgain(Queue<std::string>& q, int most,
                   std::vector<std::string>* expected) {
  for (int i = 0; i < most && !QueueTestPeer::HoldsBias(q); ++i) {
    if (!q.Put(MakeItem("b", i, kSmall)).ok()) return false;
    expected->push_back(MakeItem("b", i, kSmall));
  }
  return QueueTestPeer::HoldsBias(q);
}

// The bias holder killed between puts: the next producer revokes the bias
// without waiting for it (it is in no put) and has nothing to repair; and
// the bias, whose guard the dead thread held, can be given again.
TEST(BiasCrashTest, HolderKilledBetweenPuts) {
  if (!queue_internal::PrepareBiasHolder()) {
    GTEST_SKIP() << "no producer bias on this platform";
  }
  auto q = Queue<std::string>::Create();
  ASSERT_TRUE(q.ok());
  Process holder(EarnBiasAndDie, *q);
  ASSERT_TRUE(holder.Start().ok());
  ASSERT_TRUE(holder.Join(kPatience).ok());
  ASSERT_NE(holder.exitcode(), 0);
  ASSERT_NE(holder.exitcode(), 1);
  ASSERT_NE(holder.exitcode(), 4) << "the child did not get the bias";
  std::vector<std::string> expected;
  for (int i = 0; i < static_cast<int>(queue_internal::kBiasAfter); ++i) {
    expected.push_back(MakeItem("x", i, kSmall));
  }
  ExpectConsistent(*q);
  ASSERT_TRUE(EarnBiasAgain(*q, 4 * queue_internal::kBiasAfter, &expected));
  EXPECT_TRUE(Drain(*q) == expected);
  ExpectQueueWorks(*q);
}

// A producer killed while it is given the bias, under the producer lock,
// after its put committed: holding the bias's guard only, or the bias too.
class BiasGrantCrashTest : public ::testing::TestWithParam<Case> {};

TEST_P(BiasGrantCrashTest, NextProducerRepairsAndTheBiasIsGivenAgain) {
  if (!queue_internal::PrepareBiasHolder()) {
    GTEST_SKIP() << "no producer bias on this platform";
  }
  auto q = Queue<std::string>::Create();
  ASSERT_TRUE(q.ok());
  // The kBiasAfter-th put earns the bias, and dies at the point.
  const std::vector<int> sizes(queue_internal::kBiasAfter, kSmall);
  absl::StatusOr<std::pair<Connection, Connection>> acks = Pipe(false);
  ASSERT_TRUE(acks.ok());
  std::vector<int> acked = RunToDeath<int>(
      Process(CrashingPut, *q, static_cast<int>(GetParam().point), 0, 0, sizes,
              std::move(acks->second)),
      acks->first, acks->second);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(acked.size(), sizes.size() - 1);
  std::vector<std::string> expected;
  for (size_t i = 0; i < sizes.size(); ++i) {  // the last one committed
    expected.push_back(MakeItem("c", static_cast<int>(i), kSmall));
  }
  ExpectConsistent(*q);
  ASSERT_TRUE(EarnBiasAgain(*q, 4 * queue_internal::kBiasAfter, &expected));
  EXPECT_TRUE(Drain(*q) == expected);
  ExpectQueueWorks(*q);
}

INSTANTIATE_TEST_SUITE_P(
    Points, BiasGrantCrashTest,
    ::testing::Values(Case{CrashPoint::kBiasAliveTaken, "BiasAliveTaken"},
                      Case{CrashPoint::kBiasGiven, "BiasGiven"}),
    CaseName);

// The holder killed inside a put (committed, not finished), then the
// producer revoking its bias killed too: after finding the holder dead (holding
// the bias's guard), or after clearing the bias but before repairing. The third
// producer finishes the revocation and repairs what the holder left.
class RevokerCrashTest : public ::testing::TestWithParam<Case> {};

TEST_P(RevokerCrashTest, ThirdProducerRepairs) {
  if (!queue_internal::PrepareBiasHolder()) {
    GTEST_SKIP() << "no producer bias on this platform";
  }
  auto q = Queue<std::string>::Create();
  ASSERT_TRUE(q.ok());
  const int warmup = static_cast<int>(queue_internal::kBiasAfter);
  for (auto [point, warm] : {std::pair(CrashPoint::kCommitted, warmup),
                             std::pair(GetParam().point, 0)}) {
    absl::StatusOr<std::pair<Connection, Connection>> acks = Pipe(false);
    ASSERT_TRUE(acks.ok());
    std::vector<int> acked = RunToDeath<int>(
        Process(CrashingPut, *q, static_cast<int>(point), 0, warm,
                std::vector<int>{kSmall}, std::move(acks->second)),
        acks->first, acks->second);
    ASSERT_FALSE(HasFailure());
    EXPECT_TRUE(acked.empty());
  }
  // The holder's warm-up, then its item, committed but with ppos not moved
  // past it: the repair must move it, or the next put overwrites it.
  std::vector<std::string> expected;
  for (int i = 0; i < warmup; ++i) expected.push_back(MakeItem("x", i, kSmall));
  expected.push_back(MakeItem("c", 0, kSmall));
  ExpectConsistent(*q);
  EXPECT_FALSE(QueueTestPeer::HoldsBias(*q));
  ASSERT_TRUE(EarnBiasAgain(*q, 4 * queue_internal::kBiasAfter, &expected));
  EXPECT_TRUE(Drain(*q) == expected);
  ExpectQueueWorks(*q);
}

INSTANTIATE_TEST_SUITE_P(
    Points, RevokerCrashTest,
    ::testing::Values(Case{CrashPoint::kHolderFoundDead, "HolderFoundDead"},
                      Case{CrashPoint::kRevoked, "Revoked"}),
    CaseName);

#ifndef _WIN32
// Fills memory so that its exit takes a while, then puts or gets an item,
// dying at `point`. Returns only if it never got there.
int SlowlyExitingWorker(Queue<std::string> q, bool producer, int point) {
  if (!test_util::FillMemoryToExitSlowly(size_t{512} << 20)) return 1;
  queue_internal::ArmCrashPoint(static_cast<CrashPoint>(point));
  if (producer) {
    q.Put(MakeItem("c", 0, kSmall)).IgnoreError();
  } else {
    q.Get(kPatience).IgnoreError();
  }
  return 2;
}
MP_REGISTER(SlowlyExitingWorker);

// Two producers wait for the producer lock, or two consumers for the
// big-item lock; the first to get it is killed holding it. The kernel wakes
// the second while the first is still exiting, and it is killed holding
// the lock too. Were the second's hold unprotected (its robust-list entry
// left with the first, still exiting), its death would go unnoticed and the
// lock stay held for good: every later Put would hang, every later Get find
// the queue "empty" with its items still in it.
class KilledInTurnTest : public ::testing::TestWithParam<bool> {};

TEST_P(KilledInTurnTest, SecondHolderKilledWhileTheFirstExits) {
  const bool producers = GetParam();
  auto q = Queue<std::string>::Create();
  ASSERT_TRUE(q.ok());
  std::vector<std::string> expected = {MakeItem("p", 0, kBig),
                                       MakeItem("p", 1, kSmall)};
  for (const std::string& item : expected) ASSERT_TRUE(q->Put(item).ok());
  lock_internal::RobustMutex& lock = producers ? QueueTestPeer::ProducerLock(*q)
                                               : QueueTestPeer::BigItemLock(*q);
  const CrashPoint point =
      producers ? CrashPoint::kPutLocked : CrashPoint::kTaken;
  ASSERT_TRUE(lock.Lock(Deadline::Never()).ok());
  std::vector<Process> workers;
  for (int i = 0; i < 2; ++i) {
    workers.emplace_back(SlowlyExitingWorker, *q, producers,
                         static_cast<int>(point));
    ASSERT_TRUE(workers.back().Start().ok());
  }
  // Both asleep on the lock, so that the kernel wakes the second when the
  // first dies.
  for (Process& w : workers) {
    EXPECT_TRUE(test_util::WaitUntilInFutexWait(*w.pid(), kPatience));
  }
  ASSERT_TRUE(lock.Unlock().ok());
  for (Process& w : workers) {
    ASSERT_TRUE(w.Join(kPatience).ok());
    EXPECT_EQ(w.exitcode(), -SIGKILL);
  }
  ExpectConsistent(*q);
  EXPECT_EQ(q->Qsize(), 2);
  ASSERT_TRUE(q->Put(MakeItem("a", 0, kSmall)).ok());
  expected.push_back(MakeItem("a", 0, kSmall));
  for (const std::string& item : expected) {
    absl::StatusOr<std::string> got = q->Get(kPatience);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(*got == item);
  }
  ExpectQueueWorks(*q);
}

INSTANTIATE_TEST_SUITE_P(Locks, KilledInTurnTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ProducerLock" : "BigItemLock";
                         });

// A producer that holds the producer lock for long (stopped, or copying a
// huge item) does not make another's Put outlive its timeout; PutNowait
// waits for it, as Python's put_nowait waits for its queue's lock.
TEST(ProducerLockTest, PutWaitsForAnotherProducerOnlyUntilItsTimeout) {
  auto q = Queue<std::string>::Create();
  ASSERT_TRUE(q.ok());
  lock_internal::RobustMutex& lock = QueueTestPeer::ProducerLock(*q);
  ASSERT_TRUE(lock.Lock(Deadline::Never()).ok());
  constexpr absl::Duration kTimeout = absl::Milliseconds(100);
  std::thread([&] {
    const absl::Time start = absl::Now();
    EXPECT_TRUE(IsFull(q->Put("late", kTimeout)));
    EXPECT_GE(absl::Now() - start, kTimeout);
  }).join();
  EXPECT_EQ(q->Qsize(), 0);
  std::atomic<int> tid{0};
  absl::Status nowait;
  std::thread producer([&] {
    tid = static_cast<int>(syscall(SYS_gettid));
    nowait = q->PutNowait("waited");
  });
  while (tid == 0) std::this_thread::yield();
  EXPECT_TRUE(test_util::WaitUntilInFutexWait(tid, kPatience));
  ASSERT_TRUE(lock.Unlock().ok());
  producer.join();
  EXPECT_TRUE(nowait.ok()) << nowait;
  absl::StatusOr<std::string> got = q->GetNowait();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "waited");
  ExpectQueueWorks(*q);
}
#endif  // _WIN32

class ConsumerCrashTest : public ::testing::TestWithParam<Case> {};

// Whether the item whose Get died at `point` was removed from the queue.
bool TakenAt(CrashPoint point) { return point == CrashPoint::kClaimed; }

TEST_P(ConsumerCrashTest, NextConsumerRepairs) {
  const CrashPoint point = GetParam().point;
  auto q = Queue<std::string>::Create();
  ASSERT_TRUE(q.ok());
  std::vector<std::string> items;
  int skip = 1;  // die in the second get
  if (point == CrashPoint::kFollowedEnd) {
    // The second get follows the END record to the big item's segment.
    items = {MakeItem("p", 0, kSmall), MakeItem("p", 1, kBig),
             MakeItem("p", 2, kSmall)};
    skip = 0;
  } else {
    for (int i = 0; i < 3; ++i) items.push_back(MakeItem("p", i, kSmall));
  }
  for (const std::string& item : items) ASSERT_TRUE(q->Put(item).ok());

  absl::StatusOr<std::pair<Connection, Connection>> acks = Pipe(false);
  ASSERT_TRUE(acks.ok());
  std::vector<std::string> taken = RunToDeath<std::string>(
      Process(CrashingGet, *q, static_cast<int>(point), skip,
              static_cast<int>(items.size()), std::move(acks->second)),
      acks->first, acks->second);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0], items[0]);

  // What is left: everything after what the child got, minus the item it
  // had already removed when it died.
  std::vector<std::string> expected(items.begin() + 1, items.end());
  if (TakenAt(point)) expected.erase(expected.begin());
  ExpectConsistent(*q);
  EXPECT_EQ(q->Qsize(), static_cast<int64_t>(expected.size()));
  std::vector<std::string> got = Drain(*q);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i] == expected[i]) << "item " << i;
  }
  ExpectQueueWorks(*q);
}

INSTANTIATE_TEST_SUITE_P(
    Points, ConsumerCrashTest,
    ::testing::Values(Case{CrashPoint::kFollowedEnd, "FollowedEnd"},
                      Case{CrashPoint::kTaken, "Taken"},
                      Case{CrashPoint::kClaimed, "Claimed"}),
    CaseName);

// ---------------------------------------------------------------------------
// (2) Random kills.

constexpr int kMaxProducers = 256;
constexpr int kPerProducer = 4000;

// What producers and consumers record, in shared memory.
struct Log {
  // Puts that returned OK, per producer (a lower bound: a producer can die
  // between its Put returning and this store).
  std::atomic<int32_t> acked[kMaxProducers];
  // How often each item was received (by a consumer that lived to record
  // it).
  std::atomic<uint8_t> seen[kMaxProducers][kPerProducer];
  std::atomic<int32_t> out_of_order;
  std::atomic<int32_t> corrupt;
  std::atomic<int32_t> errors;
  std::atomic<int32_t> stop;
};

Log* LogOf(const SharedMemory& shm) { return static_cast<Log*>(shm.data()); }

// Sizes: mostly small, now and then one that needs a new segment.
int SizeFor(int producer, int seq) {
  return (seq * 7 + producer) % 97 == 0 ? kBig : 40 + (seq * 13) % 200;
}

std::string RandomItem(int producer, int seq) {
  std::string s = MakeItem("", seq, SizeFor(producer, seq));
  std::memcpy(&s[0], &producer, sizeof producer);  // overwrite the prefix
  std::memcpy(&s[4], &seq, sizeof seq);
  return s;
}

int RandomProducer(Queue<std::string> q, SharedMemory shm, int id) {
  Log* log = LogOf(shm);
  for (int seq = 0; seq < kPerProducer; ++seq) {
    if (!q.Put(RandomItem(id, seq)).ok()) {
      log->errors.fetch_add(1);
      return 1;
    }
    log->acked[id].store(seq + 1);
  }
  return 0;
}
MP_REGISTER(RandomProducer);

void Record(Log* log, const std::string& item, std::vector<int32_t>& last) {
  int32_t producer, seq;
  std::memcpy(&producer, item.data(), sizeof producer);
  std::memcpy(&seq, item.data() + 4, sizeof seq);
  if (producer < 0 || producer >= kMaxProducers || seq < 0 ||
      seq >= kPerProducer || item != RandomItem(producer, seq)) {
    log->corrupt.fetch_add(1);
    return;
  }
  if (seq <= last[producer]) log->out_of_order.fetch_add(1);
  last[producer] = seq;
  log->seen[producer][seq].fetch_add(1);
}

int RandomConsumer(Queue<std::string> q, SharedMemory shm) {
  Log* log = LogOf(shm);
  std::vector<int32_t> last(kMaxProducers, -1);
  for (;;) {
    absl::StatusOr<std::string> item = q.Get(absl::Milliseconds(20));
    if (item.ok()) {
      Record(log, *item, last);
    } else if (IsEmpty(item.status())) {
      if (log->stop.load()) return 0;
    } else {
      log->errors.fetch_add(1);
      return 1;
    }
  }
}
MP_REGISTER(RandomConsumer);

class RandomKillTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(RandomKillTest, NothingAcknowledgedIsLost) {
  const int64_t maxsize = GetParam();
  auto q = Queue<std::string>::Create(maxsize);
  ASSERT_TRUE(q.ok());
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(sizeof(Log));
  ASSERT_TRUE(shm.ok()) << shm.status();
  Log* log = LogOf(*shm);

  std::mt19937 rng(
      static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()) ^ (maxsize << 8)));
  int next_id = 0;
  struct Worker {
    Process process;
    bool producer;
  };
  std::vector<Worker> workers;
  // However the test ends, no worker outlives it: consumers run until told
  // to stop, and a process that exits joins its live children (as Python's
  // does), so a failed assertion would otherwise hang the test binary.
  absl::Cleanup reap_workers = [&] {
    log->stop.store(1);
    for (Worker& w : workers) {
      if (w.process.IsAlive()) w.process.Kill().IgnoreError();
      w.process.Join(kPatience).IgnoreError();
    }
  };
  auto start_worker = [&](auto make_process, bool producer) {
    workers.push_back({make_process(), producer});
    absl::Status s = workers.back().process.Start();
    if (!s.ok()) {
      workers.pop_back();
      FAIL() << s;
    }
  };
  auto start_producer = [&] {
    start_worker([&] { return Process(RandomProducer, *q, *shm, next_id++); },
                 true);
  };
  auto start_consumer = [&] {
    start_worker([&] { return Process(RandomConsumer, *q, *shm); }, false);
  };
  for (int i = 0; i < 2; ++i) {
    ASSERT_NO_FATAL_FAILURE(start_producer());
    ASSERT_NO_FATAL_FAILURE(start_consumer());
  }

  constexpr int kKills = 200;
  int consumer_kills = 0;
  for (int k = 0; k < kKills; ++k) {
    // A random moment: the workers run on while the parent waits.
    absl::SleepFor(absl::Microseconds(rng() % 3000));
    size_t victim = rng() % workers.size();
    Worker w = std::move(workers[victim]);
    workers.erase(workers.begin() + static_cast<ptrdiff_t>(victim));
    ASSERT_TRUE(w.process.Kill().ok());
    ASSERT_TRUE(w.process.Join(kPatience).ok());
    if (w.producer) {
      ASSERT_NO_FATAL_FAILURE(start_producer());
    } else {
      if (w.process.exitcode() != 0) ++consumer_kills;
      ASSERT_NO_FATAL_FAILURE(start_consumer());
    }
    ASSERT_LT(next_id, kMaxProducers);
  }

  // Let the producers finish, then the consumers drain and stop.
  for (Worker& w : workers) {
    if (!w.producer) continue;
    ASSERT_TRUE(w.process.Join(kPatience).ok());
    EXPECT_EQ(w.process.exitcode(), 0);
  }
  log->stop.store(1);
  for (Worker& w : workers) {
    if (w.producer) continue;
    ASSERT_TRUE(w.process.Join(kPatience).ok());
    EXPECT_EQ(w.process.exitcode(), 0);
  }
  std::vector<int32_t> last(kMaxProducers, -1);
  for (;;) {
    absl::StatusOr<std::string> item = q->GetNowait();
    if (!item.ok()) break;
    Record(log, *item, last);
  }

  EXPECT_EQ(log->errors.load(), 0);
  EXPECT_EQ(log->corrupt.load(), 0);
  EXPECT_EQ(log->out_of_order.load(), 0);
  int missing = 0;
  for (int p = 0; p < next_id; ++p) {
    const int acked = log->acked[p].load();
    for (int seq = 0; seq < kPerProducer; ++seq) {
      const int seen = log->seen[p][seq].load();
      ASSERT_LE(seen, 1) << "producer " << p << " item " << seq << " twice";
      if (seq < acked && seen == 0) ++missing;
      // Beyond the acknowledged ones, only the one a killed producer had
      // committed but not acknowledged may have arrived.
      if (seq > acked) {
        ASSERT_EQ(seen, 0) << "producer " << p << " item " << seq;
      }
    }
  }
  // Each killed consumer may have taken one item with it.
  EXPECT_LE(missing, consumer_kills);
  EXPECT_TRUE(q->Empty());
  ExpectConsistent(*q);
  ExpectQueueWorks(*q);
}

INSTANTIATE_TEST_SUITE_P(Maxsize, RandomKillTest,
                         ::testing::Values(int64_t{0}, int64_t{50}));

}  // namespace
}  // namespace mp
