// ForkGeneration on Windows: there is no fork, so it never changes.
#include <cstdint>

#include "queue/queue.h"

namespace mp {
namespace queue_internal {

uint64_t ForkGeneration() { return 0; }

}  // namespace queue_internal
}  // namespace mp
