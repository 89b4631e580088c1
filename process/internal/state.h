// The state behind Process and ProcessRef, and what the platform files
// (process_posix.cc, process_win.cc) and the common code call of each
// other.

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
#include "process/internal/target.h"

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
  // A fork child opens it on first use (OpenParentSentinel), keeping its
  // start lean.
  OwnedHandle sentinel ABSL_GUARDED_BY(mu);
  bool sentinel_pending ABSL_GUARDED_BY(mu) = false;
};

// Process's private parts, for the package's code that is not a member
// (process.cc defines them).
struct ProcessAccess {
  static ProcessState& State(Process& p);
  static std::unique_ptr<Target>& TargetOf(Process& p);
};

// ---------------------------------------------------------------------------
// Platform parts: process_posix.cc, process_win.cc.

int SelfPid();
std::string RandomBytes(size_t n);
// Flushes every C stdio stream and the standard iostreams (before a fork,
// so nothing buffered is written twice, and before a spawn, so the parent's
// earlier output comes first).
void FlushAllOutput();
int CpuCountImpl();
// The start methods this platform has, the default first.
std::vector<StartMethod> PlatformStartMethods();
// Blocks until `h` is ready (see ChildProcess::sentinel) or `timeout`
// passes; true if ready.
absl::StatusOr<bool> WaitReady(NativeHandle h, absl::Duration timeout);
// A name for an unregistered function in an error message.
std::string FunctionName(void (*fn)());
// The sentinel of the parent `parent_pid` of this fork child; invalid if
// that parent has ended.
OwnedHandle OpenParentSentinel(int parent_pid);

// What a fork child needs to become `process`, made in the parent: the
// child only swaps it in, so that it writes to as few pages as it can
// (each page it writes is copied, which is most of the cost of a fork).
struct ForkRequest {
  Process* process;
  bool daemon;
  int parent_pid;
  // The child's globals-to-be.
  std::shared_ptr<ProcessState> current;
  std::shared_ptr<ProcessState> parent;
  std::vector<std::shared_ptr<ProcessState>> children;
};
// Forks; the child becomes `request.process` (BecomeForkChild, RunChild)
// and never returns. Called with the globals' mutex held, which the child
// releases.
absl::StatusOr<ChildProcess> Fork(ForkRequest& request);

// ---------------------------------------------------------------------------
// Common parts the platform files call.

// The globals' mutex, held across fork so the child gets it in a known
// state.
absl::Mutex& GlobalMutex();
// In a fork child, with GlobalMutex held (copied locked): forgets the
// parent's children, makes `process` the current process and `parent`
// the parent, and releases the mutex.
// `exit_fork_child` is how mp::Exit ends this process from now on.
void BecomeForkChild(ForkRequest& request, void (*exit_fork_child)(int code));
// Runs `process` in this (child) process and returns its exit code.
int RunChild(Process* process);
// Python's util._exit_function: terminates the daemon children, joins all.
void ExitFunction();
// The launcher argument (LaunchOptions::args[0]) of a spawned Process.
inline constexpr absl::string_view kSpawnArg = "mp-process";
// Marks this process as started by the spawn start method (the platform
// file's static check saw kSpawnArg on the command line); at exit it
// complains if main() never called ChildMain.
void NoteSpawnedChild();

}  // namespace process_internal
}  // namespace mp

#endif  // MP_PROCESS_INTERNAL_STATE_H_
