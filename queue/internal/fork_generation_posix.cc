// ForkGeneration on POSIX: a counter that a pthread_atfork child handler
// bumps, so state stamped with the generation is "from the parent" in a
// forked child.
#include <pthread.h>

#include <atomic>
#include <cstdint>

#include "queue/queue.h"

namespace mp {
namespace queue_internal {
namespace {

std::atomic<uint64_t> generation{0};

void InChild() { generation.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

uint64_t ForkGeneration() {
  static const bool registered = [] {
    return pthread_atfork(nullptr, nullptr, &InChild) == 0;
  }();
  (void)registered;
  return generation.load(std::memory_order_relaxed);
}

}  // namespace queue_internal
}  // namespace mp
