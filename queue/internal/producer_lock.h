// ProducerLock: what a producer holds while it appends, the producer lock
// or the producer bias (the protocol and its crash safety are in core.h).
// It knows nothing of segments: what a producer that died left behind is
// repaired by the caller's `repair`, which runs under the lock.
#ifndef MP_QUEUE_INTERNAL_PRODUCER_LOCK_H_
#define MP_QUEUE_INTERNAL_PRODUCER_LOCK_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "absl/base/optimization.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "base/deadline.h"
#include "base/status.h"
#include "queue/internal/layout.h"

namespace mp {
namespace queue_internal {

class ProducerLock {
 public:
  explicit ProducerLock(Header* header) : h_(header) {}

  // Takes the producer lock by `deadline` (calling `repair` after a holder
  // that died; mp::TimeoutError() if another producer holds it past the
  // deadline) and revokes the bias if another thread holds it; `me` is
  // ThreadToken().
  absl::Status Lock(uint64_t me, Deadline deadline,
                    absl::FunctionRef<absl::Status()> repair) {
    // Held by another producer, for the copy of one item: Lock() spins a
    // little before it sleeps.
    absl::Status s = h_->producer_lock.Lock(deadline);
    if (ABSL_PREDICT_FALSE(!s.ok())) {
      if (!IsOwnerDied(s)) return s;
      s = repair();
    }
    if (s.ok() &&
        ABSL_PREDICT_FALSE(h_->bias.load(std::memory_order_relaxed) != 0)) {
      s = Revoke(me, repair);
    }
    if (!s.ok()) {
      // Unrepaired, the next holder is told again.
      h_->producer_lock.Unlock(/*owner_died=*/true).IgnoreError();
      return s;
    }
    ReleaseStaleBias(me);
    return s;
  }
  void Unlock() {
    // Only fails for a thread that does not hold it, which cannot happen
    // here.
    h_->producer_lock.Unlock().IgnoreError();
  }

  // Whether `me` was given the bias (it may be being revoked).
  bool BiasedTo(uint64_t me) const {
    return h_->bias.load(std::memory_order_relaxed) == me;
  }
  // The bias holder `me` starts a put without the lock: true if the bias
  // still stands, and then LeaveBiased() ends the put.
  bool EnterBiased(uint64_t me) {
    h_->bias_busy.store(1, std::memory_order_relaxed);
    // Only the compiler is held back: a revoker's HeavyBarrier() orders this
    // store before the load below as a fence here would.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (h_->bias.load(std::memory_order_relaxed) != me) {
      h_->bias_busy.store(0, std::memory_order_release);
      return false;
    }
    return true;
  }
  void LeaveBiased() {
    // Publishes the put to a revoker, which goes on from where it left off.
    h_->bias_busy.store(0, std::memory_order_release);
  }

  // Under the lock: counts a put by `me` towards the bias, and gives it
  // when earned.
  void CountRun(uint64_t me) {
    if (h_->run_token != me) {
      h_->run_token = me;
      h_->run_length = 0;
    }
    if (++h_->run_length % BiasAfter() != 0) return;
    GiveBias(me);
  }

  // Gives up the bias (or bias_alive, held after a revocation) if this
  // thread has it, so that nothing of this process stays on the robust
  // list.
  void DropBias();

 private:
  // Under the lock.
  absl::Status Revoke(uint64_t me, absl::FunctionRef<absl::Status()> repair);
  void GiveBias(uint64_t me);
  // Header::bias_after, within [kBiasAfter, kMaxBiasAfter] whatever the
  // shared memory holds.
  uint32_t BiasAfter() const {
    return std::min(std::max(h_->bias_after, kBiasAfter), kMaxBiasAfter);
  }
  // Releases bias_alive if this thread holds it but no longer the bias.
  void ReleaseStaleBias(uint64_t me) {
    if (ABSL_PREDICT_FALSE(h_->bias_alive.HeldByMe()) &&
        h_->bias.load(std::memory_order_relaxed) != me) {
      h_->bias_alive.Unlock().IgnoreError();
    }
  }

  Header* const h_;
};

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_PRODUCER_LOCK_H_
