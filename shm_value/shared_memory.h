// SharedMemory, Python's multiprocessing.shared_memory.SharedMemory: where a
// Python user looks for it, beside Value and Array (shm_value/value.h).
//
// The class is defined and documented in base/shared_memory.h, because the
// packages below this one (lock/, queue/) keep their state in a segment too;
// this header and the //shm_value:shared_memory target are the public way to
// use it, and stay so wherever the definition lives.
//
// Example:
//
//   #include "shm_value/shared_memory.h"
//
//   absl::StatusOr<mp::SharedMemory> shm = mp::SharedMemory::Create(4096);
//   if (!shm.ok()) return shm.status();
//   std::memcpy(shm->data(), "hello", 5);
//   // ... pass *shm to a Process; the child sees the same bytes ...

#ifndef MP_SHM_VALUE_SHARED_MEMORY_H_
#define MP_SHM_VALUE_SHARED_MEMORY_H_

#include "base/shared_memory.h"  // IWYU pragma: export

#endif  // MP_SHM_VALUE_SHARED_MEMORY_H_
