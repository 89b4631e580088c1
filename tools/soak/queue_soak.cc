// The queue soak: producers and consumers of one queue killed at random.
//
// Each round uses a new queue of one of eight kinds (Queue or
// JoinableQueue; unbounded or bounded; small items only, or one item in
// eleven of 200 KiB, which takes the big-item path), three producers and
// three consumers. A producer puts items (its id, a sequence number, a
// pattern) and counts each Put that returned OK; a consumer checks each
// item it gets and counts it. At the end of the round the producers stop,
// the consumers drain the queue, and every acknowledged item must have
// arrived exactly once, in order per producer, except at most one per
// consumer killed while it held an item it had not counted yet.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/shared_memory.h"
#include "base/status.h"
#include "process/process.h"
#include "queue/queue.h"
#include "tools/soak/soak.h"

namespace mp {
namespace soak {
namespace {

constexpr int kProducers = 3;
constexpr int kConsumers = 3;
constexpr int kSlots = kProducers + kConsumers;
// Producer ids per round, and items per producer (one that gets there ends
// and is replaced).
constexpr int kMaxProducers = 2048;
constexpr int kPerProducer = 8192;
constexpr int kBig = 200 << 10;

// The round's record, in shared memory.
struct Log {
  Slot slots[kSlots];
  std::atomic<int32_t> next_id;
  // Puts that returned OK, per producer id.
  std::atomic<int32_t> acked[kMaxProducers];
  // How often each item arrived (at a consumer that lived to count it).
  std::atomic<uint8_t> seen[kMaxProducers][kPerProducer];
  std::atomic<int64_t> delivered;
  std::atomic<int32_t> out_of_order;
  std::atomic<int32_t> corrupt;
  std::atomic<int32_t> errors;
  std::atomic<int32_t> stop_producers;
  std::atomic<int32_t> stop_consumers;
};

Log* LogOf(const SharedMemory& shm) { return static_cast<Log*>(shm.data()); }

struct Kind {
  bool joinable;
  int64_t maxsize;
  bool big;
  std::string Name() const {
    return absl::StrCat(joinable ? "JoinableQueue" : "Queue", "(", maxsize, ")",
                        big ? " small+big items" : " small items");
  }
};

int SizeFor(bool big, int id, int seq) {
  if (big && (seq * 7 + id) % 11 == 0) return kBig;
  return 40 + (seq * 13 + id) % 200;
}

std::string MakeItem(bool big, int id, int seq) {
  std::string s(static_cast<size_t>(SizeFor(big, id, seq)), '\0');
  std::memcpy(&s[0], &id, sizeof id);
  std::memcpy(&s[4], &seq, sizeof seq);
  for (size_t i = 8; i < s.size(); ++i) {
    s[i] = static_cast<char>(
        (i * 31 + static_cast<size_t>(seq) * 7 + static_cast<size_t>(id)) &
        0xff);
  }
  return s;
}

template <typename Q>
int Produce(Q q, SharedMemory shm, int slot, int id, bool big) {
  Log* log = LogOf(shm);
  Slot& me = log->slots[slot];
  for (int seq = 0; seq < kPerProducer && log->stop_producers.load() == 0;) {
    const std::string item = MakeItem(big, id, seq);
    absl::Status s;
    {
      CallScope call(me);
      s = q.Put(item, absl::Seconds(1));
    }
    if (IsFull(s)) continue;  // the consumers are behind (or being killed)
    if (!s.ok()) {
      std::fprintf(stderr, "soak: Put: %s\n", std::string(s.message()).c_str());
      log->errors.fetch_add(1);
      return 1;
    }
    ++seq;
    log->acked[id].store(seq);
  }
  return 0;
}

template <typename Q>
int Consume(Q q, SharedMemory shm, int slot, bool big) {
  Log* log = LogOf(shm);
  Slot& me = log->slots[slot];
  std::vector<int32_t> last(kMaxProducers, -1);
  for (;;) {
    me.holding.store(1);
    absl::StatusOr<std::string> item;
    {
      CallScope call(me);
      item = q.Get(absl::Milliseconds(100));
    }
    if (!item.ok()) {
      me.holding.store(0);
      if (!IsEmpty(item.status())) {
        std::fprintf(stderr, "soak: Get: %s\n",
                     std::string(item.status().message()).c_str());
        log->errors.fetch_add(1);
        return 1;
      }
      if (log->stop_consumers.load() != 0) return 0;
      continue;
    }
    int32_t id = -1, seq = -1;
    if (item->size() >= 8) {
      std::memcpy(&id, item->data(), sizeof id);
      std::memcpy(&seq, item->data() + 4, sizeof seq);
    }
    if (id < 0 || id >= kMaxProducers || seq < 0 || seq >= kPerProducer ||
        *item != MakeItem(big, id, seq)) {
      log->corrupt.fetch_add(1);
    } else {
      if (seq <= last[id]) log->out_of_order.fetch_add(1);
      last[id] = seq;
      log->seen[id][seq].fetch_add(1);
    }
    log->delivered.fetch_add(1);
    me.holding.store(0);
    if constexpr (std::is_same_v<Q, JoinableQueue<std::string>>) {
      CallScope call(me);
      if (!q.TaskDone().ok()) {
        log->errors.fetch_add(1);
        return 1;
      }
    }
  }
}

int QueueProducer(Queue<std::string> q, SharedMemory shm, int slot, int id,
                  bool big) {
  return Produce(q, shm, slot, id, big);
}
MP_REGISTER(QueueProducer);
int JoinableProducer(JoinableQueue<std::string> q, SharedMemory shm, int slot,
                     int id, bool big) {
  return Produce(q, shm, slot, id, big);
}
MP_REGISTER(JoinableProducer);
int QueueConsumer(Queue<std::string> q, SharedMemory shm, int slot, bool big) {
  return Consume(q, shm, slot, big);
}
MP_REGISTER(QueueConsumer);
int JoinableConsumer(JoinableQueue<std::string> q, SharedMemory shm, int slot,
                     bool big) {
  return Consume(q, shm, slot, big);
}
MP_REGISTER(JoinableConsumer);

struct Counts {
  int64_t kills = 0;
  int64_t consumer_kills = 0;
  int64_t acknowledged = 0;
  int64_t delivered = 0;
  int64_t missing = 0;
  int64_t may_be_taken = 0;  // consumers killed holding an uncounted item
  int64_t lost = 0;
  int64_t duplicated = 0;
  int64_t unacknowledged = 0;  // arrived, but beyond what was acknowledged
  int64_t out_of_order = 0;
  int64_t corrupt = 0;
  int64_t errors = 0;
  int64_t stuck = 0;

  void Add(const Counts& o) {
    kills += o.kills;
    consumer_kills += o.consumer_kills;
    acknowledged += o.acknowledged;
    delivered += o.delivered;
    missing += o.missing;
    may_be_taken += o.may_be_taken;
    lost += o.lost;
    duplicated += o.duplicated;
    unacknowledged += o.unacknowledged;
    out_of_order += o.out_of_order;
    corrupt += o.corrupt;
    errors += o.errors;
    stuck += o.stuck;
  }
  bool Bad() const {
    return lost + duplicated + unacknowledged + out_of_order + corrupt +
               errors + stuck >
           0;
  }
  void Print(const char* prefix) const {
    std::printf(
        "%s%lld kills (%lld consumers), acknowledged %lld, delivered %lld, "
        "missing %lld (at most %lld taken by consumers killed holding "
        "them), lost %lld, duplicated %lld, unacknowledged %lld, out of "
        "order %lld, corrupt %lld, errors %lld, stuck %lld\n",
        prefix, static_cast<long long>(kills),
        static_cast<long long>(consumer_kills),
        static_cast<long long>(acknowledged), static_cast<long long>(delivered),
        static_cast<long long>(missing), static_cast<long long>(may_be_taken),
        static_cast<long long>(lost), static_cast<long long>(duplicated),
        static_cast<long long>(unacknowledged),
        static_cast<long long>(out_of_order), static_cast<long long>(corrupt),
        static_cast<long long>(errors), static_cast<long long>(stuck));
    std::fflush(stdout);
  }
};

// One round on `q` (a Queue or a JoinableQueue of `kind`) until `until`.
template <typename Q>
Counts RunRound(Q& q, const Kind& kind, const SharedMemory& shm,
                absl::Time until, std::mt19937& rng) {
  Log* log = LogOf(shm);
  constexpr bool kJoinable = std::is_same_v<Q, JoinableQueue<std::string>>;
  Counts c;
  {
    Crew crew(log->slots, kSlots, [&](int slot) {
      if (slot < kProducers) {
        const int id = log->next_id.fetch_add(1);
        if constexpr (kJoinable) {
          return Process(JoinableProducer, q, shm, slot, id, kind.big);
        } else {
          return Process(QueueProducer, q, shm, slot, id, kind.big);
        }
      }
      if constexpr (kJoinable) {
        return Process(JoinableConsumer, q, shm, slot, kind.big);
      } else {
        return Process(QueueConsumer, q, shm, slot, kind.big);
      }
    });
    // Progress: items queued that no consumer takes for kStuck, or room
    // that no producer fills for as long, is a stuck queue.
    int64_t last_delivered = -1, last_acked = -1;
    absl::Time delivered_at = absl::Now(), acked_at = absl::Now();
    auto watch = [&](bool producing) {
      c.stuck += crew.CountStuckCalls();
      const absl::Time now = absl::Now();
      const int64_t d = log->delivered.load();
      if (d != last_delivered || q.Empty()) {
        last_delivered = d;
        delivered_at = now;
      } else if (now - delivered_at > kStuck) {
        std::fprintf(stderr, "soak: %lld items queued, none taken for %s\n",
                     static_cast<long long>(q.Qsize()),
                     absl::FormatDuration(kStuck).c_str());
        ++c.stuck;
        delivered_at = now;
      }
      int64_t a = 0;
      const int n = std::min(log->next_id.load(), kMaxProducers);
      for (int i = 0; i < n; ++i) a += log->acked[i].load();
      if (!producing || a != last_acked || q.Full()) {
        last_acked = a;
        acked_at = now;
      } else if (now - acked_at > kStuck) {
        std::fprintf(stderr, "soak: no Put returned for %s\n",
                     absl::FormatDuration(kStuck).c_str());
        ++c.stuck;
        acked_at = now;
      }
    };
    bool ok = crew.StartAll();
    while (ok && absl::Now() < until &&
           log->next_id.load() < kMaxProducers - kProducers) {
      // A random moment: the workers run on meanwhile.
      absl::SleepFor(absl::Microseconds(rng() % 3000));
      std::optional<Crew::Victim> victim = crew.Kill(rng() % kSlots);
      ok = victim.has_value() && crew.RestartFinished() >= 0;
      if (!ok) break;
      ++c.kills;
      if (victim->slot >= kProducers) {
        ++c.consumer_kills;
        if (victim->holding) ++c.may_be_taken;
      }
      watch(/*producing=*/true);
    }
    if (!ok) ++c.errors;
    // The producers stop; the consumers drain the queue, then stop.
    log->stop_producers.store(1);
    std::vector<int> producers, consumers;
    for (int i = 0; i < kSlots; ++i) {
      (i < kProducers ? producers : consumers).push_back(i);
    }
    c.stuck += crew.JoinAll(producers);
    const int64_t stuck_before = c.stuck;
    while (!q.Empty() && c.stuck == stuck_before) {
      absl::SleepFor(absl::Milliseconds(10));
      watch(/*producing=*/false);
    }
    log->stop_consumers.store(1);
    c.stuck += crew.JoinAll(consumers);
    c.errors += crew.failures();
  }
  // What is left, if the consumers were stuck.
  for (;;) {
    absl::StatusOr<std::string> item = q.GetNowait();
    if (!item.ok()) break;
    int32_t id = -1, seq = -1;
    std::memcpy(&id, item->data(), sizeof id);
    std::memcpy(&seq, item->data() + 4, sizeof seq);
    if (id >= 0 && id < kMaxProducers && seq >= 0 && seq < kPerProducer) {
      log->seen[id][seq].fetch_add(1);
    }
  }

  c.delivered = log->delivered.load();
  c.out_of_order = log->out_of_order.load();
  c.corrupt = log->corrupt.load();
  c.errors += log->errors.load();
  const int n = std::min(log->next_id.load(), kMaxProducers);
  for (int id = 0; id < n; ++id) {
    const int acked = log->acked[id].load();
    c.acknowledged += acked;
    for (int seq = 0; seq < kPerProducer; ++seq) {
      const int seen = log->seen[id][seq].load();
      if (seen > 1) c.duplicated += seen - 1;
      if (seq < acked && seen == 0) ++c.missing;
      // The one a killed producer had committed may arrive unacknowledged.
      if (seq > acked && seen > 0) ++c.unacknowledged;
    }
  }
  c.lost = std::max<int64_t>(0, c.missing - c.may_be_taken);
  return c;
}

}  // namespace

int SoakQueue(const Options& options) {
  const Kind kinds[] = {{false, 0, false}, {false, 64, true},
                        {true, 0, true},   {true, 64, false},
                        {false, 0, true},  {false, 64, false},
                        {true, 0, false},  {true, 64, true}};
  std::mt19937 rng(options.seed);
  const absl::Time end = absl::Now() + options.duration;
  Counts total;
  int rounds = 0;
  for (; absl::Now() < end; ++rounds) {
    const Kind& kind = kinds[rounds % 8];
    absl::StatusOr<SharedMemory> shm = SharedMemory::Create(sizeof(Log));
    if (!shm.ok()) {
      std::fprintf(stderr, "soak: %s\n",
                   std::string(shm.status().message()).c_str());
      return 1;
    }
    const absl::Time until = std::min(end, absl::Now() + kRound);
    Counts c;
    absl::Status made;
    if (kind.joinable) {
      absl::StatusOr<JoinableQueue<std::string>> q =
          JoinableQueue<std::string>::Create(kind.maxsize);
      made = q.status();
      if (q.ok()) c = RunRound(*q, kind, *shm, until, rng);
    } else {
      absl::StatusOr<Queue<std::string>> q =
          Queue<std::string>::Create(kind.maxsize);
      made = q.status();
      if (q.ok()) c = RunRound(*q, kind, *shm, until, rng);
    }
    if (!made.ok()) {
      std::fprintf(stderr, "soak: %s\n", std::string(made.message()).c_str());
      return 1;
    }
    const std::string prefix =
        absl::StrCat("queue round ", rounds + 1, ", ", kind.Name(), ": ");
    c.Print(prefix.c_str());
    total.Add(c);
  }
  total.Print(absl::StrCat("queue: ", rounds, " rounds, ").c_str());
  return total.Bad() ? 1 : 0;
}

}  // namespace soak
}  // namespace mp
