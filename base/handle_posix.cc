#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/handle.h"
#include "base/os_error.h"

namespace mp {

bool IsValidHandle(NativeHandle h) { return h >= 0; }

absl::Status SetInheritable(NativeHandle h, bool inheritable) {
  int flags = fcntl(h, F_GETFD);
  if (flags < 0) return LastOsError("fcntl(F_GETFD)");
  flags = inheritable ? (flags & ~FD_CLOEXEC) : (flags | FD_CLOEXEC);
  if (fcntl(h, F_SETFD, flags) != 0) return LastOsError("fcntl(F_SETFD)");
  return absl::OkStatus();
}

absl::StatusOr<bool> IsInheritable(NativeHandle h) {
  int flags = fcntl(h, F_GETFD);
  if (flags < 0) return LastOsError("fcntl(F_GETFD)");
  return (flags & FD_CLOEXEC) == 0;
}

void OwnedHandle::reset(NativeHandle h) {
  if (IsValidHandle(h_)) {
    // Linux closes the descriptor even when close() reports EINTR: retrying
    // could close a descriptor another thread just opened.
    ::close(h_);
  }
  h_ = h;
}

absl::Status OwnedHandle::Close() {
  if (!IsValidHandle(h_)) return absl::OkStatus();
  int fd = release();
  if (::close(fd) != 0 && errno != EINTR) return LastOsError("close");
  return absl::OkStatus();
}

absl::StatusOr<OwnedHandle> OwnedHandle::Duplicate() const {
  int fd = fcntl(h_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return LastOsError("fcntl(F_DUPFD_CLOEXEC)");
  return OwnedHandle(fd);
}

}  // namespace mp
