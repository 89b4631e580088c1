// Barrier: CPython's test_barrier, test_action, test_abort, test_reset,
// test_timeout, test_default_timeout behaviours, with parties in spawned
// processes (5 of them, 1000 passes) and in threads.
#include "lock/barrier.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/deadline.h"
#include "base/internal/test_child.h"
#include "base/shared_memory.h"
#include "base/status.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

using test_util::ChildRegistrar;
using test_util::ExitCode;
using test_util::SpawnChild;

// Per pass, how many parties got index 0, and the sum of all indices.
struct Tally {
  std::atomic<int32_t> zeros;
  std::atomic<int64_t> index_sum;
};

int PassesChild(Decoder& args) {
  Barrier barrier;
  SharedMemory board;
  int passes = 0;
  if (!args.Read(barrier, board, passes).ok()) return 90;
  Tally* tally = static_cast<Tally*>(board.data());
  for (int i = 0; i < passes; ++i) {
    absl::StatusOr<int> index = barrier.Wait(absl::Seconds(120));
    if (!index.ok()) return 91;
    if (*index < 0 || *index >= barrier.parties()) return 92;
    if (*index == 0) tally->zeros.fetch_add(1);
    tally->index_sum.fetch_add(*index);
  }
  return 0;
}
const ChildRegistrar kPasses("passes", &PassesChild);

// One Wait(); exit 0 if the barrier was broken, 1 if it passed.
int BrokenChild(Decoder& args) {
  Barrier barrier;
  if (!args.Read(barrier).ok()) return 90;
  absl::StatusOr<int> index = barrier.Wait(absl::Seconds(120));
  if (IsBrokenBarrier(index.status())) return 0;
  return index.ok() ? 1 : 2;
}
const ChildRegistrar kBroken("broken", &BrokenChild);

// Spins (yielding) until `n` parties wait at `b`; a minute is a failure,
// not a hang.
void AwaitWaiting(const Barrier& b, int n) {
  Deadline deadline = Deadline::After(absl::Seconds(60));
  while (b.n_waiting() < n) {
    ASSERT_FALSE(deadline.Expired()) << "fewer than " << n << " parties wait";
    std::this_thread::yield();
  }
}

// `parties` threads pass `barrier` together, once.
void ExpectThreadsPass(Barrier& barrier, int parties) {
  std::vector<std::thread> threads;
  for (int i = 0; i < parties; ++i) {
    threads.emplace_back([&] { EXPECT_TRUE(barrier.Wait().ok()); });
  }
  for (std::thread& t : threads) t.join();
}

TEST(BarrierTest, FiveProcessesAThousandPasses) {
  constexpr int kParties = 5, kPasses = 1000;
  absl::StatusOr<Barrier> barrier = Barrier::Create(kParties);
  absl::StatusOr<SharedMemory> board = SharedMemory::Create(sizeof(Tally));
  ASSERT_TRUE(barrier.ok() && board.ok());
  std::vector<absl::StatusOr<ChildProcess>> children;
  for (int i = 0; i < kParties; ++i) {
    children.push_back(SpawnChild("passes", *barrier, *board, kPasses));
  }
  for (auto& c : children) EXPECT_EQ(ExitCode(c), 0);
  Tally* tally = static_cast<Tally*>(board->data());
  EXPECT_EQ(tally->zeros.load(), kPasses);  // exactly one 0 per pass
  EXPECT_EQ(tally->index_sum.load(), int64_t{kPasses} * (0 + 1 + 2 + 3 + 4));
  EXPECT_EQ(barrier->n_waiting(), 0);
  EXPECT_FALSE(barrier->broken());
}

TEST(BarrierTest, ThreadsGetDistinctIndicesAndTheActionRunsOncePerCycle) {
  constexpr int kParties = 4, kPasses = 50;
  std::atomic<int> actions{0};
  absl::StatusOr<Barrier> barrier =
      Barrier::Create(kParties, [&] { actions.fetch_add(1); });
  ASSERT_TRUE(barrier.ok());
  EXPECT_EQ(barrier->parties(), kParties);
  std::atomic<int> index_mask[kPasses] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < kParties; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPasses; ++i) {
        absl::StatusOr<int> index = barrier->Wait();
        ASSERT_TRUE(index.ok()) << index.status();
        // The action ran before anyone of this cycle was released.
        EXPECT_GE(actions.load(), i + 1);
        index_mask[i].fetch_or(1 << *index);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(actions.load(), kPasses);
  for (int i = 0; i < kPasses; ++i) EXPECT_EQ(index_mask[i].load(), 0xf);
}

TEST(BarrierTest, AbortBreaksItForWaitersAndLaterCallers) {
  absl::StatusOr<Barrier> barrier = Barrier::Create(3);
  ASSERT_TRUE(barrier.ok());
  auto child = SpawnChild("broken", *barrier);
  AwaitWaiting(*barrier, 1);
  ASSERT_TRUE(barrier->Abort().ok());
  EXPECT_TRUE(barrier->broken());
  EXPECT_EQ(ExitCode(child), 0);
  EXPECT_TRUE(IsBrokenBarrier(barrier->Wait().status()));
  EXPECT_EQ(barrier->n_waiting(), 0);
  // Reset mends it.
  ASSERT_TRUE(barrier->Reset().ok());
  EXPECT_FALSE(barrier->broken());
  ExpectThreadsPass(*barrier, 3);
}

TEST(BarrierTest, ResetBreaksItForThoseWaitingAndThenWorks) {
  absl::StatusOr<Barrier> barrier = Barrier::Create(3);
  ASSERT_TRUE(barrier.ok());
  std::vector<std::thread> threads;
  std::atomic<int> broken{0};
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&] {
      if (IsBrokenBarrier(barrier->Wait().status())) broken.fetch_add(1);
    });
  }
  AwaitWaiting(*barrier, 2);
  ASSERT_TRUE(barrier->Reset().ok());
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(broken.load(), 2);
  EXPECT_FALSE(barrier->broken());
  ExpectThreadsPass(*barrier, 3);
}

TEST(BarrierTest, TimeoutBreaksItForEveryParty) {
  absl::StatusOr<Barrier> barrier = Barrier::Create(3);
  ASSERT_TRUE(barrier.ok());
  auto child = SpawnChild("broken", *barrier);
  AwaitWaiting(*barrier, 1);
  int64_t start = Deadline::NowNanos();
  EXPECT_TRUE(IsBrokenBarrier(barrier->Wait(absl::Milliseconds(100)).status()));
  EXPECT_GE(Deadline::NowNanos() - start, 100 * 1000 * 1000);
  EXPECT_TRUE(barrier->broken());
  EXPECT_EQ(ExitCode(child), 0);
}

TEST(BarrierTest, DefaultTimeout) {
  absl::StatusOr<Barrier> barrier =
      Barrier::Create(2, nullptr, absl::Milliseconds(100));
  ASSERT_TRUE(barrier.ok());
  int64_t start = Deadline::NowNanos();
  EXPECT_TRUE(IsBrokenBarrier(barrier->Wait().status()));
  EXPECT_GE(Deadline::NowNanos() - start, 100 * 1000 * 1000);
}

TEST(BarrierTest, ActionMayAbortItsOwnBarrier) {
  absl::StatusOr<Barrier> barrier;
  barrier = Barrier::Create(1, [&] { barrier->Abort().IgnoreError(); });
  ASSERT_TRUE(barrier.ok());
  EXPECT_TRUE(IsBrokenBarrier(barrier->Wait().status()));
  EXPECT_TRUE(barrier->broken());
}

TEST(BarrierTest, BadArgumentsAndEmptyHandles) {
  EXPECT_EQ(Barrier::Create(0).status().code(),
            absl::StatusCode::kInvalidArgument);
  Barrier empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.Wait().status(), EmptyObjectError("Barrier.Wait"));
  EXPECT_EQ(empty.Wait(absl::ZeroDuration()).status(),
            EmptyObjectError("Barrier.Wait"));
  EXPECT_EQ(empty.Reset(), EmptyObjectError("Barrier.Reset"));
  EXPECT_EQ(empty.Abort(), EmptyObjectError("Barrier.Abort"));
  EXPECT_EQ(empty.parties(), 0);
  EXPECT_EQ(empty.n_waiting(), 0);
  EXPECT_FALSE(empty.broken());
  // An action is code of this process: it cannot go to a spawned one.
  absl::StatusOr<Barrier> with_action = Barrier::Create(2, [] {});
  ASSERT_TRUE(with_action.ok());
  std::vector<NativeHandle> handles;
  EXPECT_EQ(Encode(*with_action, &handles).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mp

int main(int argc, char** argv) { return mp::test_util::TestMain(argc, argv); }
