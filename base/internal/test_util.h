// OS helpers for tests that start processes (base/launch_test.cc,
// process/'s tests and other packages' process tests): pipes, output
// capture and watching a process that is not a child.
#ifndef MP_BASE_INTERNAL_TEST_UTIL_H_
#define MP_BASE_INTERNAL_TEST_UTIL_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/handle.h"

namespace mp {
namespace test_util {

// An OS pipe (read end, write end), both non-inheritable.
std::pair<OwnedHandle, OwnedHandle> MakePipe();
bool WriteAll(NativeHandle h, absl::string_view data);
// Up to `max` bytes; empty at end of file.
std::string ReadSome(NativeHandle h, size_t max);
// Everything until end of file.
std::string ReadAll(NativeHandle h);
// One line, without its newline; what there is at end of file.
std::string ReadLine(NativeHandle h);
// ReadAll, giving up (nullopt) after `timeout`; the blocked read is then
// left behind on a detached thread.
std::optional<std::string> ReadAllWithin(NativeHandle h,
                                         absl::Duration timeout);

// A file under $TEST_TMPDIR.
std::string TempPath(absl::string_view name);

// Sends what this process writes to stdout or stderr (and what the
// children it starts write there) to a file, until Finish().
class CaptureOutput {
 public:
  enum Stream { kStdout, kStderr };
  CaptureOutput(Stream stream, const std::string& path);
  CaptureOutput(const CaptureOutput&) = delete;
  CaptureOutput& operator=(const CaptureOutput&) = delete;
  ~CaptureOutput();
  // Restores the stream and returns what was written.
  std::string Finish();

 private:
  Stream stream_;
  std::string path_;
  OwnedHandle saved_;
  bool finished_ = false;
};

// Watches a process by pid (any process, not only a child): opened while
// the process is known to run, so the pid cannot have been reused.
class ProcessWatch {
 public:
  explicit ProcessWatch(int pid);
  // Whether the process ends (or has ended) within `timeout`.
  bool WaitGone(absl::Duration timeout);

 private:
  OwnedHandle handle_;
};

// Whether a sentinel (Process::sentinel()) is ready within `timeout`.
bool SentinelReady(NativeHandle sentinel, absl::Duration timeout);

// Ends a process that is not a child (cleanup after a failed check).
void KillPid(int pid);

// Stands for a child's work: it never ends by itself.
[[noreturn]] void SleepForever();

#ifndef _WIN32
// Whether process `pid` (a child) is asleep in a futex wait, a lock's or a
// wait word's, within `timeout` (Linux: /proc/<pid>/syscall).
bool WaitUntilInFutexWait(int pid, absl::Duration timeout);

// Maps and fills `bytes` of private memory that the calling process keeps,
// so that its exit, which frees it, takes a while. A killed lock holder's
// waiters are woken early in its exit: this leaves them plenty of time to
// run while the holder is still exiting. False if the memory was refused.
bool FillMemoryToExitSlowly(size_t bytes);
#endif

}  // namespace test_util
}  // namespace mp

#endif  // MP_BASE_INTERNAL_TEST_UTIL_H_
