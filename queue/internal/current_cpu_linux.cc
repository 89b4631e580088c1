// CurrentCpu() on Linux: glibc reads it from the thread's rseq area, or asks
// the vDSO, without a system call.
#include <sched.h>

#include "queue/internal/spin.h"

namespace mp {
namespace queue_internal {

int CurrentCpu() { return sched_getcpu(); }

}  // namespace queue_internal
}  // namespace mp
