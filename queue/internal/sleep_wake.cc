#include "queue/internal/sleep_wake.h"

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/status.h"
#include "base/wait_word.h"
#include "queue/internal/bias.h"
#include "queue/internal/layout.h"
#include "queue/internal/spin.h"

namespace mp {
namespace queue_internal {

absl::Status SleepWake::WaitUntil(Side side, Deadline deadline,
                                  absl::FunctionRef<bool()> ready) const {
  const bool consumer = side == Side::kConsumer;
  WaitWord& word = consumer ? h_->put_word : h_->get_word;
  std::atomic<uint32_t>& sleepers =
      consumer ? h_->put_sleepers : h_->get_sleepers;
  for (int i = 0; i < kSpinPauses; i += kPausesPerCheck) {
    if (ready()) return absl::OkStatus();
    for (int j = 0; j < kPausesPerCheck; ++j) CpuRelax();
  }
  if (YieldUntil(consumer ? &h_->yielding_consumer_cpu : nullptr, ready)) {
    return absl::OkStatus();
  }
  for (;;) {
    // Read the word, announce, then look once more: a change after the
    // read makes Wait return at once, and a waker that changes it after
    // the announcement sees the flag (both sequentially consistent).
    const uint32_t seen = word.value().load();
    sleepers.store(1);
    Deadline slice = Slice(deadline);
    // A bias holder's commit is followed by no locked instruction: the
    // barrier does what its fence would (see core.h). Where it fails, the
    // sleeper looks again every millisecond instead.
    if (consumer && h_->bias.load() != 0 && !HeavyBarrier()) {
      slice = Earlier(deadline, Deadline::After(absl::Milliseconds(1)));
    }
    if (ready()) return absl::OkStatus();
    absl::Status s = word.Wait(seen, slice);
    if (ready()) return absl::OkStatus();
    if (!s.ok() && (!IsTimeout(s) || deadline.Expired())) return s;
  }
}

bool SleepWake::YieldUntil(std::atomic<uint32_t>* yielding_cpu,
                           absl::FunctionRef<bool()> ready) {
  uint32_t shown = 0;
  bool done = ready();
  for (int i = 0; i < kSpinYields && !done; ++i) {
    if (yielding_cpu != nullptr) {
      // Where this thread runs now: a yield may move it.
      const uint32_t cpu = static_cast<uint32_t>(CurrentCpu() + 1);
      if (cpu != shown) {
        yielding_cpu->store(cpu, std::memory_order_relaxed);
        shown = cpu;
      }
    }
    std::this_thread::yield();
    done = ready();
  }
  if (shown != 0) yielding_cpu->store(0, std::memory_order_relaxed);
  return done;
}

Deadline SleepWake::Slice(Deadline deadline) const {
  return Earlier(deadline, Deadline::After(recheck_));
}

}  // namespace queue_internal
}  // namespace mp
