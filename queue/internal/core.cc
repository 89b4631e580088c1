#include "queue/internal/core.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <utility>

#include "absl/base/dynamic_annotations.h"
#include "absl/base/optimization.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "base/deadline.h"
#include "base/status.h"
#include "queue/internal/arena.h"
#include "queue/internal/bias.h"
#include "queue/internal/crash_point.h"
#include "queue/internal/layout.h"
#include "queue/internal/spin.h"
#include "queue/internal/stream_copy.h"

namespace mp {
namespace queue_internal {
namespace {

// Bytes at the start of a released segment that stay backed (its header).
constexpr uint64_t kKeptOnRelease = 4096;
// How many END records a consumer follows in one get: more than one in a
// row happens only after producers died between linking a segment and
// filling it.
constexpr int kMaxHops = 64;
// Items this big are copied out by one consumer at a time
// (Header::big_item_lock); smaller ones by whoever races for them.
constexpr uint64_t kLockedItem = 64 << 10;
// Segments reclaimed per allocation at most (a corrupt chain must not spin
// forever).
constexpr int kMaxReclaim = 4096;

// The largest item: the largest segment minus its header, the record
// header and room for an END record.
constexpr uint64_t kMaxItem = SegmentSize(kNumClasses - 1) -
                              sizeof(SegmentHeader) - 2 * sizeof(RecordHeader) -
                              8;

bool ValidSegmentCursor(uint64_t cursor) {
  const uint64_t stray = ~(kOffsetMask | (uint64_t{63} << kClassShift));
  if ((cursor & stray) != 0) return false;
  const int c = CursorClass(cursor);
  if (!ValidClass(c)) return false;
  const uint64_t offset = CursorOffset(cursor);
  const uint64_t size = SegmentSize(c);
  return offset >= kFirstSegment && (offset & (size - 1)) == 0 &&
         offset <= Arena::kMaxSize - size;
}

uint64_t RoundUp(uint64_t x, uint64_t to) { return (x + to - 1) & ~(to - 1); }

// The smallest class whose segment holds `need` bytes, or kNumClasses.
int ClassFor(uint64_t need) {
  int c = 0;
  while (c < kNumClasses && SegmentSize(c) < need) ++c;
  return c;
}

uint64_t RecordTypeOf(uint64_t size_and_type) { return size_and_type >> 56; }
uint64_t PayloadOf(uint64_t size_and_type) {
  return size_and_type & kMaxPayload;
}

uint64_t NextSerial() {
  static std::atomic<uint64_t> serial{0};
  return serial.fetch_add(1) + 1;
}

absl::Status FromArena(absl::Status s) {
  if (s.code() == absl::StatusCode::kDataLoss) {
    return CorruptError(s.message());
  }
  return s;
}

}  // namespace

absl::Status CorruptError(absl::string_view what) {
  return DecodeError(absl::StrCat("queue: shared state is corrupt: ", what));
}

Core::Core(std::unique_ptr<Arena> arena, Header* header)
    : arena_(std::move(arena)),
      h_(header),
      maxsize_(header->maxsize),
      serial_(NextSerial()) {}

Core::~Core() {
  if (h_->bias_alive.HeldByMe()) {
    // This thread's bias (or one revoked but not yet given up): dropped, so
    // that nothing of this process stays on the robust list.
    uint64_t me = ThreadToken();
    h_->bias.compare_exchange_strong(me, 0);
    h_->bias_alive.Unlock().IgnoreError();
  }
  if (h_->producer_lock.PinnedInThisProcess() ||
      h_->big_item_lock.PinnedInThisProcess() ||
      h_->bias_alive.PinnedInThisProcess()) {
    // A thread of this process still has a lock on its robust list (it
    // died holding it, or let another thread release it): the kernel reads
    // the list when that thread ends, so the memory must stay mapped.
    arena_.release();
    return;
  }
  h_->producer_lock.ForgetInThisProcess();
  h_->big_item_lock.ForgetInThisProcess();
  h_->bias_alive.ForgetInThisProcess();
  h_->put_word.ForgetInThisProcess();
  h_->get_word.ForgetInThisProcess();
  h_->done_word.ForgetInThisProcess();
}

absl::StatusOr<std::shared_ptr<Core>> Core::Create(Kind kind, int64_t maxsize,
                                                   uint64_t type_hash) {
  absl::StatusOr<std::unique_ptr<Arena>> arena = Arena::Create(kInitialSize);
  if (!arena.ok()) return arena.status();
  absl::StatusOr<char*> head = (*arena)->Map(0, sizeof(Header));
  if (!head.ok()) return head.status();
  absl::StatusOr<char*> first = (*arena)->Map(kFirstSegment, kMinSegment);
  if (!first.ok()) return first.status();

  Header* h = new (*head) Header;
  h->version = kLayoutVersion;
  h->kind = kind;
  h->maxsize = maxsize > 0 ? maxsize : 0;
  h->type_hash = type_hash;
  h->bias_after = kBiasAfter;
  auto* seg = new (*first) SegmentHeader;
  seg->magic = kSegmentMagic;
  seg->self = MakeCursor(0, kFirstSegment);
  seg->next.store(0);
  seg->next_free = 0;
  seg->backed = kMinSegment;
  h->ppos.store(seg->self + sizeof(SegmentHeader));
  h->read.first = seg->self + sizeof(SegmentHeader);
  h->read.second = 0;
  h->chain_start.store(seg->self);
  h->top.store(kInitialSize);
  h->magic = kHeaderMagic;
  return std::shared_ptr<Core>(new Core(*std::move(arena), h));
}

absl::StatusOr<std::shared_ptr<Core>> Core::Open(OwnedHandle handle, Kind kind,
                                                 uint64_t type_hash) {
  absl::StatusOr<std::unique_ptr<Arena>> arena = Arena::Open(std::move(handle));
  if (!arena.ok()) return arena.status();
  absl::StatusOr<char*> head = (*arena)->Map(0, sizeof(Header));
  if (!head.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Queue: the handle is not a queue (", head.status().message(), ")"));
  }
  Header* h = reinterpret_cast<Header*>(*head);
  if (h->magic != kHeaderMagic || h->version != kLayoutVersion) {
    return absl::InvalidArgumentError("Queue: the handle is not a queue");
  }
  if (h->kind != kind) {
    return absl::InvalidArgumentError(
        "Queue: the handle is a different kind of queue (Queue, SimpleQueue "
        "and JoinableQueue do not mix)");
  }
  if (h->type_hash != type_hash) {
    return absl::InvalidArgumentError(
        "Queue: the handle is a queue of another item type");
  }
  if (h->maxsize < 0) return CorruptError("negative maxsize");
  return std::shared_ptr<Core>(new Core(*std::move(arena), h));
}

// ---------------------------------------------------------------------------
// Mapping and checking.

absl::Status Core::MapSegment(uint64_t cursor, Segment* seg) {
  if (seg->cursor == cursor && seg->base != nullptr) return absl::OkStatus();
  if (!ValidSegmentCursor(cursor)) {
    return CorruptError(absl::StrFormat("bad segment cursor %#x", cursor));
  }
  const uint64_t offset = CursorOffset(cursor);
  const uint64_t size = SegmentSize(CursorClass(cursor));
  absl::StatusOr<char*> base = arena_->Map(offset, size);
  if (!base.ok()) return FromArena(base.status());
  const auto* header = reinterpret_cast<const SegmentHeader*>(*base);
  if (header->magic != kSegmentMagic || header->self != cursor) {
    return CorruptError(absl::StrFormat("no segment at %#x", cursor));
  }
  seg->cursor = cursor;
  seg->offset = offset;
  seg->size = size;
  seg->base = *base;
  return absl::OkStatus();
}

absl::Status Core::MapPositionSlow(uint64_t cursor, Segment* cache) {
  if (!ValidClass(CursorClass(cursor))) {
    return CorruptError(absl::StrFormat("bad position %#x", cursor));
  }
  MP_RETURN_IF_ERROR(MapSegment(SegmentOf(cursor), cache));
  if (!cache->Holds(cursor)) {
    return CorruptError(absl::StrFormat("bad position %#x", cursor));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Locks and repair.

absl::Status Core::LockProducer(uint64_t me, Deadline deadline) {
  // Held by another producer, for the copy of one item: Lock() spins a
  // little before it sleeps.
  absl::Status s = h_->producer_lock.Lock(deadline);
  if (ABSL_PREDICT_FALSE(!s.ok())) {
    if (!IsOwnerDied(s)) return s;
    s = RepairProducer();
  }
  if (s.ok() &&
      ABSL_PREDICT_FALSE(h_->bias.load(std::memory_order_relaxed) != 0)) {
    s = RevokeBias(me);
  }
  if (!s.ok()) {
    // Unrepaired, the next holder is told again.
    h_->producer_lock.Unlock(/*owner_died=*/true).IgnoreError();
    return s;
  }
  ReleaseStaleBias(me);
  MP_QUEUE_CRASH_POINT(kPutLocked);
  return s;
}

void Core::UnlockProducer() {
  // Only fails for a thread that does not hold it, which cannot happen here.
  h_->producer_lock.Unlock().IgnoreError();
}

absl::Status Core::RevokeBias(uint64_t me) {
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
  return gone ? RepairProducer() : absl::OkStatus();
}

void Core::CountRun(uint64_t me) {
  if (h_->run_token != me) {
    h_->run_token = me;
    h_->run_length = 0;
  }
  if (++h_->run_length % BiasAfter() != 0) return;
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

void Core::ReleaseStaleBias(uint64_t me) {
  if (ABSL_PREDICT_FALSE(h_->bias_alive.HeldByMe()) &&
      h_->bias.load(std::memory_order_relaxed) != me) {
    h_->bias_alive.Unlock().IgnoreError();
  }
}

absl::Status Core::RepairProducer() {
  const uint64_t n = h_->puts.load();
  h_->put_word.value().store(static_cast<uint32_t>(n));

  // Killed between pushing chain_start on its free list and moving
  // chain_start past it.
  const uint64_t start = h_->chain_start.load();
  if (ValidSegmentCursor(start) && OnFreeList(start)) {
    Segment seg;
    MP_RETURN_IF_ERROR(MapSegment(start, &seg));
    h_->chain_start.store(seg.header()->next.load());
  }

  // Killed while taking a segment and linking it after the current one.
  const uint64_t pending = h_->pending.load();
  if (pending != 0) {
    if (!ValidSegmentCursor(pending)) {
      return CorruptError(absl::StrFormat("bad pending segment %#x", pending));
    }
    const uint64_t pos = h_->ppos.load();
    MP_RETURN_IF_ERROR(MapPosition(pos, &producer_seg_));
    if (SegmentOf(pos) != pending) {
      SegmentHeader* cur = producer_seg_.header();
      const bool linked = cur->next.load() == pending;
      auto* r = reinterpret_cast<RecordHeader*>(
          producer_seg_.base + (CursorOffset(pos) - producer_seg_.offset));
      if (linked && r->stamp.load() == n &&
          RecordTypeOf(r->size_and_type) == kEnd) {
        // The END record is complete: finish the move.
        h_->ppos.store(pending + sizeof(SegmentHeader));
      } else {
        if (linked) cur->next.store(0);
        const int c = CursorClass(pending);
        const bool allocated =
            h_->top.load() >= CursorOffset(pending) + SegmentSize(c);
        if (allocated && !OnFreeList(pending)) {
          Segment seg;
          MP_RETURN_IF_ERROR(MapSegment(pending, &seg));
          PushFree(seg);
        }
      }
    }
    h_->pending.store(0);
  }

  // Killed between committing an item and moving ppos past it.
  const uint64_t pos = h_->ppos.load();
  MP_RETURN_IF_ERROR(MapPosition(pos, &producer_seg_));
  const uint64_t offset = CursorOffset(pos);
  auto* r = reinterpret_cast<RecordHeader*>(producer_seg_.base +
                                            (offset - producer_seg_.offset));
  const uint64_t st = r->size_and_type;
  if (n > 0 && r->stamp.load() == n - 1 && RecordTypeOf(st) == kItem) {
    const uint64_t payload = PayloadOf(st);
    if (payload > producer_seg_.end() - offset - 2 * sizeof(RecordHeader)) {
      return CorruptError("record overruns its segment");
    }
    h_->ppos.store(pos + RecordSize(payload));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The producer side.

absl::Status Core::EnsureBacked(const Segment& seg, uint64_t end) {
  SegmentHeader* header = seg.header();
  const uint64_t want = end - seg.offset;
  if (ABSL_PREDICT_TRUE(want <= header->backed)) return absl::OkStatus();
  const uint64_t have = std::min(header->backed, seg.size);
  if (want <= have) return absl::OkStatus();
  const uint64_t to = std::min(seg.size, RoundUp(want, kMinSegment));
  MP_RETURN_IF_ERROR(arena_->Back(seg.offset + have, to - have));
  header->backed = to;
  return absl::OkStatus();
}

absl::Status Core::Reclaim() {
  const uint64_t cpos = h_->read.LoadFirst();
  if (!ValidClass(CursorClass(cpos))) {
    return CorruptError(absl::StrFormat("bad position %#x", cpos));
  }
  const uint64_t current = SegmentOf(cpos);
  for (int i = 0; i < kMaxReclaim; ++i) {
    const uint64_t start = h_->chain_start.load();
    if (start == current) break;
    Segment seg;
    MP_RETURN_IF_ERROR(MapSegment(start, &seg));
    const uint64_t next = seg.header()->next.load(std::memory_order_acquire);
    if (!ValidSegmentCursor(next)) {
      return CorruptError(absl::StrFormat("bad chain link %#x", next));
    }
    PushFree(seg);
    MP_QUEUE_CRASH_POINT(kReclaimPushed);
    h_->chain_start.store(next);
  }
  return absl::OkStatus();
}

bool Core::OnFreeList(uint64_t cursor) const {
  const int c = CursorClass(cursor);
  return h_->warm[c].load() == cursor || h_->cold[c].load() == cursor;
}

void Core::PushFree(const Segment& seg) {
  const int c = CursorClass(seg.cursor);
  std::atomic<uint64_t>* list = &h_->warm[c];
  if (h_->warm_count[c].load() < kWarmBytesPerClass / seg.size) {
    h_->warm_count[c].fetch_add(1);
  } else {
    arena_->Release(seg.offset + kKeptOnRelease, seg.size - kKeptOnRelease);
    seg.header()->backed = kKeptOnRelease;
    list = &h_->cold[c];
  }
  seg.header()->next_free = list->load();
  list->store(seg.cursor);
}

absl::Status Core::Allocate(int c, uint64_t need, Segment* seg) {
  for (std::atomic<uint64_t>* list : {&h_->warm[c], &h_->cold[c]}) {
    const uint64_t head = list->load();
    if (head == 0) continue;
    if (CursorClass(head) != c) {
      return CorruptError(
          absl::StrFormat("segment %#x on a free list of class %d", head, c));
    }
    MP_RETURN_IF_ERROR(MapSegment(head, seg));
    h_->pending.store(head);
    list->store(seg->header()->next_free);
    MP_QUEUE_CRASH_POINT(kAllocPopped);
    if (list == &h_->warm[c] && h_->warm_count[c].load() > 0) {
      h_->warm_count[c].fetch_sub(1);
    }
    seg->header()->next.store(0);
    return absl::OkStatus();
  }
  const uint64_t size = SegmentSize(c);
  const uint64_t top = h_->top.load();
  if (top < kInitialSize || top > Arena::kMaxSize) {
    return CorruptError(absl::StrFormat("bad top %#x", top));
  }
  const uint64_t offset = RoundUp(top, size);
  if (offset > Arena::kMaxSize - size) {
    return absl::ResourceExhaustedError(
        "Queue.Put: the queue's address space is used up");
  }
  const uint64_t cursor = MakeCursor(c, offset);
  h_->pending.store(cursor);
  MP_QUEUE_CRASH_POINT(kAllocPending);
  const uint64_t backed = std::min(size, RoundUp(need, kMinSegment));
  absl::Status s = arena_->Reserve(offset + size);
  if (s.ok()) s = arena_->Back(offset, backed);
  absl::StatusOr<char*> base = s.ok() ? arena_->Map(offset, size) : s;
  if (!base.ok()) {
    h_->pending.store(0);
    return FromArena(base.status());
  }
  auto* header = new (*base) SegmentHeader;
  header->magic = kSegmentMagic;
  header->self = cursor;
  header->next.store(0);
  header->next_free = 0;
  header->backed = backed;
  MP_QUEUE_CRASH_POINT(kAllocInitialized);
  h_->top.store(offset + size);
  MP_QUEUE_CRASH_POINT(kAllocBumped);
  seg->cursor = cursor;
  seg->offset = offset;
  seg->size = size;
  seg->base = *base;
  return absl::OkStatus();
}

absl::Status Core::SwitchSegment(uint64_t record, uint64_t n, uint64_t* pos) {
  const uint64_t need = sizeof(SegmentHeader) + record + sizeof(RecordHeader);
  const int c = ClassFor(need);
  MP_RETURN_IF_ERROR(Reclaim());
  Segment seg;
  MP_RETURN_IF_ERROR(Allocate(c, need, &seg));
  // Link, then the END record that sends consumers on, then move.
  producer_seg_.header()->next.store(seg.cursor, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kLinked);
  auto* end = reinterpret_cast<RecordHeader*>(
      producer_seg_.base + (CursorOffset(*pos) - producer_seg_.offset));
  end->size_and_type = uint64_t{kEnd} << 56;
  end->stamp.store(n, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kEndWritten);
  *pos = seg.cursor + sizeof(SegmentHeader);
  h_->ppos.store(*pos, std::memory_order_release);
  MP_QUEUE_CRASH_POINT(kMoved);
  h_->pending.store(0, std::memory_order_release);
  producer_seg_ = seg;
  return absl::OkStatus();
}

absl::Status Core::Append(absl::Span<const absl::string_view> pieces,
                          uint64_t size, uint64_t n) {
  uint64_t pos = h_->ppos.load(std::memory_order_relaxed);
  MP_RETURN_IF_ERROR(MapPosition(pos, &producer_seg_));
  const uint64_t record = RecordSize(size);
  // Keep room for the END record that may follow.
  if (record + sizeof(RecordHeader) > producer_seg_.end() - CursorOffset(pos)) {
    MP_RETURN_IF_ERROR(SwitchSegment(record, n, &pos));
  }
  const uint64_t offset = CursorOffset(pos);
  MP_RETURN_IF_ERROR(
      EnsureBacked(producer_seg_, offset + record + sizeof(RecordHeader)));
  char* p = producer_seg_.base + (offset - producer_seg_.offset);
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

bool Core::RoomAvailable() const {
  const uint64_t g = h_->read.LoadSecond();
  const uint64_t p = h_->puts.load(std::memory_order_acquire);
  return p - g < static_cast<uint64_t>(maxsize_);
}

absl::Status Core::Put(absl::Span<const absl::string_view> pieces,
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
      absl::Status s = WaitUntil(Side::kProducer, deadline,
                                 [this] { return RoomAvailable(); });
      if (!s.ok()) {
        if (IsTimeout(s)) return FullError("Queue.Put: queue is full");
        return s;
      }
    }
    uint64_t n;
    if (h_->bias.load(std::memory_order_relaxed) == me) {
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
    if (absl::Status s = LockProducer(me, lock_deadline); !s.ok()) {
      if (IsTimeout(s)) {
        return FullError(
            "Queue.Put: timed out while another producer held the queue");
      }
      return s;
    }
    n = h_->puts.load(std::memory_order_relaxed);
    if (FullAt(n)) {
      // Another producer took the room.
      UnlockProducer();
      if (deadline.Expired()) return FullError("Queue.Put: queue is full");
      continue;
    }
    absl::Status s = Append(pieces, size, n);
    if (s.ok()) CountRun(me);
    UnlockProducer();
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

Core::BiasedPut Core::PutBiased(absl::Span<const absl::string_view> pieces,
                                uint64_t size, uint64_t me, uint64_t* n,
                                absl::Status* s) {
  h_->bias_busy.store(1, std::memory_order_relaxed);
  // Only the compiler is held back: a revoker's HeavyBarrier() orders this
  // store before the load below as a fence here would.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (h_->bias.load(std::memory_order_relaxed) != me) {
    h_->bias_busy.store(0, std::memory_order_release);
    return BiasedPut::kRevoked;
  }
  MP_QUEUE_CRASH_POINT(kPutLocked);
  *n = h_->puts.load(std::memory_order_relaxed);
  if (FullAt(*n)) {
    h_->bias_busy.store(0, std::memory_order_release);
    return BiasedPut::kFull;
  }
  *s = Append(pieces, size, *n);
  // Publishes the put to a revoker, which goes on from where it left off.
  h_->bias_busy.store(0, std::memory_order_release);
  return BiasedPut::kMade;
}

void Core::AfterPut(uint64_t n) {
  WakeSleepers(h_->put_word, h_->put_sleepers);
  if (ABSL_PREDICT_FALSE((n + 1) % kHandOffItems == 0)) {
    HandOffIfSharingCpu();
  }
}

void Core::HandOffIfSharingCpu() {
  const uint32_t cpu =
      h_->yielding_consumer_cpu.load(std::memory_order_relaxed);
  if (cpu != 0 && static_cast<int>(cpu - 1) == CurrentCpu()) {
    std::this_thread::yield();
  }
}

// ---------------------------------------------------------------------------
// The consumer side.

bool Core::ItemsAvailable(uint64_t g) const {
  if (seen_puts_.load(std::memory_order_acquire) > g) return true;
  const uint64_t p = h_->puts.load(std::memory_order_acquire);
  seen_puts_.store(p, std::memory_order_release);
  return p > g;
}

bool Core::ReadPositionIs(uint64_t cpos, uint64_t gets) const {
  return h_->read.LoadSecond() == gets && h_->read.LoadFirst() == cpos;
}

absl::Status Core::FollowEnd(Segment& seg, uint64_t cpos, uint64_t gets) {
  const uint64_t next = seg.header()->next.load(std::memory_order_acquire);
  Segment to = seg;
  absl::Status s = MapSegment(next, &to);
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
// cache cannot live in the Core), for the Core with serial `owner`.
struct ConsumerCache {
  uint64_t owner = 0;
  Core::Segment seg;
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

inline RecordView ViewRecord(const Core::Segment& seg, uint64_t pos) {
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

inline bool Core::TakeAndClaim(
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

absl::Status Core::Get(
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

void Core::AfterGet() {
  // The word moves only for a producer that announced itself: it set
  // get_sleepers and then looks at `gets`, and this looks at get_sleepers
  // after the claim's compare-and-swap moved `gets`, so one of the two sees
  // the other. A get with no sleeper makes no second locked instruction.
  SeqCstFenceAfterAtomicRmw();
  if (maxsize_ > 0 && h_->get_sleepers.load() != 0) {
    h_->get_word.value().fetch_add(1);
    WakeSleepers(h_->get_word, h_->get_sleepers);
  }
}

absl::Status Core::GetSlow(
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
      absl::Status s = WaitUntil(Side::kConsumer, deadline, [this] {
        return ItemsAvailable(h_->read.LoadSecond());
      });
      if (!s.ok()) {
        if (IsTimeout(s)) return EmptyError("Queue.Get: queue is empty");
        return s;
      }
      continue;
    }
    // (c, g) may be a torn or stale snapshot if another consumer moved the
    // position meanwhile: a check that fails is an error only if the
    // position has not moved since; otherwise the snapshot is taken again.
    absl::Status bad = MapPosition(c, &seg);
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

absl::Status Core::WaitUntil(Side side, Deadline deadline,
                             absl::FunctionRef<bool()> ready) {
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

bool Core::YieldUntil(std::atomic<uint32_t>* yielding_cpu,
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

Deadline Core::Slice(Deadline deadline) const {
  return Earlier(deadline, Deadline::After(recheck_));
}

// ---------------------------------------------------------------------------
// Sizes and JoinableQueue.

uint64_t Core::Qsize() const {
  const uint64_t g = h_->read.LoadSecond();
  const uint64_t p = h_->puts.load(std::memory_order_acquire);
  return p > g ? p - g : 0;
}

bool Core::Full() const {
  return maxsize_ > 0 && Qsize() >= static_cast<uint64_t>(maxsize_);
}

absl::Status Core::TaskDone() {
  uint64_t d = h_->dones.load();
  for (;;) {
    if (d >= h_->puts.load()) {
      return absl::FailedPreconditionError(
          "JoinableQueue.TaskDone: task_done() called too many times");
    }
    if (h_->dones.compare_exchange_weak(d, d + 1)) break;
  }
  h_->done_word.value().fetch_add(1);
  if (d + 1 >= h_->puts.load()) h_->done_word.WakeAll().IgnoreError();
  return absl::OkStatus();
}

absl::Status Core::Join(Deadline deadline) {
  for (;;) {
    const uint32_t seen = h_->done_word.value().load();
    if (h_->dones.load() >= h_->puts.load()) return absl::OkStatus();
    absl::Status s = h_->done_word.Wait(seen, Slice(deadline));
    if (h_->dones.load() >= h_->puts.load()) return absl::OkStatus();
    if (IsTimeout(s)) {
      if (deadline.Expired()) {
        return TimeoutError("JoinableQueue.Join: timed out");
      }
    } else if (!s.ok()) {
      return s;
    }
  }
}

// ---------------------------------------------------------------------------
// Checking.

absl::Status Core::CheckConsistency() {
  MP_RETURN_IF_ERROR(LockProducer(ThreadToken(), Deadline::Never()));
  absl::Status s = CheckLocked();
  UnlockProducer();
  return s;
}

absl::Status Core::CheckLocked() {
  if (h_->pending.load() != 0) {
    return absl::InternalError("a pending segment was left");
  }
  // Every segment ever allocated: a header at its offset names it, and
  // whatever lies between segments was never touched (reads as zeros).
  enum Where { kUnseen, kChain, kFree };
  absl::flat_hash_map<uint64_t, Where> where;
  const uint64_t top = h_->top.load();
  for (uint64_t offset = kFirstSegment; offset < top;) {
    absl::StatusOr<char*> p = arena_->Map(offset, sizeof(SegmentHeader));
    if (!p.ok()) return p.status();
    const auto* header = reinterpret_cast<const SegmentHeader*>(*p);
    if (header->magic == kSegmentMagic && ValidSegmentCursor(header->self) &&
        CursorOffset(header->self) == offset) {
      where[header->self] = kUnseen;
      offset += SegmentSize(CursorClass(header->self));
    } else {
      offset += kMinSegment;
    }
  }
  auto visit = [&](uint64_t cursor, Where w) -> absl::Status {
    auto it = where.find(cursor);
    if (it == where.end()) {
      return absl::InternalError(
          absl::StrFormat("%#x is not an allocated segment", cursor));
    }
    if (it->second != kUnseen) {
      return absl::InternalError(absl::StrFormat(
          "segment %#x is on the chain or a free list twice", cursor));
    }
    it->second = w;
    return absl::OkStatus();
  };
  const uint64_t last = SegmentOf(h_->ppos.load());
  const uint64_t first = SegmentOf(h_->read.LoadFirst());
  bool saw_first = false;
  Segment seg;
  for (uint64_t cursor = h_->chain_start.load();;) {
    MP_RETURN_IF_ERROR(visit(cursor, kChain));
    saw_first = saw_first || cursor == first;
    if (cursor == last) break;
    MP_RETURN_IF_ERROR(MapSegment(cursor, &seg));
    cursor = seg.header()->next.load();
  }
  if (!saw_first) {
    return absl::InternalError("the consumers' segment is not on the chain");
  }
  for (int c = 0; c < kNumClasses; ++c) {
    for (uint64_t cursor : {h_->warm[c].load(), h_->cold[c].load()}) {
      while (cursor != 0) {
        if (CursorClass(cursor) != c) {
          return absl::InternalError(absl::StrFormat(
              "segment %#x on the free list of class %d", cursor, c));
        }
        MP_RETURN_IF_ERROR(visit(cursor, kFree));
        MP_RETURN_IF_ERROR(MapSegment(cursor, &seg));
        cursor = seg.header()->next_free;
      }
    }
  }
  for (const auto& [cursor, w] : where) {
    if (w == kUnseen) {
      return absl::InternalError(absl::StrFormat("segment %#x leaked", cursor));
    }
  }
  // The records between the consumers and the producers.
  uint64_t items = 0;
  const uint64_t end = h_->ppos.load();
  const uint64_t gets = h_->read.LoadSecond();
  uint64_t stamp = gets;
  for (uint64_t pos = h_->read.LoadFirst(); pos != end;) {
    MP_RETURN_IF_ERROR(MapPosition(pos, &seg));
    const auto* r = reinterpret_cast<const RecordHeader*>(
        seg.base + (CursorOffset(pos) - seg.offset));
    if (r->stamp.load() != stamp) {
      return absl::InternalError(absl::StrFormat("record %d where %d belongs",
                                                 r->stamp.load(), stamp));
    }
    if (RecordTypeOf(r->size_and_type) == kEnd) {
      pos = seg.header()->next.load() + sizeof(SegmentHeader);
    } else {
      pos += RecordSize(PayloadOf(r->size_and_type));
      ++items;
      ++stamp;
    }
    if (items > h_->puts.load() - gets) {
      return absl::InternalError("more records than items");
    }
  }
  if (items != h_->puts.load() - gets) {
    return absl::InternalError(absl::StrFormat("%d records for %d items", items,
                                               h_->puts.load() - gets));
  }
  return absl::OkStatus();
}

}  // namespace queue_internal
}  // namespace mp
