// The platform half of SharedMemory (shared_memory_linux.cc,
// shared_memory_win.cc); shared_memory.cc holds what is common.
#ifndef MP_BASE_INTERNAL_SHARED_MEMORY_IMPL_H_
#define MP_BASE_INTERNAL_SHARED_MEMORY_IMPL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/handle.h"
#include "base/shared_memory.h"

namespace mp {

// One mapping of a segment in this process, shared by the SharedMemory
// copies that refer to it.
struct SharedMemory::Impl {
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Unmaps, closes the handle, and removes the name if this process created
  // the segment and nobody unlinked it yet.
  ~Impl();

  OwnedHandle handle;
  void* addr = nullptr;
  size_t size = 0;
  std::string name;  // "" when anonymous
  // The process that created this named segment; only it unlinks at the end.
  int64_t creator_pid = 0;
  std::atomic<bool> unlinked{false};
};

namespace base_internal {

using ImplPtr = std::shared_ptr<SharedMemory::Impl>;

// `size` > 0 and `name` valid: checked by the caller.
absl::StatusOr<ImplPtr> CreateAnonymous(size_t size);
absl::StatusOr<ImplPtr> CreateNamed(size_t size, const std::string& name);
absl::StatusOr<ImplPtr> AttachNamed(const std::string& name);
absl::StatusOr<ImplPtr> MapHandle(OwnedHandle handle, size_t size,
                                  std::string name);
// Removes the name (POSIX), or only checks it was not given up before
// (Windows).
absl::Status UnlinkName(const std::string& name);
// 64 random bits from the system's CSPRNG.
absl::StatusOr<uint64_t> RandomId();

}  // namespace base_internal
}  // namespace mp

#endif  // MP_BASE_INTERNAL_SHARED_MEMORY_IMPL_H_
