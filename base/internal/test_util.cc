#include "base/internal/test_util.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mp {
namespace test_util {

std::string ReadAll(NativeHandle h) {
  std::string out;
  for (;;) {
    std::string chunk = ReadSome(h, 65536);
    if (chunk.empty()) return out;
    out += chunk;
  }
}

std::string ReadLine(NativeHandle h) {
  std::string line;
  for (;;) {
    std::string c = ReadSome(h, 1);
    if (c.empty() || c == "\n") return line;
    line += c;
  }
}

std::optional<std::string> ReadAllWithin(NativeHandle h,
                                         absl::Duration timeout) {
  struct Shared {
    absl::Notification done;
    std::string data;
  };
  auto shared = std::make_shared<Shared>();
  std::thread([shared, h] {
    shared->data = ReadAll(h);
    shared->done.Notify();
  }).detach();
  if (!shared->done.WaitForNotificationWithTimeout(timeout)) {
    return std::nullopt;
  }
  return shared->data;
}

std::string TempPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : ".", "/", name);
}

void SleepForever() {
  for (;;) absl::SleepFor(absl::Hours(1));
}

}  // namespace test_util
}  // namespace mp
