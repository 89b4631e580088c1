// Copying big items into the queue with streaming (non-temporal) stores.
//
// A big item is read once, later, by a consumer that usually runs on another
// CPU, and the producer never reads it back. An ordinary copy first brings
// every destination line into the producer's cache, from wherever the last
// reader of that recycled segment left it (often the consumer's cache, on
// the other CPU), only for the line to travel back to the consumer when it
// reads the item. Streaming stores write whole lines towards memory without
// fetching them. The C library's memcpy switches to them only for copies
// larger than a share of the last-level cache it reads from the CPU, which a
// virtual machine may report far larger than it is, so the queue decides
// for itself.
#ifndef MP_QUEUE_INTERNAL_STREAM_COPY_H_
#define MP_QUEUE_INTERNAL_STREAM_COPY_H_

#include <cstddef>
#include <cstdint>

namespace mp {
namespace queue_internal {

// Items at least this big are streamed: beyond what a CPU's own caches
// hold alongside the items queued before them, where a consumer on the
// same CPU would still find an ordinary copy in its cache.
inline constexpr uint64_t kStreamedItem = 256 << 10;

// memcpy(to, from, n) with streaming stores where the CPU has them. The
// stores are weakly ordered: StreamFence() must come before the store that
// publishes the bytes.
void StreamCopy(char* to, const char* from, size_t n);

// Orders the streaming stores made so far before the stores that follow.
void StreamFence();

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_STREAM_COPY_H_
