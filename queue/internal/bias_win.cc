// The producer bias's platform part on Windows (bias.h): none, since no
// barrier reaches other processes' threads. The token names the thread
// anyway; nothing compares it while no bias is ever held.
#include <windows.h>

#include <cstdint>

#include "queue/internal/bias.h"

namespace mp {
namespace queue_internal {

uint64_t ThreadToken() { return uint64_t{GetCurrentThreadId()} + 1; }

bool PrepareBiasHolder() { return false; }

bool HeavyBarrier() { return false; }

}  // namespace queue_internal
}  // namespace mp
