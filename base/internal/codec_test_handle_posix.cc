#include <fcntl.h>

#include "base/handle.h"
#include "base/internal/codec_test_handle.h"
#include "base/os_error.h"

namespace mp {
namespace base_internal {

absl::StatusOr<OwnedHandle> MakeTestHandle() {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LastOsError("open(/dev/null)");
  return OwnedHandle(fd);
}

}  // namespace base_internal
}  // namespace mp
