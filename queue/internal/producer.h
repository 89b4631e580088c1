// Producer: the producer side of a queue. A put appends one record to the
// chain under the producer lock or bias (ProducerLock), switching to a new
// segment (SegmentAllocator) when the current one is full, and commits it
// by storing `puts + 1`; Repair() completes or undoes what a producer that
// died left (the protocol is in core.h).
#ifndef MP_QUEUE_INTERNAL_PRODUCER_H_
#define MP_QUEUE_INTERNAL_PRODUCER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/deadline.h"
#include "queue/internal/layout.h"
#include "queue/internal/producer_lock.h"
#include "queue/internal/segment.h"
#include "queue/internal/sleep_wake.h"

namespace mp {
namespace queue_internal {

class Producer {
 public:
  // `segments` and `wake` must outlive this; `maxsize` as the Core's.
  Producer(Header* header, int64_t maxsize, SegmentAllocator* segments,
           const SleepWake* wake)
      : h_(header),
        maxsize_(maxsize),
        segments_(segments),
        wake_(wake),
        lock_(header) {}
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Core::Put.
  absl::Status Put(absl::Span<const absl::string_view> pieces,
                   Deadline deadline);

  // Takes the producer lock as a put does (repairing after a holder that
  // died, revoking the bias), for a caller that looks at the producer
  // side's state; `me` is ThreadToken().
  absl::Status Lock(uint64_t me, Deadline deadline);
  void Unlock() { lock_.Unlock(); }
  // ProducerLock::DropBias.
  void DropBias() { lock_.DropBias(); }

 private:
  // The bias holder's put of item *n, its outcome in *s if made.
  enum class BiasedPut { kMade, kFull, kRevoked };
  BiasedPut PutBiased(absl::Span<const absl::string_view> pieces, uint64_t size,
                      uint64_t me, uint64_t* n, absl::Status* s);
  // After a put that committed item `n`: wakes sleeping consumers, and
  // gives the CPU to a consumer yielding on it now and then.
  void AfterPut(uint64_t n);

  // Under the producer lock.
  absl::Status Repair();
  absl::Status Append(absl::Span<const absl::string_view> pieces, uint64_t size,
                      uint64_t n);
  absl::Status SwitchSegment(uint64_t record, uint64_t n, uint64_t* pos);

  bool RoomAvailable() const;
  // For the producer side's owner, `n` being puts: whether a bounded queue
  // is full (gets, read after `n`, cannot pass it).
  bool FullAt(uint64_t n) const {
    return maxsize_ > 0 &&
           n - h_->read.LoadSecond() >= static_cast<uint64_t>(maxsize_);
  }

  Header* const h_;
  const int64_t maxsize_;
  SegmentAllocator* const segments_;
  const SleepWake* const wake_;
  ProducerLock lock_;
  // The segment cache, used only under the producer lock or bias.
  Segment seg_;
};

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_PRODUCER_H_
