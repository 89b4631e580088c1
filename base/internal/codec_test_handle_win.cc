#include <windows.h>

#include "base/handle.h"
#include "base/internal/codec_test_handle.h"
#include "base/os_error.h"

namespace mp {
namespace base_internal {

absl::StatusOr<OwnedHandle> MakeTestHandle() {
  HANDLE h = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (h == nullptr) return LastOsError("CreateEventW");
  return OwnedHandle(h);
}

}  // namespace base_internal
}  // namespace mp
