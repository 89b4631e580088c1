#include "queue/internal/segment.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <new>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "base/status.h"
#include "queue/internal/arena.h"
#include "queue/internal/crash_point.h"
#include "queue/internal/layout.h"

namespace mp {
namespace queue_internal {
namespace {

// Bytes at the start of a released segment that stay backed (its header).
constexpr uint64_t kKeptOnRelease = 4096;
// Segments reclaimed per allocation at most (a corrupt chain must not spin
// forever).
constexpr int kMaxReclaim = 4096;

uint64_t RoundUp(uint64_t x, uint64_t to) { return (x + to - 1) & ~(to - 1); }

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

absl::Status SegmentAllocator::MapSegment(uint64_t cursor, Segment* seg) {
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

absl::Status SegmentAllocator::MapPositionSlow(uint64_t cursor,
                                               Segment* cache) {
  if (!ValidClass(CursorClass(cursor))) {
    return CorruptError(absl::StrFormat("bad position %#x", cursor));
  }
  MP_RETURN_IF_ERROR(MapSegment(SegmentOf(cursor), cache));
  if (!cache->Holds(cursor)) {
    return CorruptError(absl::StrFormat("bad position %#x", cursor));
  }
  return absl::OkStatus();
}

absl::Status SegmentAllocator::EnsureBackedSlow(const Segment& seg,
                                                uint64_t want) {
  SegmentHeader* header = seg.header();
  const uint64_t have = std::min(header->backed, seg.size);
  if (want <= have) return absl::OkStatus();
  const uint64_t to = std::min(seg.size, RoundUp(want, kMinSegment));
  MP_RETURN_IF_ERROR(arena_->Back(seg.offset + have, to - have));
  header->backed = to;
  return absl::OkStatus();
}

absl::Status SegmentAllocator::Reclaim() {
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

bool SegmentAllocator::OnFreeList(uint64_t cursor) const {
  const int c = CursorClass(cursor);
  return h_->warm[c].load() == cursor || h_->cold[c].load() == cursor;
}

void SegmentAllocator::PushFree(const Segment& seg) {
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

absl::Status SegmentAllocator::Allocate(int c, uint64_t need, Segment* seg) {
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

}  // namespace queue_internal
}  // namespace mp
