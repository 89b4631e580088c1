#include "queue/internal/producer_lock.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/status.h"
#include "queue/internal/bias.h"
#include "queue/internal/crash_point.h"
#include "queue/internal/layout.h"
#include "queue/internal/spin.h"

namespace mp {
namespace queue_internal {

void ProducerLock::DropBias() {
  if (h_->bias_alive.HeldByMe()) {
    uint64_t me = ThreadToken();
    h_->bias.compare_exchange_strong(me, 0);
    h_->bias_alive.Unlock().IgnoreError();
  }
}

absl::Status ProducerLock::Revoke(uint64_t me,
                                  absl::FunctionRef<absl::Status()> repair) {
  const uint64_t holder = h_->bias.load();
  if (holder == 0) return absl::OkStatus();  // dropped by its holder's ~Core
  if (holder == me) {
    // This thread's own, and it is not inside a put: nothing to wait for.
    h_->bias.store(0);
    h_->bias_alive.Unlock().IgnoreError();
    return absl::OkStatus();
  }
  h_->bias.store(kRevoking);
  MP_QUEUE_CRASH_POINT(kRevoking);
  if (!HeavyBarrier()) {
    // Only where this process may not use membarrier while the holder's
    // could. A store leaves the holder's store buffer within nanoseconds,
    // or when its thread is switched out; this waits far longer.
    absl::SleepFor(absl::Milliseconds(10));
  }
  bool gone = false;
  for (int i = 0; h_->bias_busy.load(std::memory_order_acquire) != 0; ++i) {
    if (i < kSpinPauses) {
      CpuRelax();
      continue;
    }
    // Inside a put for this long: preempted, or dead.
    absl::Status s = h_->bias_alive.Lock(Deadline::Now());
    if (s.ok() || IsOwnerDied(s)) {
      MP_QUEUE_CRASH_POINT(kHolderFoundDead);
      h_->bias_alive.Unlock().IgnoreError();
      gone = true;
      break;
    }
    if (i < kSpinPauses + kSpinYields) {
      std::this_thread::yield();
    } else {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  h_->bias_busy.store(0);
  h_->bias_after = std::min(2 * BiasAfter(), kMaxBiasAfter);
  h_->run_length = 0;
  h_->bias.store(0);
  MP_QUEUE_CRASH_POINT(kRevoked);
  // The holder died inside a put: what it left is what a death under the
  // lock leaves.
  return gone ? repair() : absl::OkStatus();
}

void ProducerLock::GiveBias(uint64_t me) {
  if (h_->bias.load(std::memory_order_relaxed) != 0 || !PrepareBiasHolder()) {
    return;
  }
  absl::Status s = h_->bias_alive.Lock(Deadline::Now());
  // Held: by a former holder that has not put since its bias was revoked.
  if (!s.ok() && !IsOwnerDied(s)) return;
  if (!h_->bias_alive.HeldByMeProtected()) {
    // Its death would go unnoticed, and a revoker would wait for good.
    h_->bias_alive.Unlock().IgnoreError();
    return;
  }
  MP_QUEUE_CRASH_POINT(kBiasAliveTaken);
  h_->bias_busy.store(0, std::memory_order_relaxed);
  h_->bias.store(me, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kBiasGiven);
}

}  // namespace queue_internal
}  // namespace mp
