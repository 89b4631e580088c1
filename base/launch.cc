// The launcher's platform-independent half: the argument that tells a
// child what it was handed.
#include "base/launch.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/internal/launch.h"
#include "base/status.h"

namespace mp {
namespace base_internal {
namespace {

std::string FormatHandle(const std::optional<uint64_t>& h) {
  return h.has_value() ? absl::StrCat(*h) : "-";
}

bool ParseHandle(absl::string_view text, std::optional<uint64_t>* out) {
  if (text == "-") {
    out->reset();
    return true;
  }
  uint64_t value;
  if (!absl::SimpleAtoi(text, &value)) return false;
  *out = value;
  return true;
}

absl::Status BadMarker(absl::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("TakeLaunchInfo: malformed launcher argument \"",
                   absl::CEscape(text), "\""));
}

}  // namespace

std::string FormatMarker(const Marker& marker) {
  return absl::StrCat(
      kFlag, marker.parent_pid, ":", marker.kill_with_parent ? 1 : 0, ":",
      FormatHandle(marker.parent_sentinel), ":", FormatHandle(marker.payload),
      ":", absl::StrJoin(marker.handles, ","));
}

absl::StatusOr<Marker> ParseMarker(absl::string_view text) {
  std::vector<absl::string_view> fields = absl::StrSplit(text, ':');
  Marker m;
  if (fields.size() != 5 || !absl::SimpleAtoi(fields[0], &m.parent_pid) ||
      (fields[1] != "0" && fields[1] != "1") ||
      !ParseHandle(fields[2], &m.parent_sentinel) ||
      !ParseHandle(fields[3], &m.payload)) {
    return BadMarker(text);
  }
  m.kill_with_parent = fields[1] == "1";
  std::vector<uint64_t> all;
  if (!fields[4].empty()) {
    for (absl::string_view h : absl::StrSplit(fields[4], ',')) {
      uint64_t value;
      if (!absl::SimpleAtoi(h, &value)) return BadMarker(text);
      m.handles.push_back(value);
      all.push_back(value);
    }
  }
  if (m.parent_sentinel.has_value()) all.push_back(*m.parent_sentinel);
  if (m.payload.has_value()) all.push_back(*m.payload);
  // Each value becomes one owner: a repeated one would be closed twice.
  std::sort(all.begin(), all.end());
  if (std::adjacent_find(all.begin(), all.end()) != all.end()) {
    return BadMarker(text);
  }
  return m;
}

absl::Status CheckArgs(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    for (char c : arg) {
      if (c < 0x20 || c > 0x7e) {
        return absl::InvalidArgumentError(
            absl::StrCat("LaunchSelf: argument \"", absl::CEscape(arg),
                         "\" is not printable ASCII (send data in the "
                         "payload)"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace base_internal

bool IsLaunchedChild(int argc, const char* const* argv) {
  return argc >= 2 && argv[1] != nullptr &&
         absl::StartsWith(argv[1], base_internal::kFlag);
}

absl::StatusOr<LaunchInfo> TakeLaunchInfo(int argc, const char* const* argv) {
  if (!IsLaunchedChild(argc, argv)) {
    return absl::InvalidArgumentError(
        "TakeLaunchInfo: this process was not started by LaunchSelf");
  }
  MP_ASSIGN_OR_RETURN(
      base_internal::Marker marker,
      base_internal::ParseMarker(
          absl::string_view(argv[1]).substr(base_internal::kFlag.size())));
  LaunchInfo info;
  info.parent_pid = static_cast<int>(marker.parent_pid);
  for (int i = 2; i < argc; ++i) info.args.emplace_back(argv[i]);
  MP_RETURN_IF_ERROR(base_internal::AdoptInherited(marker, &info));
  return info;
}

}  // namespace mp
