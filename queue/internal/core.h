// Core: the byte-level queue that Queue<T>, SimpleQueue<T> and
// JoinableQueue<T> wrap (queue/queue.h). The layout is in layout.h; this
// file is the protocol.
//
// Producers take the producer lock (a robust mutex), append one record to
// the chain and commit it by storing `puts + 1`. Consumers take no lock: a
// consumer reads the read position (cpos, gets), copies the record there
// out, and claims it by moving the position to (next record, gets + 1) with
// one 16-byte compare-and-swap; if another consumer moved it first, the
// copy is dropped and it tries again. (Items of 64 KiB and more are copied
// by one consumer at a time, under big_item_lock, so that waiting consumers
// do not all copy them.) Records stay untouched until every consumer has
// left their segment, so a copy made from a stale position is merely
// wasted, and the CAS refuses it.
//
// The producer bias (Linux; bias.h). Taking and releasing the producer lock
// costs two locked instructions per put, more than half of what a put
// costs, and most queues have one producer at a time. A thread that makes
// bias_after puts in a row with no other producer in between (kBiasAfter at
// first) is given the bias: it holds bias_alive, a robust mutex, and its
// token is in `bias`. From then on it puts without the lock: it sets
// bias_busy, checks that `bias` still names it, appends and commits as
// under the lock, and clears bias_busy, all plain stores and loads. Any
// other producer (or anyone taking the producer lock) first revokes the
// bias, under the lock: it stores kRevoking in `bias`, runs a HeavyBarrier
// (so that the holder either sees kRevoking before it starts a put, or its
// bias_busy is seen), and waits until bias_busy is clear, or until
// bias_alive tells it the holder died (then it repairs, as after a death
// under the lock). Each revocation doubles bias_after, so producers that
// take turns soon stop passing the bias around. A holder whose bias was
// revoked releases bias_alive on its next put; until then no other thread
// can be given the bias. A consumer about to sleep runs a HeavyBarrier
// after announcing itself while a bias is held: the holder's commit is not
// followed by a locked instruction, and the barrier stands in for it.
//
// Waiting happens outside the locks: a consumer that finds no item spins
// briefly, yields, then sleeps on put_word (a WaitWord holding the low 32
// bits of `puts`); a producer of a full bounded queue does the same on
// get_word. The sleeper reads the word, announces itself (put_sleepers /
// get_sleepers), re-checks its condition, and sleeps only while the word
// still holds what it read. A producer stores the new `puts` in put_word on
// every put; a consumer moves get_word only when it sees a sleeper
// announced, after its claim. Either way the waker looks at the
// announcement after a full barrier that follows its change, so the
// sleeper's re-check or the waker sees the other, and no wake-up is lost.
// Sleepers also re-check every 100 ms, which bounds how long a wake-up lost
// with a killed waker can delay them.
//
// Crash safety. A process killed at any instruction of a Put or Get:
//   - A get is one CAS: a consumer that dies before it has taken nothing,
//     one that dies after took the item with it. Nothing to repair.
//   - A put is committed by one store (`puts`). Everything before it (the
//     record, a new segment, the END record that links it) is invisible to
//     consumers and is completed or undone by Producer::Repair when the next
//     producer takes the lock and is told its owner died: the segment being
//     linked is recorded in `pending` first, so it is linked or returned to
//     its free list, never lost; a stale `ppos` (killed between the commit
//     and moving `ppos`) is recognised by the record's stamp and moved past;
//     an interrupted reclaim (push on a free list, then move `chain_start`)
//     is finished.
//
// Crash safety of the bias. The holder's death is noticed through
// bias_alive, a robust mutex it holds for as long as it holds the bias (it
// is given the bias only if that hold is protected, so that its death is
// reported); a revoker works under the producer lock, so its death is
// noticed as any producer's. Every point where one of them can die, and
// what the next producer does (each has its test in queue_crash_test.cc):
//   - The holder between puts (bias_busy clear): the revoker finds it in no
//     put and clears the bias; nothing to repair. The next producer given
//     the bias takes bias_alive from the dead holder (OwnerDied is fine
//     there). BiasCrashTest.HolderKilledBetweenPuts.
//   - The holder inside a put (bias_busy set), at any step of it: the
//     revoker waits for bias_busy, finds bias_alive's holder dead, and
//     repairs as after a death under the lock. ProducerCrashTest.*Biased.
//   - The holder while it is given the bias, under the lock, its put
//     committed, holding bias_alive with the bias stored or not yet: the
//     next producer is told the lock's holder died, repairs, and revokes
//     the bias if it was stored, as above. BiasGrantCrashTest.
//   - A revoker after storing kRevoking, or while it waits for bias_busy:
//     the next producer is told the lock's holder died and revokes again
//     from the start. BiasCrashTest.RevokerKilledWhileRevoking.
//   - A revoker holding bias_alive, having found the holder dead: the next
//     revoker finds bias_busy still set and bias_alive's holder (now the
//     revoker) dead, and repairs. RevokerCrashTest/HolderFoundDead.
//   - A revoker after clearing the bias, before repairing what the dead
//     holder left: the next producer is told the lock's holder died and
//     repairs. RevokerCrashTest/Revoked.
// Each relies on the robust mutex reporting every holder's death, that of
// a holder that took the mutex from a dead one while it was still exiting
// included (lock/internal/robust_mutex.h; KilledInTurnTest).
//
// What a crash can leave behind: nothing outside the arena (it is
// anonymous; the kernel frees it with the last process that has it), and
// inside it nothing the next producer does not repair. Reclaimed segments
// keep their memory up to kWarmBytesPerClass per size class; beyond that
// it is given back to the system (Linux).
#ifndef MP_QUEUE_INTERNAL_CORE_H_
#define MP_QUEUE_INTERNAL_CORE_H_

#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/deadline.h"
#include "base/handle.h"
#include "queue/internal/arena.h"
#include "queue/internal/consumer.h"
#include "queue/internal/layout.h"
#include "queue/internal/producer.h"
#include "queue/internal/segment.h"
#include "queue/internal/sleep_wake.h"

namespace mp {
namespace queue_internal {

struct QueueTestPeer;

// The queue: a SegmentAllocator that both sides map segments with, a
// Producer, a Consumer, and the SleepWake they wait and wake with, over one
// arena's Header.
class Core {
 public:
  // A new queue. `maxsize` <= 0 means unbounded.
  static absl::StatusOr<std::shared_ptr<Core>> Create(Kind kind,
                                                      int64_t maxsize,
                                                      uint64_t type_hash);
  // The queue behind `arena`, created by another process. Checks that it is
  // a queue of this kind and item type.
  static absl::StatusOr<std::shared_ptr<Core>> Open(OwnedHandle arena,
                                                    Kind kind,
                                                    uint64_t type_hash);

  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;
  ~Core();

  // Appends `bytes` as one item. A bounded queue that is full blocks until
  // there is room or `deadline`, then returns mp::FullError().
  absl::Status Put(absl::string_view bytes, Deadline deadline) {
    return Put(absl::MakeConstSpan(&bytes, 1), deadline);
  }
  // The same, for an item whose bytes are the concatenation of `pieces`
  // (copied straight into the queue, without joining them first).
  absl::Status Put(absl::Span<const absl::string_view> pieces,
                   Deadline deadline) {
    return producer_.Put(pieces, deadline);
  }

  // Removes the oldest item and passes its bytes to `take` (the view is
  // valid only during the call), returning what `take` returns; the item is
  // removed either way. Blocks until an item is there or `deadline`, then
  // returns mp::EmptyError().
  absl::Status Get(Deadline deadline,
                   absl::FunctionRef<absl::Status(absl::string_view)> take) {
    return consumer_.Get(deadline, take);
  }

  uint64_t Qsize() const;
  bool Empty() const { return Qsize() == 0; }
  bool Full() const;
  int64_t maxsize() const { return maxsize_; }

  // JoinableQueue.
  absl::Status TaskDone();
  absl::Status Join(Deadline deadline);

  NativeHandle handle() const { return arena_->handle(); }

  // Takes the producer lock (repairing as usual) and checks the whole
  // structure (CheckConsistencyLocked). For tests: it reads every segment
  // header.
  absl::Status CheckConsistency();

 private:
  friend struct QueueTestPeer;

  Core(std::unique_ptr<Arena> arena, Header* header);

  std::unique_ptr<Arena> arena_;
  Header* const h_;
  const int64_t maxsize_;
  SegmentAllocator segments_;
  SleepWake wake_;
  Producer producer_;
  Consumer consumer_;
};

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_CORE_H_
