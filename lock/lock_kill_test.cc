// Processes contending for a Lock or RLock are killed (TerminateProcess /
// SIGKILL) at random moments, holding it or about to take or give it back:
// the others must always get it afterwards, with OwnerDied when the victim
// held it, and never wait on a dead holder.
#include <atomic>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/internal/test_child.h"
#include "base/shared_memory.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "lock/lock.h"

namespace mp {
namespace {

using test_util::ChildRegistrar;
using test_util::SpawnChild;

// Far beyond any fair wait, short of a hang.
constexpr absl::Duration kPatience = absl::Seconds(60);

// Shared with the contenders.
struct Board {
  std::atomic<int32_t> holder;  // the contender that says it holds the lock
  std::atomic<int32_t> stop;
  std::atomic<int64_t> owner_died;  // acquisitions that reported OwnerDied
  std::atomic<int64_t> failures;    // acquisitions that failed otherwise
};

Board* BoardOf(const SharedMemory& shm) {
  return static_cast<Board*>(shm.data());
}

// Takes and gives back `lock` until told to stop, counting OwnerDied.
int ContendChild(Decoder& args) {
  AnyLock lock;
  SharedMemory shm;
  int32_t id = 0;
  if (!args.Read(lock, shm, id).ok()) return 90;
  Board* board = BoardOf(shm);
  std::mt19937 rng(static_cast<uint32_t>(absl::ToUnixNanos(absl::Now())) ^
                   static_cast<uint32_t>(id));
  while (board->stop.load() == 0) {
    absl::Status s = lock.Acquire(kPatience);
    if (IsOwnerDied(s)) {
      board->owner_died.fetch_add(1);
    } else if (!s.ok()) {
      board->failures.fetch_add(1);
      return 1;
    }
    board->holder.store(id);
    // Sleeps stand for work, under the lock and outside it.
    absl::SleepFor(absl::Microseconds(rng() % 300));
    board->holder.store(-1);
    if (!lock.Release().ok()) {
      board->failures.fetch_add(1);
      return 2;
    }
    absl::SleepFor(absl::Microseconds(rng() % 300));
  }
  return 0;
}
const ChildRegistrar kContend("contend", &ContendChild);

class LockKillTest : public ::testing::TestWithParam<bool> {};

TEST_P(LockKillTest, SurvivorsAlwaysGetTheLock) {
  const bool recursive = GetParam();
  AnyLock lock;
  if (recursive) {
    absl::StatusOr<RLock> rlock = RLock::Create();
    ASSERT_TRUE(rlock.ok()) << rlock.status();
    lock = *rlock;
  } else {
    absl::StatusOr<Lock> plain = Lock::Create();
    ASSERT_TRUE(plain.ok()) << plain.status();
    lock = *plain;
  }
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(sizeof(Board));
  ASSERT_TRUE(shm.ok()) << shm.status();
  Board* board = BoardOf(*shm);
  board->holder.store(-1);

  std::mt19937 rng(static_cast<uint32_t>(absl::ToUnixNanos(absl::Now())));
  struct Contender {
    ChildProcess process;
    int32_t id;
  };
  int32_t next_id = 0;
  std::vector<Contender> contenders;
  auto start = [&] {
    absl::StatusOr<ChildProcess> child =
        SpawnChild("contend", lock, *shm, next_id);
    ASSERT_TRUE(child.ok()) << child.status();
    contenders.push_back({*std::move(child), next_id++});
  };
  for (int i = 0; i < 4; ++i) ASSERT_NO_FATAL_FAILURE(start());

  constexpr int kKills = 40;
  int64_t holder_kills = 0;  // victims killed saying they held the lock
  int64_t parent_owner_died = 0;
  for (int k = 0; k < kKills; ++k) {
    // A random moment: the contenders run on while the parent waits.
    absl::SleepFor(absl::Microseconds(rng() % 5000));
    const size_t victim = rng() % contenders.size();
    Contender c = std::move(contenders[victim]);
    contenders.erase(contenders.begin() + static_cast<ptrdiff_t>(victim));
    ASSERT_TRUE(c.process.Kill().ok());
    absl::StatusOr<int> code = c.process.Wait(kPatience);
    ASSERT_TRUE(code.ok()) << code.status();
    // The victim said so after taking the lock and unsays it before giving
    // it back: it died holding it, and someone is told.
    if (board->holder.load() == c.id) ++holder_kills;
    ASSERT_NO_FATAL_FAILURE(start());

    // Whoever died where, the lock is to be had, and promptly.
    absl::Status s = lock.Acquire(kPatience);
    ASSERT_TRUE(s.ok() || IsOwnerDied(s)) << "after kill " << k << ": " << s;
    if (IsOwnerDied(s)) ++parent_owner_died;
    EXPECT_TRUE(lock.Release().ok());
  }

  board->stop.store(1);
  for (Contender& c : contenders) {
    absl::StatusOr<int> code = c.process.Wait(kPatience);
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 0);
  }
  EXPECT_EQ(board->failures.load(), 0);
  // Each death holding the lock is told once, though a contender killed
  // before counting the news passes it on by dying holding the lock.
  const int64_t told = board->owner_died.load() + parent_owner_died;
  EXPECT_GE(told, holder_kills);
  EXPECT_LE(told, kKills);
  EXPECT_TRUE(lock.Acquire(absl::ZeroDuration()).ok());
  EXPECT_TRUE(lock.Release().ok());
}

INSTANTIATE_TEST_SUITE_P(LockAndRLock, LockKillTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "RLock" : "Lock";
                         });

}  // namespace
}  // namespace mp

int main(int argc, char** argv) { return mp::test_util::TestMain(argc, argv); }
