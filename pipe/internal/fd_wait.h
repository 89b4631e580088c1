// poll(2) with a Deadline: retries after EINTR without stretching the wait.

#ifndef MP_PIPE_INTERNAL_FD_WAIT_H_
#define MP_PIPE_INTERNAL_FD_WAIT_H_

#include <poll.h>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/deadline.h"

namespace mp {
namespace pipe_internal {

// Waits until one of `fds` has an event or `deadline` passes; fills in
// revents and returns how many have one (0 on timeout). An fd that is not
// open (POLLNVAL) is an error.
absl::StatusOr<int> WaitFds(absl::Span<struct pollfd> fds, Deadline deadline);

// Whether `fd` became ready for `events` (POLLIN or POLLOUT) before
// `deadline`. Hang-up and error conditions count as ready: the read or
// write that follows reports them.
absl::StatusOr<bool> WaitFd(int fd, short events, Deadline deadline);

}  // namespace pipe_internal
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_FD_WAIT_H_
