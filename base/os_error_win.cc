#include <windows.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/os_error.h"

namespace mp {
namespace {

absl::StatusCode CodeOf(DWORD code) {
  switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_MOD_NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS:
    case ERROR_PIPE_BUSY:
      return absl::StatusCode::kAlreadyExists;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
      return absl::StatusCode::kPermissionDenied;
    case ERROR_INVALID_HANDLE:
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_NAME:
    case ERROR_BAD_LENGTH:
      return absl::StatusCode::kInvalidArgument;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_TOO_MANY_OPEN_FILES:
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_DISK_FULL:
      return absl::StatusCode::kResourceExhausted;
    case ERROR_TIMEOUT:
    case WAIT_TIMEOUT:
    case ERROR_SEM_TIMEOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED:
    case ERROR_CONNECTION_REFUSED:
    case ERROR_NETNAME_DELETED:
      return absl::StatusCode::kUnavailable;
    case ERROR_OPERATION_ABORTED:
      return absl::StatusCode::kCancelled;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
      return absl::StatusCode::kUnimplemented;
    default:
      return absl::StatusCode::kUnknown;
  }
}

std::string SystemText(DWORD code) {
  char* text = nullptr;
  DWORD n = FormatMessageA(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
          FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<char*>(&text), 0, nullptr);
  std::string s;
  if (n != 0 && text != nullptr) {
    s.assign(text, n);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' ||
                          s.back() == ' ' || s.back() == '.')) {
      s.pop_back();
    }
  }
  if (text != nullptr) LocalFree(text);
  return absl::StrFormat("%s [Win32 error %u]", s.empty() ? "system error" : s,
                         code);
}

}  // namespace

absl::Status ErrnoError(int error_number, absl::string_view what) {
  return absl::ErrnoToStatus(error_number, what);
}

absl::Status Win32Error(uint32_t code, absl::string_view what) {
  return absl::Status(CodeOf(code), absl::StrCat(what, ": ", SystemText(code)));
}

absl::Status LastOsError(absl::string_view what) {
  return Win32Error(GetLastError(), what);
}

}  // namespace mp
