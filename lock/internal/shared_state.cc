#include "lock/internal/shared_state.h"

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace mp {
namespace lock_internal {

void KeepMappedForever(const SharedMemory& shm) {
  static absl::Mutex mu(absl::kConstInit);
  static std::vector<SharedMemory>* kept ABSL_GUARDED_BY(mu) =
      new std::vector<SharedMemory>;
  absl::MutexLock lock(&mu);
  for (const SharedMemory& k : *kept) {
    if (k.data() == shm.data()) return;
  }
  kept->push_back(shm);
}

}  // namespace lock_internal
}  // namespace mp
