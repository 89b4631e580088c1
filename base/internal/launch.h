// The launcher's private parts shared by launch.cc and the platform files.
#ifndef MP_BASE_INTERNAL_LAUNCH_H_
#define MP_BASE_INTERNAL_LAUNCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/launch.h"

namespace mp {
namespace base_internal {

// argv[1] of a launched child starts with this.
inline constexpr absl::string_view kFlag = "--mp-launch=";

// What argv[1] carries after kFlag, as the child sees it: handle values are
// the child's (renumbered descriptors on Linux, inherited HANDLE values on
// Windows). Written "<parent pid>:<kill 0|1>:<parent sentinel>:<payload>:
// <h1>,<h2>,..." with "-" for a handle that is not there.
struct Marker {
  int64_t parent_pid = 0;
  bool kill_with_parent = false;
  std::optional<uint64_t> parent_sentinel;
  std::optional<uint64_t> payload;
  std::vector<uint64_t> handles;
};

std::string FormatMarker(const Marker& marker);
absl::StatusOr<Marker> ParseMarker(absl::string_view text);

// LaunchOptions::args must be printable ASCII (they cross a Windows command
// line, which the child's C runtime decodes in its own code page).
absl::Status CheckArgs(const std::vector<std::string>& args);

// The platform half of TakeLaunchInfo: turns the marker's handle values
// into owned handles, reads the payload, arranges kill_with_parent.
absl::Status AdoptInherited(const Marker& marker, LaunchInfo* info);

}  // namespace base_internal
}  // namespace mp

#endif  // MP_BASE_INTERNAL_LAUNCH_H_
