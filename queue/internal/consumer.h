// Consumer: the consumer side of a queue, lock-free. A get copies the
// record at the read position out and claims it with one 16-byte
// compare-and-swap of (cpos, gets); items of kLockedItem bytes and more are
// copied under big_item_lock (the protocol is in core.h).
#ifndef MP_QUEUE_INTERNAL_CONSUMER_H_
#define MP_QUEUE_INTERNAL_CONSUMER_H_

#include <atomic>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "base/deadline.h"
#include "queue/internal/layout.h"
#include "queue/internal/segment.h"
#include "queue/internal/sleep_wake.h"

namespace mp {
namespace queue_internal {

class Consumer {
 public:
  // `segments` and `wake` must outlive this; `maxsize` as the Core's.
  Consumer(Header* header, int64_t maxsize, SegmentAllocator* segments,
           const SleepWake* wake);
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Core::Get.
  absl::Status Get(Deadline deadline,
                   absl::FunctionRef<absl::Status(absl::string_view)> take);

 private:
  // Whether the read position still is (cpos, gets): a check that failed on
  // a moved position was a race, not corruption.
  bool ReadPositionIs(uint64_t cpos, uint64_t gets) const;
  // Get() past its fast path: waits, follows END records, takes big items
  // under big_item_lock, reports corruption.
  absl::Status GetSlow(Deadline deadline,
                       absl::FunctionRef<absl::Status(absl::string_view)> take);
  // Passes the item of `payload` bytes in the record at `record` (position
  // c, item g) to `take` and claims it; true, with what `take` returned in
  // *taken, if this consumer won it.
  bool TakeAndClaim(const char* record, uint64_t payload, uint64_t c,
                    uint64_t g,
                    absl::FunctionRef<absl::Status(absl::string_view)> take,
                    absl::Status* taken);
  // After a get: bumps get_word for producers of a bounded queue.
  void AfterGet();
  // Follows the END record at `cpos` to the next segment.
  absl::Status FollowEnd(Segment& seg, uint64_t cpos, uint64_t gets);
  // Whether puts > g (g: the items gotten, just read).
  bool ItemsAvailable(uint64_t g) const;

  Header* const h_;
  const int64_t maxsize_;
  SegmentAllocator* const segments_;
  const SleepWake* const wake_;
  // Tells this Consumer's per-thread segment cache from another's.
  const uint64_t serial_;
  // A lower bound of h_->puts that this process saw, so a consumer need not
  // read the producers' cache line on every get.
  mutable std::atomic<uint64_t> seen_puts_{0};
};

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_CONSUMER_H_
