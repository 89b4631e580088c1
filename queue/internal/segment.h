// The segments of a queue's arena as one process sees them: a mapped
// segment and the records in it, and SegmentAllocator, which maps segments
// for both sides and, under the producer lock, takes them from the free
// lists or the top of the arena and gives reclaimed ones back (layout.h has
// the fields it works on).
#ifndef MP_QUEUE_INTERNAL_SEGMENT_H_
#define MP_QUEUE_INTERNAL_SEGMENT_H_

#include <algorithm>
#include <cstdint>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "queue/internal/arena.h"
#include "queue/internal/layout.h"

namespace mp {
namespace queue_internal {

// DecodeError("queue: shared state is corrupt: " + what).
absl::Status CorruptError(absl::string_view what);

// Whether `cursor` names a segment: a valid class, an offset aligned to its
// size, inside the arena's address space, and no stray bits.
bool ValidSegmentCursor(uint64_t cursor);

inline uint64_t RecordTypeOf(uint64_t size_and_type) {
  return size_and_type >> 56;
}
inline uint64_t PayloadOf(uint64_t size_and_type) {
  return size_and_type & kMaxPayload;
}

// A segment mapped in this process.
struct Segment {
  uint64_t cursor = 0;  // its cursor (class and offset)
  uint64_t offset = 0;
  uint64_t size = 0;
  char* base = nullptr;
  SegmentHeader* header() const {
    return reinterpret_cast<SegmentHeader*>(base);
  }
  uint64_t end() const { return offset + size; }
  // Whether `pos` is a record position inside this (mapped) segment.
  bool Holds(uint64_t pos) const {
    const uint64_t off = CursorOffset(pos);
    return (pos & ~kOffsetMask) == (cursor & ~kOffsetMask) &&
           off >= offset + sizeof(SegmentHeader) &&
           off <= end() - sizeof(RecordHeader) && off % 8 == 0 &&
           base != nullptr;
  }
  // The record at `pos`, which this segment holds.
  RecordHeader* RecordAt(uint64_t pos) const {
    return reinterpret_cast<RecordHeader*>(base + (CursorOffset(pos) - offset));
  }
};

class SegmentAllocator {
 public:
  SegmentAllocator(Arena* arena, Header* header) : arena_(arena), h_(header) {}

  // Maps and checks the segment `cursor` names.
  absl::Status MapSegment(uint64_t cursor, Segment* seg);
  // Checks that `cursor` is a record position inside a valid segment, maps
  // that segment (reusing *cache), and points *cache at it.
  absl::Status MapPosition(uint64_t cursor, Segment* cache) {
    if (ABSL_PREDICT_TRUE(cache->Holds(cursor))) return absl::OkStatus();
    return MapPositionSlow(cursor, cache);
  }

  // The rest is for the producer side, under the producer lock.

  // Makes sure the bytes of `seg` below arena offset `end` are backed.
  absl::Status EnsureBacked(const Segment& seg, uint64_t end) {
    const uint64_t want = end - seg.offset;
    if (ABSL_PREDICT_TRUE(want <= seg.header()->backed)) {
      return absl::OkStatus();
    }
    return EnsureBackedSlow(seg, want);
  }
  // Takes a segment of class `c` with its first `need` bytes backed, from
  // a free list or the top of the arena, into *seg, recorded in `pending`
  // until the caller links it.
  absl::Status Allocate(int c, uint64_t need, Segment* seg);
  // Moves chain_start up to the consumers' segment, pushing each segment
  // they have left on a free list.
  absl::Status Reclaim();
  // Puts a segment no longer in use on a free list of its class.
  void PushFree(const Segment& seg);
  bool OnFreeList(uint64_t cursor) const;

 private:
  absl::Status MapPositionSlow(uint64_t cursor, Segment* cache);
  absl::Status EnsureBackedSlow(const Segment& seg, uint64_t want);

  Arena* const arena_;
  Header* const h_;
};

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_SEGMENT_H_
