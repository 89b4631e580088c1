#include <poll.h>
#include <time.h>

#include <cerrno>

#include "absl/time/time.h"
#include "base/os_error.h"
#include "base/status.h"
#include "pipe/internal/fd_wait.h"

namespace mp {
namespace pipe_internal {

absl::StatusOr<int> WaitFds(absl::Span<struct pollfd> fds, Deadline deadline) {
  while (true) {
    struct timespec ts;
    struct timespec* timeout = nullptr;
    if (!deadline.IsNever()) {
      ts = absl::ToTimespec(deadline.Remaining());
      timeout = &ts;
    }
    int n = ppoll(fds.data(), fds.size(), timeout, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastOsError("poll");
    }
    for (const struct pollfd& p : fds) {
      if (p.revents & POLLNVAL) {
        return absl::InvalidArgumentError("wait: a handle is not open");
      }
    }
    if (n > 0 || deadline.Expired()) return n;
  }
}

absl::StatusOr<bool> WaitFd(int fd, short events, Deadline deadline) {
  struct pollfd p = {fd, events, 0};
  MP_ASSIGN_OR_RETURN(int n, WaitFds(absl::MakeSpan(&p, 1), deadline));
  return n > 0;
}

}  // namespace pipe_internal
}  // namespace mp
