// This process's globals: who it is (the current process, its parent),
// the children it started and their join at exit, the default start
// method, and whether a spawned child's main() called mp::ChildMain.

#ifndef MP_PROCESS_INTERNAL_GLOBALS_H_
#define MP_PROCESS_INTERNAL_GLOBALS_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/launch.h"
#include "process/internal/state.h"

namespace mp {

enum class StartMethod;

namespace process_internal {

struct Globals {
  std::shared_ptr<ProcessState> current;
  std::shared_ptr<ProcessState> parent;
  // Started children not yet seen to end.
  std::vector<std::shared_ptr<ProcessState>> children;
  // Python's _process_counter: the last identity number handed out.
  int counter = 0;
  std::optional<StartMethod> default_method;
  bool atexit_registered = false;
  // Set in a fork child: ends it (mp::Exit) without the parent's exit
  // handlers.
  void (*exit_fork_child)(int code) = nullptr;
};

// The globals, guarded by GlobalMutex().
Globals& G();

// The current process's state, made on first use (as "MainProcess").
ProcessState& Current() ABSL_EXCLUSIVE_LOCKS_REQUIRED(GlobalMutex());
// The default start method, fixed on first use to the platform's default.
StartMethod DefaultMethod() ABSL_EXCLUSIVE_LOCKS_REQUIRED(GlobalMutex());
// The start method called `name` if this platform has it.
absl::StatusOr<StartMethod> ParseStartMethod(absl::string_view name);

// ---------------------------------------------------------------------------
// The children: a child's state once started, until it is seen to end.

// Publishes a started child: the list, the exit-time join.
void AddChild(std::shared_ptr<ProcessState> s)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(GlobalMutex());
// A started child's process, until Close.
std::shared_ptr<ChildProcess> ChildOf(ProcessState& s);
// The child's exit code if it has ended (reaping it), else nullopt.
std::optional<int> PollChild(ProcessState& s);
// Waits at most `timeout` for the child to end, and reaps it.
absl::Status JoinChild(ProcessState& s, absl::Duration timeout);
// Python's _cleanup() and active_children(): the children still running,
// reaping the others.
std::vector<std::shared_ptr<ProcessState>> RunningChildren();
// What a closed Process answers.
absl::Status ClosedProcess();

// ---------------------------------------------------------------------------
// A spawned child.

// In a spawned child, before it runs its Process: makes `current` the
// current process and `parent` the parent.
void BecomeSpawnedChild(std::shared_ptr<ProcessState> current,
                        std::shared_ptr<ProcessState> parent);

inline constexpr absl::string_view kMissingChildMain =
    "this program was started as a spawned child process, but its main() "
    "did not call mp::ChildMain(argc, argv) first (the counterpart of "
    "Python's `if __name__ == \"__main__\":` guard); add that line at the "
    "top of main()";
// mp::ChildMain was called.
void NoteChildMainCalled();
// Whether this process was started by the spawn start method and its
// main() has not called mp::ChildMain (see kMissingChildMain).
bool ChildMainMissing();

}  // namespace process_internal
}  // namespace mp

#endif  // MP_PROCESS_INTERNAL_GLOBALS_H_
