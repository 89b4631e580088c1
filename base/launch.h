// The launcher: the one way mp starts a child process by exec (POSIX) or
// CreateProcess (Windows). It starts this same executable again with given
// arguments, a block of startup bytes, and exactly a given list of handles
// inherited, nothing else.
//
// Python's counterpart is what the "spawn" start method does underneath
// (multiprocessing.popen_spawn_posix / popen_spawn_win32: spawnv_passfds and
// _winapi.CreateProcess with a pipe for the pickled process object). mp
// makes the handle hand-over explicit: every handle mp creates is already
// non-inheritable (base/handle.h), and the launcher hands the child exactly
// the listed ones. On Linux the child's descriptors are 0, 1, 2 and the
// listed ones renumbered from 3 (any other descriptor, even one the program
// leaked as inheritable, is closed in the child); on Windows the listed
// handles go through PROC_THREAD_ATTRIBUTE_HANDLE_LIST (with the standard
// handles, so the child writes to the same console or files).
//
// The child learns what it was given from its command line: main() checks
// IsLaunchedChild() first and takes its arguments, startup bytes and
// handles with TakeLaunchInfo(). process/ (mp::ChildMain) builds the spawn
// start method on this; tests that launch themselves do the same in their
// own main().
//
// Example:
//
//   // Parent: hand the child one end of a pipe and some bytes.
//   mp::LaunchOptions options;
//   options.args = {"worker"};
//   options.payload = "startup data";
//   options.handles = {pipe_end.get()};
//   absl::StatusOr<mp::ChildProcess> child = mp::LaunchSelf(options);
//   ...
//   absl::StatusOr<int> exit_code = child->Wait();
//
//   // Child, first thing in main():
//   if (mp::IsLaunchedChild(argc, argv)) {
//     absl::StatusOr<mp::LaunchInfo> info = mp::TakeLaunchInfo(argc, argv);
//     // info->args == {"worker"}, info->payload == "startup data",
//     // info->handles[0] is the pipe end.
//   }

#ifndef MP_BASE_LAUNCH_H_
#define MP_BASE_LAUNCH_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/handle.h"

namespace mp {

// What LaunchSelf starts.
struct LaunchOptions {
  // The child's arguments (what follows the launcher's own argument). Text
  // only: printable ASCII and spaces; bulk data goes in `payload`.
  std::vector<std::string> args;
  // Bytes the child receives in LaunchInfo::payload, of any size. They are
  // handed over in memory (a memfd / an anonymous file mapping), so
  // launching never blocks on a child that has not read them yet.
  std::string payload;
  // The handles the child inherits, in this order, and no others. They stay
  // open (and non-inheritable) in the parent.
  std::vector<NativeHandle> handles;
  // The child is killed when this process ends, however it ends (Linux: the
  // parent-death signal, set before the child's main() runs any of its own
  // code; Windows: a job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE).
  // Linux ties the parent-death signal to the *thread* that launched the
  // child: launch such children from a thread that lives as long as they
  // should (the main thread, say).
  bool kill_with_parent = false;
};

// A child process: its pid, a sentinel handle, and the means to wait for it
// and end it. All methods are thread-safe (one thread may Wait while
// another calls Terminate), except moving and destroying.
//
// Exit codes follow Python's Popen.returncode: >= 0 is the code the child
// exited with (on POSIX its low 8 bits), -N means killed by signal N. On
// Windows Terminate() and Kill() end the child with codes that come back as
// -15 (SIGTERM) and -9 (SIGKILL), as Python reports a terminated child; a
// code of 2^31 or more (an NTSTATUS such as 0xC0000005, an access
// violation) comes back as its 32-bit two's complement, a negative number.
//
// Destroying a ChildProcess that was not waited for does not stop the
// child; on POSIX it would remain a zombie when it exits. process/ keeps
// every child until it is reaped.
class ChildProcess {
 public:
  // No process.
  ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

#ifndef _WIN32
  // Takes charge of `pid`, a child this process forked and has not reaped.
  static absl::StatusOr<ChildProcess> Adopt(int pid);
#endif

  bool valid() const { return state_ != nullptr; }
  int pid() const;
  // Ready when the child has ended (Python's Process.sentinel): readable on
  // Linux (a pidfd), signalled on Windows (the process handle). Stays valid,
  // and ready, after the child is reaped, until this object is destroyed.
  NativeHandle sentinel() const;

  // Waits up to `timeout` for the child to end, reaps it and returns its
  // exit code; mp::TimeoutError() if it is still running then. Once the
  // child has ended every call returns the same code at once.
  absl::StatusOr<int> Wait(absl::Duration timeout = absl::InfiniteDuration());

  // SIGTERM / TerminateProcess. Python's Popen.terminate(): does nothing
  // (and succeeds) once the child has ended.
  absl::Status Terminate();
  // SIGKILL / TerminateProcess.
  absl::Status Kill();

  struct State;  // launch_posix.cc / launch_win.cc

 private:
  explicit ChildProcess(std::unique_ptr<State> state);
  friend absl::StatusOr<ChildProcess> LaunchSelf(const LaunchOptions&);

  std::unique_ptr<State> state_;
};

// Starts this executable again (Linux: /proc/self/exe with posix_spawn;
// Windows: GetModuleFileNameW with CreateProcessW) as `options` say. The
// child's environment and working directory are this process's; its signal
// mask is empty.
absl::StatusOr<ChildProcess> LaunchSelf(const LaunchOptions& options);

// What a launched child was given, in the child.
struct LaunchInfo {
  std::vector<std::string> args;
  std::string payload;
  // The handles of LaunchOptions::handles, in the same order, as this
  // process sees them; non-inheritable again.
  std::vector<OwnedHandle> handles;
  // The process that launched this one.
  int parent_pid = 0;
  // Ready when the parent has ended (readable pidfd on Linux, the parent's
  // process handle on Windows); invalid if the parent had already ended
  // when the child started.
  OwnedHandle parent_sentinel;
};

// Whether this process was started by LaunchSelf: argv[1] is the launcher's
// argument. Cheap; call it first thing in main().
bool IsLaunchedChild(int argc, const char* const* argv);

// Takes what the parent handed over. Call it once, early. Fails with
// kInvalidArgument if argv does not come from LaunchSelf or a handle it
// names is not open.
absl::StatusOr<LaunchInfo> TakeLaunchInfo(int argc, const char* const* argv);

}  // namespace mp

#endif  // MP_BASE_LAUNCH_H_
