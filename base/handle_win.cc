#include <windows.h>

#include "base/handle.h"
#include "base/os_error.h"

namespace mp {

bool IsValidHandle(NativeHandle h) {
  return h != INVALID_HANDLE_VALUE && h != nullptr;
}

absl::Status SetInheritable(NativeHandle h, bool inheritable) {
  if (!SetHandleInformation(h, HANDLE_FLAG_INHERIT,
                            inheritable ? HANDLE_FLAG_INHERIT : 0)) {
    return LastOsError("SetHandleInformation");
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> IsInheritable(NativeHandle h) {
  DWORD flags = 0;
  if (!GetHandleInformation(h, &flags)) {
    return LastOsError("GetHandleInformation");
  }
  return (flags & HANDLE_FLAG_INHERIT) != 0;
}

void OwnedHandle::reset(NativeHandle h) {
  if (IsValidHandle(h_)) CloseHandle(h_);
  h_ = h;
}

absl::Status OwnedHandle::Close() {
  if (!IsValidHandle(h_)) return absl::OkStatus();
  if (!CloseHandle(release())) return LastOsError("CloseHandle");
  return absl::OkStatus();
}

absl::StatusOr<OwnedHandle> OwnedHandle::Duplicate() const {
  HANDLE out = nullptr;
  HANDLE self = GetCurrentProcess();
  if (!DuplicateHandle(self, h_, self, &out, 0, /*bInheritHandle=*/FALSE,
                       DUPLICATE_SAME_ACCESS)) {
    return LastOsError("DuplicateHandle");
  }
  return OwnedHandle(out);
}

}  // namespace mp
