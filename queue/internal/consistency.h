// The whole-structure check behind Core::CheckConsistency(), for tests: it
// reads every segment header in the arena, which no put or get does.
#ifndef MP_QUEUE_INTERNAL_CONSISTENCY_H_
#define MP_QUEUE_INTERNAL_CONSISTENCY_H_

#include "absl/status/status.h"
#include "queue/internal/arena.h"
#include "queue/internal/layout.h"
#include "queue/internal/segment.h"

namespace mp {
namespace queue_internal {

// Under the producer lock, with no put in progress: every segment in the
// arena is on the chain or on one free list, exactly once; nothing is
// pending; the records from cpos to ppos are the items puts - gets counts.
// absl::InternalError() names what is wrong.
absl::Status CheckConsistencyLocked(const Header& h, Arena& arena,
                                    SegmentAllocator& segments);

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_CONSISTENCY_H_
