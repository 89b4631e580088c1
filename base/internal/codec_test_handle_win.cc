#include <windows.h>

#include "base/handle.h"
#include "base/internal/codec_test_handle.h"
#include "base/os_error.h"

namespace mp {
namespace codec_internal {

absl::StatusOr<OwnedHandle> MakeTestHandle() {
  HANDLE h = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (h == nullptr) return LastOsError("CreateEventW");
  return OwnedHandle(h);
}

}  // namespace codec_internal
}  // namespace mp
