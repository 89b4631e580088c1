// Fork counting on POSIX: a pthread_atfork child handler bumps the
// generation, so state stamped with it is "from the parent" in a child.
#include <pthread.h>

#include <atomic>
#include <cstdint>

#include "queue/internal/basic_queue.h"

namespace mp {
namespace queue_internal {
namespace {

void InChild() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

std::atomic<uint64_t> fork_generation{0};

void CountForks() {
  static const bool registered = [] {
    return pthread_atfork(nullptr, nullptr, &InChild) == 0;
  }();
  static_cast<void>(registered);
}

}  // namespace queue_internal
}  // namespace mp
