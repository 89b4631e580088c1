// The producer bias's platform part on Linux (bias.h): the robust mutex's
// thread token, and membarrier(2).
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "lock/internal/robust_mutex.h"
#include "queue/internal/bias.h"

namespace mp {
namespace queue_internal {
namespace {

long Membarrier(int cmd) { return syscall(SYS_membarrier, cmd, 0, 0); }

// The process that registered, so that a forked child registers its own
// address space again.
std::atomic<pid_t> registered_pid{0};

}  // namespace

uint64_t ThreadToken() { return lock_internal::Self().token; }

bool PrepareBiasHolder() {
  const pid_t pid = getpid();
  if (registered_pid.load(std::memory_order_acquire) == pid) return true;
  const long supported = Membarrier(MEMBARRIER_CMD_QUERY);
  if (supported < 0 || (supported & MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0 ||
      Membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0) {
    return false;
  }
  registered_pid.store(pid, std::memory_order_release);
  return true;
}

bool HeavyBarrier() { return Membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0; }

}  // namespace queue_internal
}  // namespace mp
