// Win32 helpers shared by the Windows Connection, Listener and Wait():
// Winsock start-up, UTF-16 names, and "probes" -- zero-byte overlapped
// reads that complete when input arrives without consuming it (except an
// empty pipe message, which they do consume: the caller records it).

#ifndef MP_PIPE_INTERNAL_WIN_IO_H_
#define MP_PIPE_INTERNAL_WIN_IO_H_

// winsock2.h must come before windows.h.
#include <windows.h>
#include <winsock2.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/deadline.h"

namespace mp {
namespace pipe_internal {

// WSAStartup, once per process.
absl::Status EnsureWinsock();

// UTF-8 to UTF-16, for Win32's wide-character names.
std::wstring Widen(absl::string_view s);

inline DWORD WaitMillis(Deadline deadline) {
  return deadline.RemainingMillis(INFINITE);
}

// The peer's end of a pipe is gone.
inline bool IsPipeGone(DWORD error) {
  return error == ERROR_BROKEN_PIPE || error == ERROR_NO_DATA ||
         error == ERROR_PIPE_NOT_CONNECTED;
}

// Python's BrokenPipeError, the same status on every platform.
absl::Status BrokenPipe(absl::string_view what);

enum class Probe {
  kPending,       // nothing yet (or, after Finish with cancel, nothing came)
  kInput,         // a message (pipe) or data or EOF (socket) is waiting
  kEmptyMessage,  // an empty pipe message arrived, and the probe took it
  kEof,           // the pipe's peer is gone and nothing is left
};

// Starts a zero-byte read on overlapped message-mode pipe `h`; `ov` has its
// hEvent set and must stay put until the probe is finished.
absl::StatusOr<Probe> StartPipeProbe(HANDLE h, OVERLAPPED* ov);
// Waits for a pending pipe probe to end, cancelling it first if `cancel`.
absl::StatusOr<Probe> FinishPipeProbe(HANDLE h, OVERLAPPED* ov, bool cancel);

// The same on a socket: a zero-byte WSARecv.
absl::StatusOr<Probe> StartSocketProbe(SOCKET s, WSAOVERLAPPED* ov);
absl::StatusOr<Probe> FinishSocketProbe(SOCKET s, WSAOVERLAPPED* ov,
                                        bool cancel);

}  // namespace pipe_internal
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_WIN_IO_H_
