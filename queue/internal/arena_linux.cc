// The arena on Linux: a memfd, sealed against shrinking, mapped in extents.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "base/os_error.h"
#include "queue/internal/arena.h"

namespace mp {
namespace queue_internal {

absl::StatusOr<OwnedHandle> Arena::CreateObject(uint64_t initial) {
  int fd = memfd_create("mp-queue", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return LastOsError("Queue: memfd_create");
  OwnedHandle handle(fd);
  if (fchmod(fd, 0600) != 0) return LastOsError("Queue: fchmod");
  // Growing stays allowed (the queue grows into it); shrinking would turn
  // every reader's mapping into SIGBUS.
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    return LastOsError("Queue: fcntl(F_ADD_SEALS)");
  }
  return handle;
}

absl::Status Arena::CheckObject() {
  // A handle that is not a shrink-sealed memfd could shrink under us.
  int seals = fcntl(handle_.get(), F_GET_SEALS);
  if (seals < 0) return LastOsError("Queue: fcntl(F_GET_SEALS)");
  if ((seals & F_SEAL_SHRINK) == 0) {
    return absl::InvalidArgumentError(
        "Queue: the handle is not a queue's arena (not sealed against "
        "shrinking)");
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Arena::QuerySize() {
  struct stat st;
  if (fstat(handle_.get(), &st) != 0) return LastOsError("Queue: fstat");
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<char*> Arena::MapExtent(int k) {
  void* p = mmap(nullptr, ExtentSize(k), PROT_READ | PROT_WRITE, MAP_SHARED,
                 handle_.get(), static_cast<off_t>(ExtentStart(k)));
  if (p == MAP_FAILED) return LastOsError("Queue: mmap");
  return static_cast<char*>(p);
}

void Arena::UnmapExtent(int k, char* base) { munmap(base, ExtentSize(k)); }

absl::Status Arena::Reserve(uint64_t end) {
  if (end > kMaxSize) {
    return absl::ResourceExhaustedError("Queue: the arena is full");
  }
  absl::StatusOr<uint64_t> now = QuerySize();
  if (!now.ok()) return now.status();
  if (*now < end && ftruncate(handle_.get(), static_cast<off_t>(end)) != 0) {
    return LastOsError("Queue: ftruncate");
  }
  uint64_t seen = known_size_.load(std::memory_order_relaxed);
  while (end > seen && !known_size_.compare_exchange_weak(seen, end)) {
  }
  return absl::OkStatus();
}

absl::Status Arena::Back(uint64_t offset, uint64_t size) {
  if (size == 0 || offset >= kMaxSize || size > kMaxSize - offset) {
    return absl::InvalidArgumentError("Queue: bad arena range");
  }
  absl::Status s = Reserve(offset + size);
  if (!s.ok()) return s;
  // Allocate the pages now, so that running out of memory is this error
  // and not a SIGBUS when a page is first written.
  int rc;
  do {
    rc = fallocate(handle_.get(), 0, static_cast<off_t>(offset),
                   static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    if (err == ENOSPC || err == ENOMEM) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "Queue: no memory left for %d more bytes of queued items", size));
    }
    return ErrnoError(err, "Queue: fallocate");
  }
  return absl::OkStatus();
}

void Arena::Release(uint64_t offset, uint64_t size) {
  fallocate(handle_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
            static_cast<off_t>(offset), static_cast<off_t>(size));
}

}  // namespace queue_internal
}  // namespace mp
