// The state behind Process and ProcessRef, and the per-process globals
// (current process, parent, children, start method), shared by
// process/process.cc and the platform files.

#ifndef MP_PROCESS_INTERNAL_STATE_H_
#define MP_PROCESS_INTERNAL_STATE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/handle.h"
#include "base/launch.h"

namespace mp {

enum class StartMethod;
class Process;

namespace process_internal {

// What a ProcessState stands for.
enum class Kind {
  kChild,    // a Process (started or not) of this process
  kCurrent,  // this process
  kParent,   // the process that started this one
};

struct ProcessState {
  explicit ProcessState(Kind kind) : kind(kind) {}

  const Kind kind;
  absl::Mutex mu;
  std::string name ABSL_GUARDED_BY(mu);
  // Whether `name` was set by the user (else it is made from the class name
  // and the identity at Start).
  bool name_set ABSL_GUARDED_BY(mu) = false;
  // Python's _identity: the position among its ancestors' children, which
  // names it ("Process-2:1"). Fixed at construction.
  std::vector<int> identity;
  bool daemon ABSL_GUARDED_BY(mu) = false;
  std::string authkey ABSL_GUARDED_BY(mu);
  std::optional<StartMethod> start_method ABSL_GUARDED_BY(mu);
  bool started ABSL_GUARDED_BY(mu) = false;
  bool closed ABSL_GUARDED_BY(mu) = false;
  // kChild: the process that made the Process object (only it may start,
  // join or test it); kParent and kCurrent: the pid itself.
  int creator_pid = 0;
  int pid ABSL_GUARDED_BY(mu) = 0;
  // kChild: after Start, until Close. Callers copy the pointer under `mu`
  // and wait on it without the lock (ChildProcess is thread-safe), so
  // Close can drop it while another thread still waits.
  std::shared_ptr<ChildProcess> child ABSL_GUARDED_BY(mu);
  // Cached once known, and kept after Close.
  std::optional<int> exit_code ABSL_GUARDED_BY(mu);
  // kParent: ready when the parent ends; invalid if it had ended already.
  OwnedHandle sentinel;
  // The exit code of the last Run() of the target (read by the child's
  // bootstrap after Run returns).
  int run_code ABSL_GUARDED_BY(mu) = 0;
};

// ---------------------------------------------------------------------------
// Platform parts: process_posix.cc, process_win.cc.

int SelfPid();
std::string RandomBytes(size_t n);
// Flushes C stdio and the standard iostreams.
void FlushStdio();
int CpuCountImpl();
// The start methods this platform has, the default first.
std::vector<StartMethod> PlatformStartMethods();
// Blocks until `h` is ready (see ChildProcess::sentinel) or `timeout`
// passes; true if ready.
absl::StatusOr<bool> WaitReady(NativeHandle h, absl::Duration timeout);
// A name for an unregistered function in an error message.
std::string FunctionName(void (*fn)());

// What a fork child needs to become `process`, read in the parent.
struct ForkRequest {
  Process* process;
  std::string name;
  std::vector<int> identity;
  bool daemon;
  std::string authkey;
  int parent_pid;
  std::string parent_name;
};
// Forks; the child becomes `request.process` (BecomeForkChild, RunChild)
// and never returns. Called with the globals' mutex held, which the child
// releases.
absl::StatusOr<ChildProcess> Fork(const ForkRequest& request);

// ---------------------------------------------------------------------------
// Common parts (process.cc) the platform files call.

// The globals' mutex, held across fork so the child gets it in a known
// state.
absl::Mutex& GlobalMutex();
// In a fork child, with GlobalMutex held (copied locked): forgets the
// parent's children, makes `process` the current process and `parent`
// the parent, and releases the mutex.
void BecomeForkChild(const ForkRequest& request, OwnedHandle parent_sentinel);
// Runs `process` in this (child) process and exits with its exit code.
[[noreturn]] void RunChild(Process* process, bool forked);
// The launcher argument (LaunchOptions::args[0]) of a spawned Process.
inline constexpr absl::string_view kSpawnArg = "mp-process";
// Marks this process as started by the spawn start method (the platform
// file's static check saw kSpawnArg on the command line); at exit it
// complains if main() never called ChildMain.
void NoteSpawnedChild();

}  // namespace process_internal
}  // namespace mp

#endif  // MP_PROCESS_INTERNAL_STATE_H_
