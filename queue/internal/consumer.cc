#include "queue/internal/consumer.h"

#include <atomic>
#include <cstdint>

#include "absl/base/dynamic_annotations.h"
#include "absl/base/optimization.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "base/deadline.h"
#include "base/status.h"
#include "queue/internal/crash_point.h"
#include "queue/internal/layout.h"
#include "queue/internal/segment.h"
#include "queue/internal/sleep_wake.h"
#include "queue/internal/spin.h"

namespace mp {
namespace queue_internal {
namespace {

// How many END records a consumer follows in one get: more than one in a
// row happens only after producers died between linking a segment and
// filling it.
constexpr int kMaxHops = 64;
// Items this big are copied out by one consumer at a time
// (Header::big_item_lock); smaller ones by whoever races for them.
constexpr uint64_t kLockedItem = 64 << 10;

uint64_t NextSerial() {
  static std::atomic<uint64_t> serial{0};
  return serial.fetch_add(1) + 1;
}

}  // namespace

Consumer::Consumer(Header* header, int64_t maxsize, SegmentAllocator* segments,
                   const SleepWake* wake)
    : h_(header),
      maxsize_(maxsize),
      segments_(segments),
      wake_(wake),
      serial_(NextSerial()) {}

bool Consumer::ItemsAvailable(uint64_t g) const {
  if (seen_puts_.load(std::memory_order_acquire) > g) return true;
  const uint64_t p = h_->puts.load(std::memory_order_acquire);
  seen_puts_.store(p, std::memory_order_release);
  return p > g;
}

bool Consumer::ReadPositionIs(uint64_t cpos, uint64_t gets) const {
  return h_->read.LoadSecond() == gets && h_->read.LoadFirst() == cpos;
}

absl::Status Consumer::FollowEnd(Segment& seg, uint64_t cpos, uint64_t gets) {
  const uint64_t next = seg.header()->next.load(std::memory_order_acquire);
  Segment to = seg;
  absl::Status s = segments_->MapSegment(next, &to);
  if (s.ok()) {
    // The next segment must start with the record we are after; checked
    // before moving, so a bad link changes nothing.
    const auto* first =
        reinterpret_cast<const RecordHeader*>(to.base + sizeof(SegmentHeader));
    if (first->stamp.load(std::memory_order_acquire) != gets) {
      s = CorruptError(absl::StrFormat(
          "segment %#x does not continue at item %d", next, gets));
    }
  }
  if (!s.ok()) return s;
  uint64_t c = cpos, g = gets;
  if (h_->read.CompareExchange(&c, &g, next + sizeof(SegmentHeader), gets)) {
    MP_QUEUE_CRASH_POINT(kFollowedEnd);
  }
  seg = to;
  return absl::OkStatus();
}

namespace {

// Each thread's consumer segment cache (consumers hold no lock, so the
// cache cannot live in the Consumer), for the Consumer with serial
// `owner`.
struct ConsumerCache {
  uint64_t owner = 0;
  Segment seg;
};
thread_local ConsumerCache consumer_cache;

// The record at `pos` in `seg` (which holds `pos`), as read once: a
// consumer checks these values, not the shared memory again.
struct RecordView {
  const char* bytes;  // the record header
  uint64_t stamp;
  uint64_t size_and_type;
  uint64_t type;
  uint64_t payload;
  uint64_t room;  // payload bytes that fit before the segment's end
};

inline RecordView ViewRecord(const Segment& seg, uint64_t pos) {
  const uint64_t offset = CursorOffset(pos);
  RecordView v;
  v.bytes = seg.base + (offset - seg.offset);
  const auto* r = reinterpret_cast<const RecordHeader*>(v.bytes);
  // A consumer whose view of the read position is stale reads what a
  // producer may be writing there meanwhile (a new record, or the payload of
  // one that now covers this header); the stamp check rejects it. A race by
  // design: ThreadSanitizer is told to ignore these reads.
  ABSL_ANNOTATE_IGNORE_READS_BEGIN();
  v.stamp = r->stamp.load(std::memory_order_acquire);
  v.size_and_type = __atomic_load_n(&r->size_and_type, __ATOMIC_RELAXED);
  ABSL_ANNOTATE_IGNORE_READS_END();
  v.type = RecordTypeOf(v.size_and_type);
  v.payload = PayloadOf(v.size_and_type);
  v.room = seg.end() - offset - sizeof(RecordHeader);
  return v;
}

}  // namespace

inline bool Consumer::TakeAndClaim(
    const char* record, uint64_t payload, uint64_t c, uint64_t g,
    absl::FunctionRef<absl::Status(absl::string_view)> take,
    absl::Status* taken) {
  // The copy is made on the chance of winning the item: another consumer
  // may claim it, and a producer reuse its space, while this one reads it,
  // and then the claim below fails and the copy is dropped. A race by
  // design: ThreadSanitizer is told to ignore the copy's reads.
  ABSL_ANNOTATE_IGNORE_READS_BEGIN();
  *taken = take(absl::string_view(record + sizeof(RecordHeader), payload));
  ABSL_ANNOTATE_IGNORE_READS_END();
  MP_QUEUE_CRASH_POINT(kTaken);
  uint64_t c0 = c, g0 = g;
  // The commit.
  if (!h_->read.CompareExchange(&c0, &g0, c + RecordSize(payload), g + 1)) {
    return false;
  }
  MP_QUEUE_CRASH_POINT(kClaimed);
  return true;
}

absl::Status Consumer::Get(
    Deadline deadline,
    absl::FunctionRef<absl::Status(absl::string_view)> take) {
  // The common case, without the general loop's state: an item is there, in
  // the segment this thread read from last, small enough to copy on the
  // chance of winning it. Anything else (no item yet, another segment, an
  // END record, a big item, a check that fails, a lost race) goes to
  // GetSlow(), which starts over.
  ConsumerCache& cache = consumer_cache;
  if (ABSL_PREDICT_TRUE(cache.owner == serial_)) {
    const uint64_t g = h_->read.LoadSecond();
    const uint64_t c = h_->read.LoadFirst();
    if (ItemsAvailable(g) && cache.seg.Holds(c)) {
      const RecordView r = ViewRecord(cache.seg, c);
      if (r.stamp == g && r.type == kItem && r.payload < kLockedItem &&
          r.payload <= r.room) {
        absl::Status taken;
        if (TakeAndClaim(r.bytes, r.payload, c, g, take, &taken)) {
          AfterGet();
          return taken;
        }
      }
    }
  }
  return GetSlow(deadline, take);
}

void Consumer::AfterGet() {
  // The word moves only for a producer that announced itself: it set
  // get_sleepers and then looks at `gets`, and this looks at get_sleepers
  // after the claim's compare-and-swap moved `gets`, so one of the two sees
  // the other. A get with no sleeper makes no second locked instruction.
  SeqCstFenceAfterAtomicRmw();
  if (maxsize_ > 0 && h_->get_sleepers.load() != 0) {
    h_->get_word.value().fetch_add(1);
    SleepWake::WakeSleepers(h_->get_word, h_->get_sleepers);
  }
}

absl::Status Consumer::GetSlow(
    Deadline deadline,
    absl::FunctionRef<absl::Status(absl::string_view)> take) {
  if (consumer_cache.owner != serial_) consumer_cache = {serial_, Segment()};
  Segment& seg = consumer_cache.seg;
  bool holds_big_lock = false;
  auto release_big_lock = [&] {
    if (holds_big_lock) h_->big_item_lock.Unlock().IgnoreError();
    holds_big_lock = false;
  };
  for (int hops = 0;;) {
    const uint64_t g = h_->read.LoadSecond();
    const uint64_t c = h_->read.LoadFirst();
    if (!ItemsAvailable(g)) {
      release_big_lock();
      if (deadline.Expired()) return EmptyError("Queue.Get: queue is empty");
      absl::Status s = wake_->WaitUntil(
          SleepWake::Side::kConsumer, deadline,
          [this] { return ItemsAvailable(h_->read.LoadSecond()); });
      if (!s.ok()) {
        if (IsTimeout(s)) return EmptyError("Queue.Get: queue is empty");
        return s;
      }
      continue;
    }
    // (c, g) may be a torn or stale snapshot if another consumer moved the
    // position meanwhile: a check that fails is an error only if the
    // position has not moved since; otherwise the snapshot is taken again.
    absl::Status bad = segments_->MapPosition(c, &seg);
    const char* p = nullptr;
    uint64_t payload = 0;
    if (bad.ok()) {
      const RecordView r = ViewRecord(seg, c);
      p = r.bytes;
      payload = r.payload;
      if (r.stamp != g) {
        bad = CorruptError(absl::StrFormat(
            "found record %d where item %d belongs", r.stamp, g));
      } else if (r.type == kEnd) {
        if (++hops > kMaxHops) {
          bad = CorruptError("too many empty segments in a row");
        } else {
          bad = FollowEnd(seg, c, g);
          if (bad.ok()) continue;
        }
      } else if (r.type != kItem || payload > r.room) {
        bad = CorruptError(
            absl::StrFormat("bad record header %#x", r.size_and_type));
      }
    }
    if (!bad.ok()) {
      if (!ReadPositionIs(c, g)) continue;
      release_big_lock();
      return bad;
    }
    if (payload >= kLockedItem && !holds_big_lock) {
      // One consumer at a time copies a big item; the others wait here
      // instead of copying it too. A holder that died leaves nothing to
      // repair: it took the item or it did not.
      absl::Status s = h_->big_item_lock.Lock(deadline);
      if (IsTimeout(s)) {
        return EmptyError("Queue.Get: queue is empty");
      }
      if (!s.ok() && !IsOwnerDied(s)) return s;
      holds_big_lock = true;
      continue;  // the position may have moved meanwhile
    }
    absl::Status taken;
    if (TakeAndClaim(p, payload, c, g, take, &taken)) {
      release_big_lock();
      AfterGet();
      return taken;
    }
    // Another consumer took it first: what `take` made is dropped.
  }
}

}  // namespace queue_internal
}  // namespace mp
