// The OS handle a Connection owns: an OwnedHandle that also knows whether it
// is a socket, since Windows closes sockets with closesocket(), not
// CloseHandle(), and POSIX sends on them with MSG_NOSIGNAL. (Python keeps
// the same in Connection._handle and the class: Connection for a descriptor
// or socket, PipeConnection for a Windows pipe.) Included by pipe/pipe.h for
// a member's type; not for direct use.

#ifndef MP_PIPE_INTERNAL_CONNECTION_HANDLE_H_
#define MP_PIPE_INTERNAL_CONNECTION_HANDLE_H_

#include <utility>

#include "absl/status/status.h"
#include "base/handle.h"

namespace mp {
namespace pipe_internal {

class ConnectionHandle {
 public:
  ConnectionHandle() = default;
  ConnectionHandle(OwnedHandle handle, bool socket)
      : handle_(std::move(handle)), socket_(socket) {}
  ConnectionHandle(ConnectionHandle&& other) noexcept
      : handle_(std::move(other.handle_)), socket_(other.socket_) {}
  ConnectionHandle& operator=(ConnectionHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::move(other.handle_);
      socket_ = other.socket_;
    }
    return *this;
  }
  ~ConnectionHandle() { reset(); }

  NativeHandle get() const { return handle_.get(); }
  bool valid() const { return handle_.valid(); }
  bool socket() const { return socket_; }
  void set_socket(bool socket) { socket_ = socket; }

  // Closes, ignoring errors (connection_handle_posix.cc / _win.cc).
  void reset();
  // Closes and reports what the system said; closing nothing is OK.
  absl::Status Close();

 private:
  OwnedHandle handle_;
  bool socket_ = false;
};

}  // namespace pipe_internal
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_CONNECTION_HANDLE_H_
