// Fork counting on Windows: there is no fork, so the generation stays 0.
#include <atomic>
#include <cstdint>

#include "queue/internal/basic_queue.h"

namespace mp {
namespace queue_internal {

std::atomic<uint64_t> fork_generation{0};

void CountForks() {}

}  // namespace queue_internal
}  // namespace mp
