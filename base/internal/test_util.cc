#include "base/internal/test_util.h"

#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
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

// std::future rather than absl::Notification: ThreadSanitizer reports a
// false race in absl::Mutex when a thread's first wait ever is woken by
// another thread (abseil-cpp issue 1239).
std::optional<std::string> ReadAllWithin(NativeHandle h,
                                         absl::Duration timeout) {
  auto data = std::make_shared<std::promise<std::string>>();
  std::future<std::string> got = data->get_future();
  std::thread([data, h] { data->set_value(ReadAll(h)); }).detach();
  if (got.wait_for(absl::ToChronoMilliseconds(timeout)) !=
      std::future_status::ready) {
    return std::nullopt;
  }
  return got.get();
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
