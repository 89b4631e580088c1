#include "pipe/internal/connection_handle.h"

namespace mp {
namespace pipe_internal {

// A descriptor closes the same way whatever it is.
void ConnectionHandle::reset() { handle_.reset(); }

absl::Status ConnectionHandle::Close() { return handle_.Close(); }

}  // namespace pipe_internal
}  // namespace mp
