#include "queue/internal/producer.h"

#include <atomic>
#include <cstdint>
#include <cstring>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/deadline.h"
#include "base/status.h"
#include "queue/internal/bias.h"
#include "queue/internal/crash_point.h"
#include "queue/internal/layout.h"
#include "queue/internal/segment.h"
#include "queue/internal/sleep_wake.h"
#include "queue/internal/spin.h"
#include "queue/internal/stream_copy.h"

namespace mp {
namespace queue_internal {
namespace {

// The largest item: the largest segment minus its header, the record
// header and room for an END record.
constexpr uint64_t kMaxItem = SegmentSize(kNumClasses - 1) -
                              sizeof(SegmentHeader) - 2 * sizeof(RecordHeader) -
                              8;

// The smallest class whose segment holds `need` bytes, or kNumClasses.
int ClassFor(uint64_t need) {
  int c = 0;
  while (c < kNumClasses && SegmentSize(c) < need) ++c;
  return c;
}

}  // namespace

absl::Status Producer::Lock(uint64_t me, Deadline deadline) {
  MP_RETURN_IF_ERROR(lock_.Lock(me, deadline, [this] { return Repair(); }));
  MP_QUEUE_CRASH_POINT(kPutLocked);
  return absl::OkStatus();
}

absl::Status Producer::Repair() {
  const uint64_t n = h_->puts.load();
  h_->put_word.value().store(static_cast<uint32_t>(n));

  // Killed between pushing chain_start on its free list and moving
  // chain_start past it.
  const uint64_t start = h_->chain_start.load();
  if (ValidSegmentCursor(start) && segments_->OnFreeList(start)) {
    Segment seg;
    MP_RETURN_IF_ERROR(segments_->MapSegment(start, &seg));
    h_->chain_start.store(seg.header()->next.load());
  }

  // Killed while taking a segment and linking it after the current one.
  const uint64_t pending = h_->pending.load();
  if (pending != 0) {
    if (!ValidSegmentCursor(pending)) {
      return CorruptError(absl::StrFormat("bad pending segment %#x", pending));
    }
    const uint64_t pos = h_->ppos.load();
    MP_RETURN_IF_ERROR(segments_->MapPosition(pos, &seg_));
    if (SegmentOf(pos) != pending) {
      SegmentHeader* cur = seg_.header();
      const bool linked = cur->next.load() == pending;
      RecordHeader* r = seg_.RecordAt(pos);
      if (linked && r->stamp.load() == n &&
          RecordTypeOf(r->size_and_type) == kEnd) {
        // The END record is complete: finish the move.
        h_->ppos.store(pending + sizeof(SegmentHeader));
      } else {
        if (linked) cur->next.store(0);
        const int c = CursorClass(pending);
        const bool allocated =
            h_->top.load() >= CursorOffset(pending) + SegmentSize(c);
        if (allocated && !segments_->OnFreeList(pending)) {
          Segment seg;
          MP_RETURN_IF_ERROR(segments_->MapSegment(pending, &seg));
          segments_->PushFree(seg);
        }
      }
    }
    h_->pending.store(0);
  }

  // Killed between committing an item and moving ppos past it.
  const uint64_t pos = h_->ppos.load();
  MP_RETURN_IF_ERROR(segments_->MapPosition(pos, &seg_));
  const uint64_t offset = CursorOffset(pos);
  RecordHeader* r = seg_.RecordAt(pos);
  const uint64_t st = r->size_and_type;
  if (n > 0 && r->stamp.load() == n - 1 && RecordTypeOf(st) == kItem) {
    const uint64_t payload = PayloadOf(st);
    if (payload > seg_.end() - offset - 2 * sizeof(RecordHeader)) {
      return CorruptError("record overruns its segment");
    }
    h_->ppos.store(pos + RecordSize(payload));
  }
  return absl::OkStatus();
}

absl::Status Producer::SwitchSegment(uint64_t record, uint64_t n,
                                     uint64_t* pos) {
  const uint64_t need = sizeof(SegmentHeader) + record + sizeof(RecordHeader);
  const int c = ClassFor(need);
  MP_RETURN_IF_ERROR(segments_->Reclaim());
  Segment seg;
  MP_RETURN_IF_ERROR(segments_->Allocate(c, need, &seg));
  // Link, then the END record that sends consumers on, then move.
  seg_.header()->next.store(seg.cursor, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kLinked);
  RecordHeader* end = seg_.RecordAt(*pos);
  end->size_and_type = uint64_t{kEnd} << 56;
  end->stamp.store(n, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kEndWritten);
  *pos = seg.cursor + sizeof(SegmentHeader);
  h_->ppos.store(*pos, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kMoved);
  h_->pending.store(0, std::memory_order_release);
  seg_ = seg;
  return absl::OkStatus();
}

absl::Status Producer::Append(absl::Span<const absl::string_view> pieces,
                              uint64_t size, uint64_t n) {
  uint64_t pos = h_->ppos.load(std::memory_order_relaxed);
  MP_RETURN_IF_ERROR(segments_->MapPosition(pos, &seg_));
  const uint64_t record = RecordSize(size);
  // Keep room for the END record that may follow.
  if (record + sizeof(RecordHeader) > seg_.end() - CursorOffset(pos)) {
    MP_RETURN_IF_ERROR(SwitchSegment(record, n, &pos));
  }
  const uint64_t offset = CursorOffset(pos);
  MP_RETURN_IF_ERROR(
      segments_->EnsureBacked(seg_, offset + record + sizeof(RecordHeader)));
  char* p = seg_.base + (offset - seg_.offset);
  auto* r = reinterpret_cast<RecordHeader*>(p);
  char* to = p + sizeof(RecordHeader);
  if (size >= kStreamedItem) {
    for (absl::string_view piece : pieces) {
      if (!piece.empty()) StreamCopy(to, piece.data(), piece.size());
      to += piece.size();
    }
    // Before the stamp and the commit make the bytes a consumer's to read.
    StreamFence();
  } else {
    for (absl::string_view piece : pieces) {
      if (!piece.empty()) std::memcpy(to, piece.data(), piece.size());
      to += piece.size();
    }
  }
  r->size_and_type = (uint64_t{kItem} << 56) | size;
  MP_QUEUE_CRASH_POINT(kPayloadCopied);
  r->stamp.store(n, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kStamped);
  // The commit.
  h_->puts.store(n + 1, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kCommitted);
  // Release only: what orders it before the look at put_sleepers is the
  // producer lock's release (Put). A sequentially consistent store here
  // would stall until the lines of the record and of `puts`, which
  // consumers are reading, were this CPU's again.
  h_->put_word.value().store(static_cast<uint32_t>(n + 1),
                             std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kWordUpdated);
  h_->ppos.store(pos + record, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kPutDone);
  return absl::OkStatus();
}

bool Producer::RoomAvailable() const {
  const uint64_t g = h_->read.LoadSecond();
  const uint64_t p = h_->puts.load(std::memory_order_acquire);
  return p - g < static_cast<uint64_t>(maxsize_);
}

absl::Status Producer::Put(absl::Span<const absl::string_view> pieces,
                           Deadline deadline) {
  uint64_t size = 0;
  for (absl::string_view piece : pieces) size += piece.size();
  if (size > kMaxItem) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Queue.Put: an item of %d bytes is too large (at most %d)", size,
        kMaxItem));
  }
  const uint64_t me = ThreadToken();
  // A put that may not wait for room still waits for another producer's
  // copy to finish (as Python's put_nowait waits for its queue's lock).
  const Deadline lock_deadline =
      deadline.Expired() ? Deadline::Never() : deadline;
  for (;;) {
    if (maxsize_ > 0 && !RoomAvailable()) {
      absl::Status s = wake_->WaitUntil(SleepWake::Side::kProducer, deadline,
                                        [this] { return RoomAvailable(); });
      if (!s.ok()) {
        if (IsTimeout(s)) return FullError("Queue.Put: queue is full");
        return s;
      }
    }
    uint64_t n;
    if (lock_.BiasedTo(me)) {
      absl::Status s;
      switch (PutBiased(pieces, size, me, &n, &s)) {
        case BiasedPut::kMade:
          if (!s.ok()) return s;
          // No fence before the look at put_sleepers: a consumer runs a
          // HeavyBarrier() after announcing itself while a bias is held.
          AfterPut(n);
          return absl::OkStatus();
        case BiasedPut::kFull:
          if (deadline.Expired()) return FullError("Queue.Put: queue is full");
          continue;
        case BiasedPut::kRevoked:
          break;
      }
    }
    if (absl::Status s = Lock(me, lock_deadline); !s.ok()) {
      if (IsTimeout(s)) {
        return FullError(
            "Queue.Put: timed out while another producer held the queue");
      }
      return s;
    }
    n = h_->puts.load(std::memory_order_relaxed);
    if (FullAt(n)) {
      // Another producer took the room.
      lock_.Unlock();
      if (deadline.Expired()) return FullError("Queue.Put: queue is full");
      continue;
    }
    absl::Status s = Append(pieces, size, n);
    if (s.ok()) lock_.CountRun(me);
    lock_.Unlock();
    if (!s.ok()) return s;
    // Orders the commit (puts, put_word) before the load of put_sleepers: a
    // consumer announces itself and then looks at puts, so one of the two
    // sees the other (WaitUntil). The unlock is a read-modify-write of the
    // lock word on every path (RobustMutex).
    SeqCstFenceAfterAtomicRmw();
    AfterPut(n);
    return absl::OkStatus();
  }
}

Producer::BiasedPut Producer::PutBiased(
    absl::Span<const absl::string_view> pieces, uint64_t size, uint64_t me,
    uint64_t* n, absl::Status* s) {
  if (!lock_.EnterBiased(me)) return BiasedPut::kRevoked;
  MP_QUEUE_CRASH_POINT(kPutLocked);
  *n = h_->puts.load(std::memory_order_relaxed);
  if (FullAt(*n)) {
    lock_.LeaveBiased();
    return BiasedPut::kFull;
  }
  *s = Append(pieces, size, *n);
  lock_.LeaveBiased();
  return BiasedPut::kMade;
}

void Producer::AfterPut(uint64_t n) {
  SleepWake::WakeSleepers(h_->put_word, h_->put_sleepers);
  if (ABSL_PREDICT_FALSE((n + 1) % kHandOffItems == 0)) {
    wake_->HandOffIfSharingCpu();
  }
}

}  // namespace queue_internal
}  // namespace mp
