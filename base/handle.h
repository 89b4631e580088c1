// OwnedHandle: an owning RAII wrapper for an operating-system handle, a file
// descriptor on POSIX and a HANDLE on Windows.
//
// Python's multiprocessing leaves inheritance to the OS defaults and closes
// what it remembers to; mp makes every handle it creates non-inheritable
// (O_CLOEXEC / SOCK_CLOEXEC, or bInheritHandle = FALSE) so that a child
// started by exec or CreateProcess gets only the handles it was explicitly
// handed. Handing one over is the launcher's job (base/launch.h): it makes
// exactly the listed handles inheritable for exactly one child. The codec
// (base/codec.h) carries handles in a side table so objects that own one (a
// Connection, a Lock's shared memory) can be passed as Process arguments.
//
// Example:
//
//   int fds[2];
//   if (pipe2(fds, O_CLOEXEC) != 0) return mp::LastOsError("pipe2");
//   mp::OwnedHandle read_end(fds[0]), write_end(fds[1]);
//   absl::StatusOr<mp::OwnedHandle> copy = read_end.Duplicate();

#ifndef MP_BASE_HANDLE_H_
#define MP_BASE_HANDLE_H_

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mp {

#ifdef _WIN32
using NativeHandle = void*;  // HANDLE
// INVALID_HANDLE_VALUE.
inline const NativeHandle kInvalidHandle =
    reinterpret_cast<NativeHandle>(static_cast<intptr_t>(-1));
#else
using NativeHandle = int;  // file descriptor
inline constexpr NativeHandle kInvalidHandle = -1;
#endif

// False for kInvalidHandle, and on Windows also for NULL (what
// CreateFileMapping and friends return on failure).
bool IsValidHandle(NativeHandle h);

// Whether a child process started by exec / CreateProcess inherits `h`.
absl::Status SetInheritable(NativeHandle h, bool inheritable);
absl::StatusOr<bool> IsInheritable(NativeHandle h);

class OwnedHandle {
 public:
  OwnedHandle() = default;
  explicit OwnedHandle(NativeHandle h) : h_(h) {}
  OwnedHandle(OwnedHandle&& other) noexcept : h_(other.release()) {}
  OwnedHandle& operator=(OwnedHandle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  OwnedHandle(const OwnedHandle&) = delete;
  OwnedHandle& operator=(const OwnedHandle&) = delete;
  ~OwnedHandle() { reset(); }

  NativeHandle get() const { return h_; }
  bool valid() const { return IsValidHandle(h_); }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing.
  NativeHandle release() { return std::exchange(h_, kInvalidHandle); }
  // Closes the current handle (errors ignored, as a destructor must) and
  // takes ownership of `h`.
  void reset(NativeHandle h = kInvalidHandle);
  // Closes and reports what the system said. Closing an empty handle is OK.
  absl::Status Close();

  // A second, independent handle to the same object; not inheritable.
  absl::StatusOr<OwnedHandle> Duplicate() const;

 private:
  NativeHandle h_ = kInvalidHandle;
};

}  // namespace mp

#endif  // MP_BASE_HANDLE_H_
