#include "pipe/internal/win_io.h"

#include <cerrno>
#include <mutex>

#include "base/os_error.h"

namespace mp {
namespace pipe_internal {

absl::Status EnsureWinsock() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] {
    WSADATA data;
    result = WSAStartup(MAKEWORD(2, 2), &data);
  });
  if (result != 0) return Win32Error(result, "WSAStartup");
  return absl::OkStatus();
}

std::wstring Widen(absl::string_view s) {
  if (s.empty()) return std::wstring();
  int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()),
                              nullptr, 0);
  std::wstring out(n > 0 ? n : 0, L'\0');
  if (n > 0) {
    MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()),
                        out.data(), n);
  }
  return out;
}

absl::Status BrokenPipe(absl::string_view what) {
  return ErrnoError(EPIPE, what);
}

namespace {

absl::StatusOr<Probe> PipeOutcome(DWORD error) {
  switch (error) {
    case 0:
      return Probe::kEmptyMessage;
    case ERROR_MORE_DATA:
      return Probe::kInput;
    case ERROR_IO_PENDING:
    case ERROR_OPERATION_ABORTED:
      return Probe::kPending;
    default:
      if (IsPipeGone(error)) return Probe::kEof;
      return Win32Error(error, "ReadFile");
  }
}

}  // namespace

absl::StatusOr<Probe> StartPipeProbe(HANDLE h, OVERLAPPED* ov) {
  char unused;
  DWORD n = 0;
  if (ReadFile(h, &unused, 0, &n, ov)) return Probe::kEmptyMessage;
  return PipeOutcome(GetLastError());
}

absl::StatusOr<Probe> FinishPipeProbe(HANDLE h, OVERLAPPED* ov, bool cancel) {
  if (cancel) CancelIoEx(h, ov);
  DWORD n = 0;
  if (GetOverlappedResult(h, ov, &n, TRUE)) return Probe::kEmptyMessage;
  return PipeOutcome(GetLastError());
}

absl::StatusOr<Probe> StartSocketProbe(SOCKET s, WSAOVERLAPPED* ov) {
  char unused;
  WSABUF buf = {0, &unused};
  DWORD got = 0, flags = 0;
  if (WSARecv(s, &buf, 1, &got, &flags, ov, nullptr) == 0) {
    return Probe::kInput;
  }
  int error = WSAGetLastError();
  if (error == WSA_IO_PENDING) return Probe::kPending;
  // Reset, aborted and the like: the receive that follows reports it.
  return Probe::kInput;
}

absl::StatusOr<Probe> FinishSocketProbe(SOCKET s, WSAOVERLAPPED* ov,
                                        bool cancel) {
  if (cancel) CancelIoEx(reinterpret_cast<HANDLE>(s), ov);
  DWORD got = 0, flags = 0;
  if (WSAGetOverlappedResult(s, ov, &got, TRUE, &flags)) return Probe::kInput;
  int error = WSAGetLastError();
  if (error == WSA_OPERATION_ABORTED || error == ERROR_OPERATION_ABORTED) {
    return Probe::kPending;
  }
  return Probe::kInput;
}

}  // namespace pipe_internal
}  // namespace mp
