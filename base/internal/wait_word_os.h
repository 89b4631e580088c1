// The OS calls under WaitWord, for mp's other primitives on shared words
// (lock/'s robust mutex keeps a kernel-defined word, so it cannot be a
// WaitWord, but sleeps and names its objects the same way). Not part of
// mp's API.
#ifndef MP_BASE_INTERNAL_WAIT_WORD_OS_H_
#define MP_BASE_INTERNAL_WAIT_WORD_OS_H_

#include <atomic>
#include <cstdint>

#include "base/deadline.h"

namespace mp {
namespace base_internal {
#ifdef _WIN32
// The id that names a shared word's kernel objects, kept in `id`: the first
// caller, in whichever process, stores a random one (from the system's
// CSPRNG: two words sharing an id would share their objects).
uint64_t SharedObjectId(std::atomic<uint64_t>& id);
#else
// futex(2) without FUTEX_PRIVATE_FLAG (the word is in MAP_SHARED memory, so
// the kernel keys it by page): sleeps while *word == expected, until woken
// or `deadline` (FUTEX_WAIT_BITSET: an absolute CLOCK_MONOTONIC time, the
// clock of mp::Deadline). The system call's result; errno when it is -1.
long FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               Deadline deadline);
// Wakes up to `count` sleepers on `word`; the system call's result.
long FutexWake(std::atomic<uint32_t>* word, int count);
#endif
}  // namespace base_internal
}  // namespace mp

#endif  // MP_BASE_INTERNAL_WAIT_WORD_OS_H_
