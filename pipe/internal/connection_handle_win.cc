#include <windows.h>
#include <winsock2.h>

#include "base/os_error.h"
#include "pipe/internal/connection_handle.h"

namespace mp {
namespace pipe_internal {

void ConnectionHandle::reset() {
  if (socket_ && handle_.valid()) {
    closesocket(reinterpret_cast<SOCKET>(handle_.release()));
  }
  handle_.reset();
}

absl::Status ConnectionHandle::Close() {
  if (!socket_ || !handle_.valid()) return handle_.Close();
  if (closesocket(reinterpret_cast<SOCKET>(handle_.release())) != 0) {
    return Win32Error(WSAGetLastError(), "closesocket");
  }
  return absl::OkStatus();
}

}  // namespace pipe_internal
}  // namespace mp
