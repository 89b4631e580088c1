// The lock soak: processes taking turns on one Lock or RLock, killed at
// random, many of them while they hold it or wait for it.
//
// Each round uses a new lock (a Lock, a quarter of whose holds another
// thread releases, or an RLock taken two levels deep) and four workers. A
// worker takes the lock, says so in `holder`, adds one to a counter the lock
// guards (a read, some work, a write, so that a kill can fall in between),
// unsays it, gives the lock back, and then counts the increment as
// acknowledged. At the end of the round: nobody waited on a dead holder (no
// call took kStuck), nobody held the lock while another did, every death of a
// holder was reported (OwnerDied), and the counter is exact up to the slack the
// kills allow: at least the acknowledged increments, and at most one more per
// killed worker (one killed between its write and its acknowledgement).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/shared_memory.h"
#include "base/status.h"
#include "lock/lock.h"
#include "process/process.h"
#include "tools/soak/soak.h"

namespace mp {
namespace soak {
namespace {

constexpr int kWorkers = 4;

struct Board {
  Slot slots[kWorkers];
  int64_t counter;  // guarded by the lock
  // Slot + 1 of the worker that says it holds the lock; 0 when none says
  // so; kDead after the killer killed the one that said so.
  std::atomic<int32_t> holder;
  std::atomic<int64_t> acknowledged;
  std::atomic<int64_t> owner_died;  // acquisitions told of a dead holder
  std::atomic<int64_t> overlaps;    // acquisitions that found a live holder
  std::atomic<int64_t> unreported;  // found a dead one and were not told
  std::atomic<int32_t> errors;
  std::atomic<int32_t> stop;
};

Board* BoardOf(const SharedMemory& shm) {
  return static_cast<Board*>(shm.data());
}

constexpr int32_t kDead = -1;

// Busy work, up to `most` loop iterations.
void Work(std::mt19937& rng, uint32_t most) {
  const uint32_t n = rng() % most;
  for (volatile uint32_t i = 0; i < n; i = i + 1) {
  }
}

int LockWorker(AnyLock lock, SharedMemory shm, int slot, uint32_t seed) {
  Board* board = BoardOf(shm);
  Slot& me = board->slots[slot];
  std::mt19937 rng(seed);
  const int levels = lock.recursive() ? 2 : 1;
  while (board->stop.load() == 0) {
    absl::Status s;
    {
      CallScope call(me);
      s = lock.Acquire();
    }
    const bool died = IsOwnerDied(s);
    if (!s.ok() && !died) {
      board->errors.fetch_add(1);
      return 1;
    }
    if (died) board->owner_died.fetch_add(1);
    if (levels == 2 && !lock.Acquire(absl::ZeroDuration()).ok()) {
      board->errors.fetch_add(1);
      return 2;
    }
    // Another worker that says it holds the lock: two holders at once,
    // unless it died saying so, which must have been reported.
    const int32_t before = board->holder.exchange(slot + 1);
    if (before == kDead && !died) {
      board->unreported.fetch_add(1);
    } else if (before > 0 && !died) {
      board->overlaps.fetch_add(1);
    }
    const int64_t x = board->counter;
    Work(rng, rng() % 16 == 0 ? 200000 : 2000);
    board->counter = x + 1;
    board->holder.store(0);
    if (levels == 1 && rng() % 4 == 0) {
      // Released by another thread, as Python's Lock allows: the entry
      // stays parked on this thread's robust list, so the holders after it
      // are out of the kernel's sight (robust_mutex.h) until this thread
      // takes the lock again.
      absl::Status released;
      std::thread([&] { released = lock.Release(); }).join();
      if (!released.ok()) {
        board->errors.fetch_add(1);
        return 3;
      }
    } else {
      for (int i = 0; i < levels; ++i) {
        if (!lock.Release().ok()) {
          board->errors.fetch_add(1);
          return 3;
        }
      }
    }
    board->acknowledged.fetch_add(1);
    Work(rng, 1000);
  }
  return 0;
}
MP_REGISTER(LockWorker);

struct Counts {
  int64_t kills = 0;
  int64_t holder_kills = 0;  // killed saying they held the lock
  int64_t acknowledged = 0;
  int64_t counter = 0;
  int64_t owner_died = 0;
  int64_t overlaps = 0;
  int64_t miscounted = 0;  // the counter outside [acknowledged, + kills]
  int64_t unreported = 0;  // holder deaths the next holder was not told of
  int64_t errors = 0;
  int64_t stuck = 0;

  void Add(const Counts& o) {
    kills += o.kills;
    holder_kills += o.holder_kills;
    acknowledged += o.acknowledged;
    counter += o.counter;
    owner_died += o.owner_died;
    overlaps += o.overlaps;
    miscounted += o.miscounted;
    unreported += o.unreported;
    errors += o.errors;
    stuck += o.stuck;
  }
  bool Bad() const {
    return overlaps + miscounted + unreported + errors + stuck > 0;
  }
  void Print(const std::string& prefix) const {
    std::printf(
        "%s%lld kills (%lld holding the lock), increments acknowledged "
        "%lld, counted %lld, owner deaths reported %lld, counter off "
        "%lld, holder deaths unreported %lld, two holders %lld, errors "
        "%lld, stuck %lld\n",
        prefix.c_str(), static_cast<long long>(kills),
        static_cast<long long>(holder_kills),
        static_cast<long long>(acknowledged), static_cast<long long>(counter),
        static_cast<long long>(owner_died), static_cast<long long>(miscounted),
        static_cast<long long>(unreported), static_cast<long long>(overlaps),
        static_cast<long long>(errors), static_cast<long long>(stuck));
    std::fflush(stdout);
  }
};

Counts RunRound(AnyLock lock, const SharedMemory& shm, absl::Time until,
                std::mt19937& rng) {
  Board* board = BoardOf(shm);
  Counts c;
  {
    Crew crew(board->slots, kWorkers, [&](int slot) {
      return Process(LockWorker, lock, shm, slot, static_cast<uint32_t>(rng()));
    });
    // Kills `slot`; whether it still said it held the lock.
    auto kill = [&](int slot) {
      std::optional<Crew::Victim> victim = crew.Kill(slot);
      if (!victim.has_value()) return false;
      ++c.kills;
      // A victim that still says it holds the lock died holding it: the
      // next holder must be told (unless it has taken over already).
      int32_t claim = slot + 1;
      if (board->holder.compare_exchange_strong(claim, kDead)) {
        ++c.holder_kills;
      }
      return true;
    };
    bool ok = crew.StartAll();
    while (ok && absl::Now() < until) {
      absl::SleepFor(absl::Microseconds(rng() % 3000));
      // Half the time the worker that says it holds the lock; then, half
      // the time, the next one to hold it as well, as soon as it does: a
      // holder that took the lock from a dead one, while the dead one may
      // still be exiting.
      const int32_t holder = board->holder.load();
      const bool chase = holder > 0 && rng() % 2 == 0;
      ok = kill(chase ? holder - 1 : static_cast<int>(rng() % kWorkers));
      if (ok && chase && rng() % 2 == 0) {
        const absl::Time give_up = absl::Now() + absl::Milliseconds(100);
        int32_t next = board->holder.load();
        while ((next <= 0 || next == holder) && absl::Now() < give_up) {
          next = board->holder.load();
        }
        if (next > 0 && next != holder) ok = kill(next - 1);
      }
      c.stuck += crew.CountStuckCalls();
    }
    if (!ok) ++c.errors;
    board->stop.store(1);
    std::vector<int> all;
    for (int i = 0; i < kWorkers; ++i) all.push_back(i);
    c.stuck += crew.JoinAll(all);
    c.errors += crew.failures();
  }
  c.acknowledged = board->acknowledged.load();
  c.counter = board->counter;
  c.owner_died = board->owner_died.load();
  c.overlaps = board->overlaps.load();
  c.unreported = board->unreported.load();
  c.errors += board->errors.load();
  if (c.counter < c.acknowledged || c.counter > c.acknowledged + c.kills) {
    c.miscounted = c.counter - c.acknowledged;
  }
  return c;
}

}  // namespace

int SoakLock(const Options& options) {
  std::mt19937 rng(options.seed ^ 0x9e3779b9u);
  const absl::Time end = absl::Now() + options.duration;
  Counts total;
  int rounds = 0;
  for (; absl::Now() < end; ++rounds) {
    const bool recursive = rounds % 2 == 1;
    AnyLock lock;
    absl::Status made;
    if (recursive) {
      absl::StatusOr<RLock> l = RLock::Create();
      made = l.status();
      if (l.ok()) lock = *l;
    } else {
      absl::StatusOr<Lock> l = Lock::Create();
      made = l.status();
      if (l.ok()) lock = *l;
    }
    absl::StatusOr<SharedMemory> shm = SharedMemory::Create(sizeof(Board));
    if (!made.ok() || !shm.ok()) {
      std::fprintf(
          stderr, "soak: %s\n",
          std::string((made.ok() ? shm.status() : made).message()).c_str());
      return 1;
    }
    const Counts c =
        RunRound(lock, *shm, std::min(end, absl::Now() + kRound), rng);
    c.Print(absl::StrCat("lock round ", rounds + 1, ", ",
                         recursive ? "RLock" : "Lock", ": "));
    total.Add(c);
  }
  total.Print(absl::StrCat("lock: ", rounds, " rounds, "));
  return total.Bad() ? 1 : 0;
}

}  // namespace soak
}  // namespace mp
