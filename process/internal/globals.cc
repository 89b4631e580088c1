#include "process/internal/globals.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/launch.h"
#include "base/status.h"
#include "process/internal/state.h"
#include "process/process.h"

namespace mp {
namespace process_internal {
namespace {

// Set by the platform file's static check, before main().
std::atomic<bool> spawned_child{false};
std::atomic<bool> child_main_called{false};
// Whether this process ever started a child: if not, exiting has nobody
// to join (and a fork child skips the globals' lock on its way out).
std::atomic<bool> has_children{false};

void RemoveChild(const ProcessState* s) {
  absl::MutexLock lock(&GlobalMutex());
  std::vector<std::shared_ptr<ProcessState>>& c = G().children;
  c.erase(std::remove_if(c.begin(), c.end(),
                         [s](const std::shared_ptr<ProcessState>& p) {
                           return p.get() == s;
                         }),
          c.end());
}

void RecordExit(ProcessState& s, int code) {
  {
    absl::MutexLock lock(&s.mu);
    s.exit_code = code;
  }
  RemoveChild(&s);
}

void ExitFunctionAtExit() { ExitFunction(); }

void ComplainIfChildMainMissing() {
  if (child_main_called.load()) return;
  std::fflush(stdout);
  std::fprintf(stderr, "mp: %s\n", std::string(kMissingChildMain).c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

}  // namespace

absl::Mutex& GlobalMutex() {
  static absl::Mutex* mu = new absl::Mutex;
  return *mu;
}

Globals& G() {
  static Globals* globals = new Globals;
  return *globals;
}

ProcessState& Current() {
  Globals& g = G();
  if (g.current == nullptr) {
    g.current = std::make_shared<ProcessState>(Kind::kCurrent);
    absl::MutexLock lock(&g.current->mu);
    g.current->name = "MainProcess";
    g.current->name_set = true;
    g.current->authkey = RandomBytes(32);
  }
  return *g.current;
}

StartMethod DefaultMethod() {
  Globals& g = G();
  if (!g.default_method.has_value()) {
    g.default_method = PlatformStartMethods().front();
  }
  return *g.default_method;
}

absl::StatusOr<StartMethod> ParseStartMethod(absl::string_view name) {
  for (StartMethod m : PlatformStartMethods()) {
    if (name == StartMethodName(m)) return m;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot find context for '", name, "'"));
}

void AddChild(std::shared_ptr<ProcessState> s) {
  Globals& g = G();
  g.children.push_back(std::move(s));
  has_children = true;
  if (!g.atexit_registered) {
    g.atexit_registered = true;
    std::atexit(&ExitFunctionAtExit);
  }
}

std::shared_ptr<ChildProcess> ChildOf(ProcessState& s) {
  absl::MutexLock lock(&s.mu);
  return s.child;
}

std::optional<int> PollChild(ProcessState& s) {
  {
    absl::MutexLock lock(&s.mu);
    if (s.exit_code.has_value()) return s.exit_code;
  }
  std::shared_ptr<ChildProcess> child = ChildOf(s);
  if (child == nullptr) return std::nullopt;
  absl::StatusOr<int> code = child->Wait(absl::ZeroDuration());
  if (!code.ok()) return std::nullopt;
  RecordExit(s, *code);
  return *code;
}

absl::Status JoinChild(ProcessState& s, absl::Duration timeout) {
  {
    absl::MutexLock lock(&s.mu);
    if (s.exit_code.has_value()) return absl::OkStatus();
  }
  std::shared_ptr<ChildProcess> child = ChildOf(s);
  if (child == nullptr) return ClosedProcess();
  MP_ASSIGN_OR_RETURN(int code, child->Wait(timeout));
  RecordExit(s, code);
  return absl::OkStatus();
}

std::vector<std::shared_ptr<ProcessState>> RunningChildren() {
  std::vector<std::shared_ptr<ProcessState>> all;
  {
    absl::MutexLock lock(&GlobalMutex());
    all = G().children;
  }
  std::vector<std::shared_ptr<ProcessState>> still_running;
  for (std::shared_ptr<ProcessState>& s : all) {
    if (!PollChild(*s).has_value()) still_running.push_back(std::move(s));
  }
  return still_running;
}

absl::Status ClosedProcess() { return ClosedError("process object is closed"); }

void ExitFunction() {
  if (!has_children.load()) return;
  for (const std::shared_ptr<ProcessState>& s : RunningChildren()) {
    bool daemon;
    {
      absl::MutexLock lock(&s->mu);
      daemon = s->daemon;
    }
    std::shared_ptr<ChildProcess> child = ChildOf(*s);
    if (daemon && child != nullptr) child->Terminate().IgnoreError();
  }
  for (const std::shared_ptr<ProcessState>& s : RunningChildren()) {
    JoinChild(*s, absl::InfiniteDuration()).IgnoreError();
  }
}

void BecomeForkChild(ForkRequest& request, void (*exit_fork_child)(int code))
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // GlobalMutex is held: it was locked across fork() in the parent.
  Globals& g = G();
  g.exit_fork_child = exit_fork_child;
  // Swapped, not assigned: the parent's children (not ours) and the old
  // states stay where they are, untouched. Their locks may have been held
  // by other threads of the parent at the fork, and this process is
  // short-lived.
  g.current.swap(request.current);
  g.parent.swap(request.parent);
  g.children.swap(request.children);
  g.atexit_registered = false;
  g.counter = 0;
  has_children = false;
  GlobalMutex().Unlock();
}

void BecomeSpawnedChild(std::shared_ptr<ProcessState> current,
                        std::shared_ptr<ProcessState> parent) {
  absl::MutexLock lock(&GlobalMutex());
  Globals& g = G();
  g.current = std::move(current);
  g.parent = std::move(parent);
  // Making the Process this child runs counted as its first child.
  g.counter = 0;
}

void NoteSpawnedChild() {
  spawned_child = true;
  std::atexit(&ComplainIfChildMainMissing);
}

void NoteChildMainCalled() { child_main_called = true; }

bool ChildMainMissing() {
  return spawned_child.load() && !child_main_called.load();
}

}  // namespace process_internal
}  // namespace mp
