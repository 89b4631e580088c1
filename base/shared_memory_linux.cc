// SharedMemory on Linux: anonymous segments are sealed memfds, named ones
// POSIX shared memory (shm_open, a file in /dev/shm).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/internal/shared_memory_impl.h"
#include "base/os_error.h"

namespace mp {
namespace {

std::string PosixName(const std::string& name) { return "/" + name; }

// Maps `size` bytes of `handle` into a new Impl.
absl::StatusOr<base_internal::ImplPtr> Map(OwnedHandle handle, size_t size,
                                           std::string name) {
  void* addr =
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, handle.get(), 0);
  if (addr == MAP_FAILED) return LastOsError("SharedMemory: mmap");
  auto impl = std::make_shared<SharedMemory::Impl>();
  impl->handle = std::move(handle);
  impl->addr = addr;
  impl->size = size;
  impl->name = std::move(name);
  return impl;
}

}  // namespace

SharedMemory::Impl::~Impl() {
  if (addr != nullptr) munmap(addr, size);
  if (creator_pid == getpid() && !unlinked.load()) {
    shm_unlink(PosixName(name).c_str());
  }
}

namespace base_internal {

absl::StatusOr<ImplPtr> CreateAnonymous(size_t size) {
  int fd = memfd_create("mp-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return LastOsError("SharedMemory: memfd_create");
  OwnedHandle handle(fd);
  if (fchmod(fd, 0600) != 0) return LastOsError("SharedMemory: fchmod");
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return LastOsError("SharedMemory: ftruncate");
  }
  // Fixed size for good: a process that receives the handle can trust that
  // the memory it maps stays backed (no SIGBUS from a shrink).
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return LastOsError("SharedMemory: fcntl(F_ADD_SEALS)");
  }
  return Map(std::move(handle), size, "");
}

absl::StatusOr<ImplPtr> CreateNamed(size_t size, const std::string& name) {
  std::string path = PosixName(name);
  int fd = shm_open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ErrnoError(errno, absl::StrCat("SharedMemory: shm_open('", name,
                                          "', O_CREAT | O_EXCL)"));
  }
  OwnedHandle handle(fd);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    absl::Status s = LastOsError("SharedMemory: ftruncate");
    shm_unlink(path.c_str());
    return s;
  }
  absl::StatusOr<ImplPtr> impl = Map(std::move(handle), size, name);
  if (!impl.ok()) {
    shm_unlink(path.c_str());
    return impl.status();
  }
  (*impl)->creator_pid = getpid();
  return impl;
}

absl::StatusOr<ImplPtr> AttachNamed(const std::string& name) {
  int fd = shm_open(PosixName(name).c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) {
    return ErrnoError(errno,
                      absl::StrCat("SharedMemory: shm_open('", name, "')"));
  }
  OwnedHandle handle(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return LastOsError("SharedMemory: fstat");
  if (st.st_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("SharedMemory: '", name, "' is empty"));
  }
  return Map(std::move(handle), static_cast<size_t>(st.st_size), name);
}

absl::StatusOr<ImplPtr> MapHandle(OwnedHandle handle, size_t size,
                                  std::string name) {
  // A memfd that may still shrink is sealed against it, before its size is
  // checked: shrunk under a mapping, it would fault (SIGBUS) the accesses
  // beyond its new end. A file that takes no seals (a named segment's) or a
  // memfd sealed in another way keeps that risk (shared_memory.h).
  const int seals = fcntl(handle.get(), F_GET_SEALS);
  if (seals >= 0 && (seals & (F_SEAL_SHRINK | F_SEAL_SEAL)) == 0 &&
      fcntl(handle.get(), F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
    return LastOsError("SharedMemory: fcntl(F_ADD_SEALS)");
  }
  struct stat st;
  if (fstat(handle.get(), &st) != 0) return LastOsError("SharedMemory: fstat");
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) < size) {
    return absl::InvalidArgumentError(
        absl::StrCat("SharedMemory: the segment has ", st.st_size,
                     " bytes, not the ", size, " expected"));
  }
  return Map(std::move(handle), size, std::move(name));
}

absl::Status UnlinkName(const std::string& name) {
  if (shm_unlink(PosixName(name).c_str()) != 0) {
    return ErrnoError(errno,
                      absl::StrCat("SharedMemory: shm_unlink('", name, "')"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> RandomId() {
  uint64_t id = 0;
  for (;;) {
    ssize_t n = getrandom(&id, sizeof id, 0);
    if (n == static_cast<ssize_t>(sizeof id)) return id;
    if (n < 0 && errno != EINTR) return LastOsError("getrandom");
  }
}

}  // namespace base_internal
}  // namespace mp
