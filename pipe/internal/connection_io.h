// Package-private access to Connection, Listener and WaitTarget internals:
// the authkey handshake reads with a deadline, and Wait() looks at state
// (a header already read, a pipe message already taken) that the OS handle
// alone does not show.

#ifndef MP_PIPE_INTERNAL_CONNECTION_IO_H_
#define MP_PIPE_INTERNAL_CONNECTION_IO_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/deadline.h"
#include "pipe/listener.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_internal {

class ConnectionIo {
 public:
  // RecvBytes that gives up with TimeoutError at `deadline`; the connection
  // is then out of step with its peer and must be closed.
  static absl::StatusOr<std::string> RecvBytesUntil(
      Connection& c, std::optional<size_t> maxlength, Deadline deadline) {
    return c.RecvBytesUntil(maxlength, deadline);
  }

  // Wait(): wait_posix.cc / wait_win.cc.
  static absl::StatusOr<std::vector<size_t>> Wait(
      absl::Span<const WaitTarget> objects, Deadline deadline);
};

}  // namespace pipe_internal
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_CONNECTION_IO_H_
