// The one place where operating-system error codes become absl::Status:
// mp's counterpart of Python's OSError and its errno subclasses
// (FileNotFoundError, FileExistsError, PermissionError, ...).
//
// errno values map through absl::ErrnoToStatusCode (ENOENT -> kNotFound,
// EEXIST -> kAlreadyExists, EACCES -> kPermissionDenied, EAGAIN ->
// kUnavailable, ...); Win32 codes map to the same codes for the same
// situations (see os_error_win.cc). The message is "<what>: <system text>".
// These carry no mp ErrorKind: callers that give an OS condition a Python
// meaning (EPIPE as EOFError, say) build that status from status.h instead.
//
// Example:
//
//   if (ftruncate(fd, size) != 0) return mp::ErrnoError(errno, "ftruncate");

#ifndef MP_BASE_OS_ERROR_H_
#define MP_BASE_OS_ERROR_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mp {

// `error_number` is an errno value (also the C runtime's on Windows).
absl::Status ErrnoError(int error_number, absl::string_view what);

// The calling thread's last system error: errno on POSIX, GetLastError() on
// Windows.
absl::Status LastOsError(absl::string_view what);

#ifdef _WIN32
// `code` is a Win32 error code (a DWORD).
absl::Status Win32Error(uint32_t code, absl::string_view what);
#endif

}  // namespace mp

#endif  // MP_BASE_OS_ERROR_H_
