// POSIX Wait(): one poll(2) over every object's descriptor.
#include <poll.h>

#include <vector>

#include "base/status.h"
#include "pipe/internal/connection_io.h"
#include "pipe/internal/fd_wait.h"
#include "pipe/listener.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_internal {

absl::StatusOr<std::vector<size_t>> ConnectionIo::Wait(
    absl::Span<const WaitTarget> objects, Deadline deadline) {
  std::vector<struct pollfd> fds(objects.size());
  // Ready before any system call: a connection holding a message header it
  // already read.
  std::vector<bool> ready_now(objects.size(), false);
  bool any_ready_now = false;
  for (size_t i = 0; i < objects.size(); ++i) {
    const WaitTarget& t = objects[i];
    int fd = kInvalidHandle;
    switch (t.kind_) {
      case WaitTarget::Kind::kConnection:
        if (t.connection_->closed()) return ClosedError();
        fd = t.connection_->handle();
        if (t.connection_->pending_length_.has_value()) {
          ready_now[i] = any_ready_now = true;
        }
        break;
      case WaitTarget::Kind::kListener: {
        MP_ASSIGN_OR_RETURN(fd, t.listener_->WaitHandle());
        break;
      }
      case WaitTarget::Kind::kHandle:
        fd = t.handle_;
        break;
    }
    if (!IsValidHandle(fd)) {
      return absl::InvalidArgumentError("wait: invalid handle");
    }
    fds[i] = {fd, POLLIN, 0};
  }
  MP_RETURN_IF_ERROR(
      WaitFds(absl::MakeSpan(fds), any_ready_now ? Deadline::Now() : deadline)
          .status());
  std::vector<size_t> ready;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (ready_now[i] || (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
      ready.push_back(i);
    }
  }
  return ready;
}

}  // namespace pipe_internal
}  // namespace mp
