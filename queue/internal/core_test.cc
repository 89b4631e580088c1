// Tests of the queue's protocol that need its insides.
//
// The queue never trusts its shared memory: whatever another process wrote
// there (a bug, a half-finished write), a Put or Get reports it as an error
// and does not crash. The CorruptTests scribble on a queue's shared state
// and check exactly that. The WakeUpTests check that sleepers are woken by
// the other side, not by their periodic re-check; the BiasTest follows the
// producer bias from thread to thread.
#include "queue/internal/core.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/deadline.h"
#include "base/handle.h"
#include "base/shared_memory.h"
#include "base/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queue/internal/bias.h"
#include "queue/internal/layout.h"
#include "queue/queue.h"

namespace mp {
namespace queue_internal {

struct QueueTestPeer {
  template <typename Q>
  static Core& CoreOf(Q& q) {
    return *q.state_->core;
  }
  static Header* HeaderOf(Core& core) { return core.h_; }
  // The record header at position `cursor`.
  static RecordHeader* RecordAt(Core& core, uint64_t cursor) {
    absl::StatusOr<char*> p =
        core.arena_->Map(CursorOffset(cursor), sizeof(RecordHeader));
    EXPECT_TRUE(p.ok()) << p.status();
    return reinterpret_cast<RecordHeader*>(*p);
  }
  static bool YieldUntil(std::atomic<uint32_t>* yielding_cpu,
                         absl::FunctionRef<bool()> ready) {
    return SleepWake::YieldUntil(yielding_cpu, ready);
  }
  // Whether the calling thread holds the producer bias.
  static bool HoldsBias(Core& core) {
    return core.h_->bias.load() == ThreadToken();
  }
  static void TurnOffRecheck(Core& core) {
    core.wake_.recheck_ = absl::InfiniteDuration();
  }
  static SegmentHeader* SegmentAt(Core& core, uint64_t cursor) {
    absl::StatusOr<char*> p =
        core.arena_->Map(CursorOffset(cursor), sizeof(SegmentHeader));
    EXPECT_TRUE(p.ok()) << p.status();
    return reinterpret_cast<SegmentHeader*>(*p);
  }
};

namespace {

using ::testing::HasSubstr;

constexpr int kBig = 200 << 10;

class CorruptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto q = Queue<std::string>::Create();
    ASSERT_TRUE(q.ok()) << q.status();
    q_ = *std::move(q);
    core_ = &QueueTestPeer::CoreOf(q_);
    h_ = QueueTestPeer::HeaderOf(*core_);
  }

  void ExpectCorrupt(const absl::Status& s) {
    EXPECT_TRUE(IsDecodeError(s)) << s;
    EXPECT_THAT(s.message(), HasSubstr("corrupt"));
  }

  Queue<std::string> q_;
  Core* core_ = nullptr;
  Header* h_ = nullptr;
};

TEST_F(CorruptTest, ConsumerPositions) {
  ASSERT_TRUE(q_.Put("x").ok());
  const uint64_t good = h_->read.first;
  const uint64_t bad[] = {
      0,                                               // the header block
      MakeCursor(40, kFirstSegment + 64),              // no such class
      good + 3,                                        // misaligned
      good | (uint64_t{1} << 50),                      // stray bits
      MakeCursor(0, kFirstSegment + kMinSegment - 8),  // no room for a header
      MakeCursor(0, uint64_t{1} << 40),                // far beyond the arena
      MakeCursor(0, kInitialSize + 64),                // beyond what exists
  };
  for (uint64_t cursor : bad) {
    h_->read.first = cursor;
    ExpectCorrupt(q_.GetNowait().status());
  }
  h_->read.first = good;
  EXPECT_EQ(*q_.Get(), "x");
}

TEST_F(CorruptTest, RecordHeaders) {
  ASSERT_TRUE(q_.Put("x").ok());
  RecordHeader* r = QueueTestPeer::RecordAt(*core_, h_->read.first);
  const uint64_t stamp = r->stamp.load();
  const uint64_t st = r->size_and_type;
  r->stamp.store(stamp + 7);
  ExpectCorrupt(q_.GetNowait().status());
  r->stamp.store(stamp);
  r->size_and_type = (uint64_t{kItem} << 56) | (uint64_t{1} << 40);  // huge
  ExpectCorrupt(q_.GetNowait().status());
  r->size_and_type = (uint64_t{9} << 56) | 1;  // no such record type
  ExpectCorrupt(q_.GetNowait().status());
  r->size_and_type = st;
  EXPECT_EQ(*q_.Get(), "x");
}

TEST_F(CorruptTest, ChainLinks) {
  // A big item after a small one: the consumer follows an END record.
  ASSERT_TRUE(q_.Put("small").ok());
  ASSERT_TRUE(q_.Put(std::string(kBig, 'b')).ok());
  EXPECT_EQ(*q_.Get(), "small");
  SegmentHeader* seg = QueueTestPeer::SegmentAt(*core_, kFirstSegment);
  const uint64_t next = seg->next.load();
  for (uint64_t bad : {uint64_t{0}, next + kMinSegment, next | 1,
                       MakeCursor(0, kFirstSegment)}) {
    seg->next.store(bad);
    ExpectCorrupt(q_.GetNowait().status());
  }
  seg->next.store(next);
  EXPECT_EQ(q_.Get()->size(), static_cast<size_t>(kBig));
}

TEST_F(CorruptTest, ProducerState) {
  const uint64_t ppos = h_->ppos.load();
  h_->ppos.store(MakeCursor(3, uint64_t{1} << 44));
  ExpectCorrupt(q_.Put("x"));
  h_->ppos.store(ppos);

  // Allocation: a bad free list head, a bad top.
  const uint64_t top = h_->top.load();
  h_->warm[2].store(MakeCursor(2, kFirstSegment));  // not class 2
  ExpectCorrupt(q_.Put(std::string(kBig, 'b')));
  h_->warm[2].store(MakeCursor(1, 3 * kMinSegment));  // wrong class
  ExpectCorrupt(q_.Put(std::string(kBig, 'b')));
  h_->warm[2].store(0);
  h_->top.store(uint64_t{1} << 62);
  ExpectCorrupt(q_.Put(std::string(kBig, 'b')));
  h_->top.store(top);

  // A bad chain start: reclaiming (before the next new segment) refuses it.
  ASSERT_TRUE(q_.Put(std::string(kBig, 'b')).ok());
  ASSERT_TRUE(q_.Get().ok());
  const uint64_t start = h_->chain_start.load();
  h_->chain_start.store(MakeCursor(0, 5 * kMinSegment + 8));
  ExpectCorrupt(q_.Put(std::string(kBig, 'c')));
  h_->chain_start.store(start);
  EXPECT_TRUE(q_.Put(std::string(kBig, 'c')).ok());
  EXPECT_EQ(q_.Get()->size(), static_cast<size_t>(kBig));
  EXPECT_TRUE(core_->CheckConsistency().ok());
}

// With the sleepers' periodic re-check turned off, a wake-up that the other
// side fails to make leaves the sleeper asleep until its timeout: each half
// of the test then takes at least kPatience, where a few milliseconds are
// enough. Each round waits until the other thread has announced that it is
// going to sleep before it acts.
TEST(WakeUpTest, SleepersAreWokenWithoutTheirRecheck) {
  constexpr int kRounds = 200;
  constexpr absl::Duration kPatience = absl::Seconds(20);
  absl::StatusOr<Queue<int>> q = Queue<int>::Create(1);
  ASSERT_TRUE(q.ok()) << q.status();
  Core& core = QueueTestPeer::CoreOf(*q);
  QueueTestPeer::TurnOffRecheck(core);
  Header* h = QueueTestPeer::HeaderOf(core);
  auto announced = [&](std::atomic<uint32_t>& sleepers) {
    const Deadline deadline = Deadline::After(kPatience);
    while (sleepers.load() == 0) {
      if (deadline.Expired()) return false;
      std::this_thread::yield();
    }
    return true;
  };

  // A consumer asleep on an empty queue, woken by each Put.
  absl::Time start = absl::Now();
  std::thread consumer([&] {
    for (int i = 0; i < kRounds; ++i) {
      absl::StatusOr<int> v = q->Get(kPatience);
      EXPECT_TRUE(v.ok()) << v.status();
      if (!v.ok()) return;
      EXPECT_EQ(*v, i);
    }
  });
  for (int i = 0; i < kRounds && announced(h->put_sleepers); ++i) {
    EXPECT_TRUE(q->Put(i).ok());
  }
  consumer.join();
  // Most of those puts were made with the producer bias, where there is one
  // (a consumer about to sleep then runs a HeavyBarrier).
  if (PrepareBiasHolder()) {
    EXPECT_TRUE(QueueTestPeer::HoldsBias(core));
  }
  EXPECT_LT(absl::Now() - start, kPatience) << "a consumer missed a wake-up";

  // A producer asleep on a full queue, woken by each Get.
  ASSERT_TRUE(q->Put(-1).ok());
  start = absl::Now();
  std::thread producer([&] {
    for (int i = 0; i < kRounds; ++i) {
      absl::Status s = q->Put(i, kPatience);
      EXPECT_TRUE(s.ok()) << s;
      if (!s.ok()) return;
    }
  });
  for (int i = -1; i < kRounds - 1 && announced(h->get_sleepers); ++i) {
    EXPECT_EQ(*q->Get(), i);
  }
  producer.join();
  EXPECT_LT(absl::Now() - start, kPatience) << "a producer missed a wake-up";
  EXPECT_EQ(q->Qsize(), 1);
}

// The producer bias passes between threads: earned by a run of puts,
// revoked by another producer's put (and then twice as hard to earn), given
// up by the former holder on its next put, and never reorders items.
TEST(BiasTest, EarnedRevokedAndEarnedAgain) {
  if (!PrepareBiasHolder()) GTEST_SKIP() << "no producer bias here";
  absl::StatusOr<Queue<int>> q = Queue<int>::Create();
  ASSERT_TRUE(q.ok()) << q.status();
  Core& core = QueueTestPeer::CoreOf(*q);
  Header* h = QueueTestPeer::HeaderOf(core);
  int next = 0;
  auto put_run = [&](int n) {
    for (int i = 0; i < n; ++i) EXPECT_TRUE(q->Put(next++).ok());
  };
  absl::Notification earned, revoked, given_up;
  std::thread other([&] {
    put_run(kBiasAfter - 1);
    EXPECT_FALSE(QueueTestPeer::HoldsBias(core));
    put_run(1);
    EXPECT_TRUE(QueueTestPeer::HoldsBias(core));
    EXPECT_TRUE(h->bias_alive.HeldByMe());
    put_run(10);  // biased puts
    earned.Notify();
    revoked.WaitForNotification();
    EXPECT_FALSE(QueueTestPeer::HoldsBias(core));
    put_run(1);  // through the lock: gives bias_alive up
    EXPECT_FALSE(h->bias_alive.HeldByMe());
    given_up.Notify();
  });
  earned.WaitForNotification();
  put_run(1);  // revokes
  EXPECT_EQ(h->bias.load(), 0u);
  EXPECT_EQ(h->bias_after, 2 * kBiasAfter);
  revoked.Notify();
  given_up.WaitForNotification();
  other.join();
  put_run(2 * kBiasAfter - 1);
  EXPECT_FALSE(QueueTestPeer::HoldsBias(core));
  put_run(1);
  EXPECT_TRUE(QueueTestPeer::HoldsBias(core));
  for (int i = 0; i < next; ++i) {
    absl::StatusOr<int> v = q->GetNowait();
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, i);
  }
  EXPECT_TRUE(core.CheckConsistency().ok());
  EXPECT_FALSE(QueueTestPeer::HoldsBias(core));  // the check took the lock
}

// A consumer that waits by yielding shows a producer on its CPU where it
// runs (a CPU number + 1), and takes it back when it stops waiting.
TEST(WakeUpTest, YieldingConsumerShowsItsCpu) {
  std::atomic<uint32_t> cpu{0};
  std::vector<uint32_t> seen;
  EXPECT_TRUE(QueueTestPeer::YieldUntil(&cpu, [&] {
    seen.push_back(cpu.load());
    return seen.size() == 3;
  }));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], 0u);  // not yet waiting
  EXPECT_NE(seen[1], 0u);
  EXPECT_NE(seen[2], 0u);
  EXPECT_EQ(cpu.load(), 0u);
  // Gives up after its yields, and shows nothing after that either.
  EXPECT_FALSE(QueueTestPeer::YieldUntil(&cpu, [] { return false; }));
  EXPECT_EQ(cpu.load(), 0u);
}

// A handle that is not a queue's arena is refused when decoded.
TEST(OpenTest, NotAQueue) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(4096);
  ASSERT_TRUE(shm.ok()) << shm.status();
  absl::StatusOr<OwnedHandle> h = shm->DuplicateHandle();
  ASSERT_TRUE(h.ok());
  absl::StatusOr<std::shared_ptr<Core>> core =
      Core::Open(*std::move(h), Kind::kQueue, 0);
  EXPECT_FALSE(core.ok());
  EXPECT_EQ(core.status().code(), absl::StatusCode::kInvalidArgument)
      << core.status();
}

}  // namespace
}  // namespace queue_internal
}  // namespace mp
