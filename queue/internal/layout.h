// The queue's shared-memory layout: what lives where in the arena.
//
//   offset 0       Header (one 64 KiB block; only its first page is touched)
//   64 KiB ...     segments, each a power of two >= 64 KiB in size and
//                  aligned to its size, allocated from the arena
//
// A queue is a chain of segments. Producers append records to the last one;
// consumers read records from the first one. A record is a 16-byte header
// and the item's encoded bytes, padded to 8:
//
//   ITEM  stamp = the item's index (0, 1, 2, ... over the queue's life)
//   END   stamp = the index of the item that follows; the rest of the
//         segment is unused and the chain goes on at segment.next
//
// An item too big for the current segment goes into a new segment of a
// size class that fits it, so items of any size (64 bytes or 64 MiB) share
// one queue without a fixed slot size, and the segment's remaining room
// takes the items after it. Segments the consumers have left are taken back
// by producers (reclaimed onto per-class free lists) and reused, so in a
// steady state the queue cycles through a few hot segments like a ring.
//
// Positions are "cursors": a segment's size class in bits 56..61 and an
// arena offset in bits 0..47, so one 64-bit store moves a position from one
// segment to another atomically.
//
// Nothing read from shared memory is trusted: every offset, class, size and
// stamp is checked before use (another process may be buggy or may have
// died half-way through a write), and a check that fails is reported as
// mp::DecodeError ("queue: shared state is corrupt: ..."), never a crash.
#ifndef MP_QUEUE_INTERNAL_LAYOUT_H_
#define MP_QUEUE_INTERNAL_LAYOUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/wait_word.h"
#include "lock/internal/robust_mutex.h"
#include "queue/internal/arena.h"
#include "queue/internal/atomic_pair.h"

namespace mp {
namespace queue_internal {

inline constexpr uint64_t kHeaderMagic = 0x6d702d7175657565ull;   // "mp-queue"
inline constexpr uint64_t kSegmentMagic = 0x6d702d7365676d74ull;  // "mp-segmt"
inline constexpr uint32_t kLayoutVersion = 3;

// Segment sizes: class c is 64 KiB << c.
inline constexpr int kSegmentShift = 16;
inline constexpr uint64_t kMinSegment = uint64_t{1} << kSegmentShift;
inline constexpr int kNumClasses = Arena::kMaxShift - kSegmentShift;  // 32
inline constexpr uint64_t SegmentSize(int c) { return kMinSegment << c; }

// How much free memory each size class keeps for reuse: reclaimed segments
// beyond it give theirs back to the system, so a queue that held a burst
// returns to a small footprint, while the segments a busy queue cycles
// through stay warm (a segment that must be backed again costs page
// allocation and faults on every reuse).
inline constexpr uint64_t kWarmBytesPerClass = uint64_t{16} << 20;

// Cursor words.
inline constexpr int kClassShift = 56;
inline constexpr uint64_t kOffsetMask = (uint64_t{1} << Arena::kMaxShift) - 1;
inline constexpr uint64_t MakeCursor(int c, uint64_t offset) {
  return (static_cast<uint64_t>(c) << kClassShift) | offset;
}
inline constexpr int CursorClass(uint64_t cursor) {
  return static_cast<int>(cursor >> kClassShift);
}
inline constexpr uint64_t CursorOffset(uint64_t cursor) {
  return cursor & kOffsetMask;
}
inline constexpr bool ValidClass(int c) { return c >= 0 && c < kNumClasses; }
// The cursor of the segment holding `cursor` (whose class must be valid).
inline constexpr uint64_t SegmentOf(uint64_t cursor) {
  return (cursor & ~kOffsetMask) |
         (CursorOffset(cursor) &
          ~(SegmentSize(CursorClass(cursor) % kNumClasses) - 1));
}

enum class Kind : uint32_t { kQueue = 1, kSimpleQueue = 2, kJoinableQueue = 3 };

// The first 64 bytes of every segment.
struct SegmentHeader {
  uint64_t magic;  // kSegmentMagic
  uint64_t self;   // this segment's own cursor
  // The segment that follows in the chain, written by the producer before
  // the END record that points consumers to it; 0 until then.
  std::atomic<uint64_t> next;
  // The next segment on a free list.
  uint64_t next_free;
  // Bytes from the segment's start known to be backed by memory.
  uint64_t backed;
  uint64_t unused[3];
};
static_assert(sizeof(SegmentHeader) == 64, "");

enum RecordType : uint64_t { kItem = 1, kEnd = 2 };

struct RecordHeader {
  // Written last, after the rest of the record.
  std::atomic<uint64_t> stamp;
  uint64_t size_and_type;  // type << 56 | payload bytes
};
static_assert(sizeof(RecordHeader) == 16, "");
inline constexpr uint64_t kMaxPayload = (uint64_t{1} << 56) - 1;
inline constexpr uint64_t RecordSize(uint64_t payload) {
  return sizeof(RecordHeader) + ((payload + 7) & ~uint64_t{7});
}

struct alignas(64) Header {
  // Set at creation, never changed.
  uint64_t magic;
  uint32_t version;
  Kind kind;
  int64_t maxsize;     // > 0: bounded; 0: unbounded
  uint64_t type_hash;  // which Queue<T> this is, so a spawned child cannot
                       // open it as a queue of another type

  // Producer side: changed only under producer_lock, or by the holder of
  // the producer bias (core.h).
  alignas(64) lock_internal::RobustMutex producer_lock;
  // Under producer_lock, in its cache line (a put under the lock touches
  // them): the run of puts that earns the producer bias: who made the last
  // ones, how many in a row, and how many it takes (doubled at each
  // revocation, from kBiasAfter).
  uint64_t run_token;
  uint32_t run_length;
  uint32_t bias_after;
  alignas(64) std::atomic<uint64_t> ppos;  // where the next record goes
  // The producer bias (core.h): the token of the thread that puts without
  // taking producer_lock, 0 when none, kRevoking while another producer
  // takes it back; and 1 in bias_busy while the holder is inside a put.
  std::atomic<uint64_t> bias;
  std::atomic<uint32_t> bias_busy;
  // A segment taken from a free list or the bump pointer and not linked
  // into the chain yet (see Producer::Repair).
  std::atomic<uint64_t> pending;
  std::atomic<uint64_t> chain_start;  // the oldest segment not reclaimed
  std::atomic<uint64_t> top;          // arena bytes above are unallocated
  // Free segments, per size class: `warm` ones keep their memory (up to
  // kWarmBytesPerClass of each class), `cold` ones gave it back.
  std::atomic<uint64_t> warm[kNumClasses];
  std::atomic<uint64_t> cold[kNumClasses];
  std::atomic<uint32_t> warm_count[kNumClasses];  // a hint, not exact

  // Held by the bias holder for as long as it holds the bias, so that its
  // death is noticed.
  alignas(64) lock_internal::RobustMutex bias_alive;

  // Items put so far (the commit point of a put), and a word holding its low
  // 32 bits that consumers sleep on.
  alignas(64) std::atomic<uint64_t> puts;
  WaitWord put_word;
  // Set by a consumer about to sleep on put_word; the next producer clears
  // it and wakes every sleeper, so a burst of puts makes one system call,
  // not one per put while the sleepers wake up.
  std::atomic<uint32_t> put_sleepers;
  // The CPU (+ 1) of a consumer that is yielding while it waits for an
  // item, 0 if none: a producer running on that CPU lets it run now and
  // then (SleepWake::HandOffIfSharingCpu), instead of piling up a time slice's
  // worth of items.
  std::atomic<uint32_t> yielding_consumer_cpu;

  // Consumer side, lock-free: the next record to read (a cursor) and the
  // items gotten so far, moved together by one 16-byte compare-and-swap
  // (the commit point of a get). Producers of a bounded queue sleep on
  // get_word, which a get increments when get_sleepers is set.
  alignas(64) AtomicPair read;  // first: cpos, second: gets
  WaitWord get_word;
  std::atomic<uint32_t> get_sleepers;  // as put_sleepers, for producers
  // Held by a consumer while it copies out an item of kLockedItem bytes or
  // more, so that big items are not copied by every waiting consumer at
  // once (small ones are copied speculatively and claimed by the CAS).
  alignas(64) lock_internal::RobustMutex big_item_lock;

  // JoinableQueue: task_done() calls so far; Join() sleeps on done_word.
  alignas(64) std::atomic<uint64_t> dones;
  WaitWord done_word;
};

// Header::bias while a producer revokes the bias (no thread's token).
inline constexpr uint64_t kRevoking = ~uint64_t{0};
// Puts in a row by one thread, with no other producer in between, that
// earn it the bias; after each revocation twice as many, up to
// kMaxBiasAfter, so that producers taking turns stop passing it around.
inline constexpr uint32_t kBiasAfter = 64;
inline constexpr uint32_t kMaxBiasAfter = uint32_t{1} << 20;

static_assert(offsetof(Header, bias_after) + sizeof(uint32_t) <=
                  offsetof(Header, producer_lock) + 64,
              "the run counters share the producer lock's cache line");

// The header block, then the first segment.
inline constexpr uint64_t kFirstSegment = kMinSegment;
inline constexpr uint64_t kInitialSize = 2 * kMinSegment;
static_assert(sizeof(Header) <= 4096, "the header must fit in one page");

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_LAYOUT_H_
