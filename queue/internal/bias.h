// What the producer bias (core.h) needs from the platform: a name for the
// calling thread, and an asymmetric memory barrier, so that the thread
// holding the bias can put without a single locked instruction while the
// rare other side (a producer revoking the bias, a consumer going to sleep)
// pays for the ordering with a system call.
//
// Linux: membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) makes every running
// thread of every process registered for it execute a full barrier; the
// holder's process registers before it takes the bias. Windows has no
// cross-process equivalent (FlushProcessWriteBuffers reaches only the
// caller's own process), so there is no bias there and every put takes the
// producer lock.
#ifndef MP_QUEUE_INTERNAL_BIAS_H_
#define MP_QUEUE_INTERNAL_BIAS_H_

#include <cstdint>

namespace mp {
namespace queue_internal {

// The calling thread's token: unique among live threads of all processes,
// never 0.
uint64_t ThreadToken();

// Readies this process to hold a bias (registers it for the heavy barrier);
// false where the bias is not available.
bool PrepareBiasHolder();

// A full memory barrier in the caller and in every thread of every process
// prepared by PrepareBiasHolder() that is running now (the others pass a
// barrier when they are next scheduled). False if the system refused; the
// caller must then not rely on the ordering.
bool HeavyBarrier();

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_BIAS_H_
