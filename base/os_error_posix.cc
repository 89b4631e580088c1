#include <cerrno>

#include "base/os_error.h"

namespace mp {

absl::Status ErrnoError(int error_number, absl::string_view what) {
  return absl::ErrnoToStatus(error_number, what);
}

absl::Status LastOsError(absl::string_view what) {
  return ErrnoError(errno, what);
}

}  // namespace mp
