#include "queue/internal/consistency.h"

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "base/status.h"
#include "queue/internal/arena.h"
#include "queue/internal/layout.h"
#include "queue/internal/segment.h"

namespace mp {
namespace queue_internal {

absl::Status CheckConsistencyLocked(const Header& h, Arena& arena,
                                    SegmentAllocator& segments) {
  if (h.pending.load() != 0) {
    return absl::InternalError("a pending segment was left");
  }
  // Every segment ever allocated: a header at its offset names it, and
  // whatever lies between segments was never touched (reads as zeros).
  enum Where { kUnseen, kChain, kFree };
  absl::flat_hash_map<uint64_t, Where> where;
  const uint64_t top = h.top.load();
  for (uint64_t offset = kFirstSegment; offset < top;) {
    absl::StatusOr<char*> p = arena.Map(offset, sizeof(SegmentHeader));
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
  const uint64_t last = SegmentOf(h.ppos.load());
  const uint64_t first = SegmentOf(h.read.LoadFirst());
  bool saw_first = false;
  Segment seg;
  for (uint64_t cursor = h.chain_start.load();;) {
    MP_RETURN_IF_ERROR(visit(cursor, kChain));
    saw_first = saw_first || cursor == first;
    if (cursor == last) break;
    MP_RETURN_IF_ERROR(segments.MapSegment(cursor, &seg));
    cursor = seg.header()->next.load();
  }
  if (!saw_first) {
    return absl::InternalError("the consumers' segment is not on the chain");
  }
  for (int c = 0; c < kNumClasses; ++c) {
    for (uint64_t cursor : {h.warm[c].load(), h.cold[c].load()}) {
      while (cursor != 0) {
        if (CursorClass(cursor) != c) {
          return absl::InternalError(absl::StrFormat(
              "segment %#x on the free list of class %d", cursor, c));
        }
        MP_RETURN_IF_ERROR(visit(cursor, kFree));
        MP_RETURN_IF_ERROR(segments.MapSegment(cursor, &seg));
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
  const uint64_t end = h.ppos.load();
  const uint64_t gets = h.read.LoadSecond();
  uint64_t stamp = gets;
  for (uint64_t pos = h.read.LoadFirst(); pos != end;) {
    MP_RETURN_IF_ERROR(segments.MapPosition(pos, &seg));
    const RecordHeader* r = seg.RecordAt(pos);
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
    if (items > h.puts.load() - gets) {
      return absl::InternalError("more records than items");
    }
  }
  if (items != h.puts.load() - gets) {
    return absl::InternalError(absl::StrFormat("%d records for %d items", items,
                                               h.puts.load() - gets));
  }
  return absl::OkStatus();
}

}  // namespace queue_internal
}  // namespace mp
