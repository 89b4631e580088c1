// Process, and the running of one in a child: everything of it but the
// platform parts (process_posix.cc, process_win.cc), the spawn payload
// (internal/spawn_payload.cc) and the launcher (base/launch.h).
#include "process/process.h"

#include <cxxabi.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/handle.h"
#include "base/launch.h"
#include "base/status.h"
#include "process/internal/globals.h"
#include "process/internal/spawn_payload.h"
#include "process/internal/state.h"
#include "process/internal/target.h"
#include "process/internal/type_name.h"

namespace mp {
namespace process_internal {

ProcessState& ProcessAccess::State(Process& p) { return *p.state_; }

std::unique_ptr<Target>& ProcessAccess::TargetOf(Process& p) {
  return p.target_;
}

namespace {

// The exit code the last Run() of a target gave, for RunChild.
std::atomic<int> run_code{0};
// In a child: the state of the Process it runs, which is this process (its
// pid() is this pid, as Python's is for the current process).
std::atomic<const ProcessState*> running{nullptr};

// What Python prints for a child that failed.
void ReportFailure(const std::string& name, const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "Process %s:\n%s\n", name.c_str(), what.c_str());
  std::fflush(stderr);
}

}  // namespace

int RunChild(Process* process) {
  running = &ProcessAccess::State(*process);
  run_code = 0;
  try {
    process->Run();
    return run_code;
  } catch (const std::exception& e) {
    ReportFailure(process->name(),
                  absl::StrCat(Demangle(typeid(e).name()), ": ", e.what()));
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    ReportFailure(
        process->name(),
        absl::StrCat("uncaught exception of type ",
                     type == nullptr ? "unknown" : Demangle(type->name())));
  }
  return 1;
}

}  // namespace process_internal

using process_internal::GlobalMutex;
using process_internal::Kind;
using process_internal::ProcessState;

// ---------------------------------------------------------------------------
// Process

Process::Process() : Process(std::unique_ptr<process_internal::Target>()) {}

Process::Process(std::unique_ptr<process_internal::Target> target)
    : state_(std::make_shared<ProcessState>(Kind::kChild)),
      target_(std::move(target)) {
  state_->creator_pid = process_internal::SelfPid();
  absl::MutexLock lock(&GlobalMutex());
  ProcessState& current = process_internal::Current();
  state_->identity = current.identity;
  state_->identity.push_back(++process_internal::G().counter);
  absl::MutexLock current_lock(&current.mu);
  absl::MutexLock state_lock(&state_->mu);
  state_->daemon = current.daemon;
  state_->authkey = current.authkey;
}

Process::Process(Process&& other) noexcept = default;
Process& Process::operator=(Process&& other) noexcept = default;
Process::~Process() {
  // A child that has ended is reaped now rather than at the next Start;
  // one still running stays in the registry until it ends.
  if (state_ != nullptr && state_->creator_pid == process_internal::SelfPid()) {
    process_internal::PollChild(*state_);
  }
}

std::string Process::DefaultName() const {
  return absl::StrCat(process_internal::ClassName(typeid(*this)), "-",
                      absl::StrJoin(state_->identity, ":"));
}

std::string Process::name() const {
  if (state_ == nullptr) return "";
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->name_set) return state_->name;
  }
  return DefaultName();
}

void Process::set_name(std::string name) {
  if (state_ == nullptr) return;
  absl::MutexLock lock(&state_->mu);
  state_->name = std::move(name);
  state_->name_set = true;
}

bool Process::daemon() const {
  if (state_ == nullptr) return false;
  absl::MutexLock lock(&state_->mu);
  return state_->daemon;
}

absl::Status Process::set_daemon(bool daemonic) {
  if (state_ == nullptr) return EmptyObjectError("Process.set_daemon");
  absl::MutexLock lock(&state_->mu);
  if (state_->started) {
    return absl::FailedPreconditionError("process has already started");
  }
  state_->daemon = daemonic;
  return absl::OkStatus();
}

absl::Status Process::set_start_method(StartMethod method) {
  if (state_ == nullptr) return EmptyObjectError("Process.set_start_method");
  MP_RETURN_IF_ERROR(
      process_internal::ParseStartMethod(StartMethodName(method)).status());
  absl::MutexLock lock(&state_->mu);
  if (state_->started) {
    return absl::FailedPreconditionError("process has already started");
  }
  state_->start_method = method;
  return absl::OkStatus();
}

std::optional<int> Process::pid() const {
  if (state_ == nullptr) return std::nullopt;
  if (state_.get() == process_internal::running.load()) {
    return process_internal::SelfPid();
  }
  absl::MutexLock lock(&state_->mu);
  if (!state_->started) return std::nullopt;
  return state_->pid;
}

std::optional<int> Process::exitcode() const {
  if (state_ == nullptr) return std::nullopt;
  return process_internal::PollChild(*state_);
}

NativeHandle Process::sentinel() const {
  if (state_ == nullptr) return kInvalidHandle;
  std::shared_ptr<ChildProcess> child = process_internal::ChildOf(*state_);
  return child == nullptr ? kInvalidHandle : child->sentinel();
}

std::string Process::authkey() const {
  if (state_ == nullptr) return "";
  absl::MutexLock lock(&state_->mu);
  return state_->authkey;
}

void Process::set_authkey(std::string key) {
  if (state_ == nullptr) return;
  absl::MutexLock lock(&state_->mu);
  state_->authkey = std::move(key);
}

absl::Status Process::Start() {
  if (state_ == nullptr) return EmptyObjectError("Process.Start");
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->closed) return process_internal::ClosedProcess();
    if (state_->started) {
      return absl::FailedPreconditionError("cannot start a process twice");
    }
  }
  if (state_->creator_pid != process_internal::SelfPid()) {
    return absl::FailedPreconditionError(
        "can only start a process object created by current process");
  }
  if (process_internal::ChildMainMissing()) {
    return absl::FailedPreconditionError(process_internal::kMissingChildMain);
  }
  StartMethod method;
  {
    absl::MutexLock lock(&GlobalMutex());
    ProcessState& current = process_internal::Current();
    absl::MutexLock current_lock(&current.mu);
    if (current.daemon) {
      return absl::FailedPreconditionError(
          "daemonic processes are not allowed to have children");
    }
    method = process_internal::DefaultMethod();
  }
  process_internal::RunningChildren();  // Python's _cleanup()
  bool name_set;
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->start_method.has_value()) method = *state_->start_method;
    name_set = state_->name_set;
  }
  if (!name_set) set_name(DefaultName());
  MP_RETURN_IF_ERROR(method == StartMethod::kFork ? StartFork() : StartSpawn());
  // The parent's copies of the target and its arguments go (Python's `del
  // self._target, self._args`): handles moved into the Process close here.
  target_.reset();
  return absl::OkStatus();
}

absl::Status Process::StartFork() {
  using process_internal::ForkRequest;
  ForkRequest request;
  request.process = this;
  request.parent_pid = process_internal::SelfPid();
  request.current = std::make_shared<ProcessState>(Kind::kCurrent);
  request.current->identity = state_->identity;
  {
    absl::MutexLock lock(&state_->mu);
    absl::MutexLock current_lock(&request.current->mu);
    request.current->name = state_->name;
    request.current->name_set = true;
    request.current->daemon = state_->daemon;
    request.current->authkey = state_->authkey;
    request.daemon = state_->daemon;
  }
  request.parent = std::make_shared<ProcessState>(Kind::kParent);
  request.parent->creator_pid = request.parent_pid;
  GlobalMutex().Lock();
  {
    ProcessState& current = process_internal::Current();
    absl::MutexLock lock(&current.mu);
    absl::MutexLock parent_lock(&request.parent->mu);
    request.parent->name = current.name;
    request.parent->pid = request.parent_pid;
    request.parent->sentinel_pending = true;
  }
  // Only the parent returns.
  absl::StatusOr<ChildProcess> child = process_internal::Fork(request);
  if (!child.ok()) {
    GlobalMutex().Unlock();
    return child.status();
  }
  {
    absl::MutexLock lock(&state_->mu);
    state_->pid = child->pid();
    state_->child = std::make_shared<ChildProcess>(*std::move(child));
    state_->started = true;
  }
  process_internal::AddChild(state_);
  GlobalMutex().Unlock();
  return absl::OkStatus();
}

absl::Status Process::StartSpawn() {
  std::vector<NativeHandle> handles;
  MP_ASSIGN_OR_RETURN(std::string payload,
                      process_internal::EncodeSpawnPayload(*this, &handles));
  LaunchOptions options;
  options.args = {std::string(process_internal::kSpawnArg)};
  options.payload = std::move(payload);
  options.handles = std::move(handles);
  {
    absl::MutexLock lock(&state_->mu);
    options.kill_with_parent = state_->daemon;
  }
  // Not needed against duplication (nothing is copied), but it keeps the
  // parent's earlier output ahead of the child's, as under fork.
  process_internal::FlushAllOutput();
  absl::StatusOr<ChildProcess> child = LaunchSelf(options);
  if (!child.ok()) return child.status();
  {
    absl::MutexLock lock(&state_->mu);
    state_->pid = child->pid();
    state_->child = std::make_shared<ChildProcess>(*std::move(child));
    state_->started = true;
  }
  absl::MutexLock lock(&GlobalMutex());
  process_internal::AddChild(state_);
  return absl::OkStatus();
}

void Process::Run() {
  if (target_ == nullptr) return;
  absl::Status error;
  int code = target_->Call(&error);
  if (!error.ok()) {
    process_internal::ReportFailure(name(), error.ToString());
    code = 1;
  }
  process_internal::run_code = code;
}

absl::Status Process::Join(absl::Duration timeout) {
  if (state_ == nullptr) return EmptyObjectError("Process.Join");
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->closed) return process_internal::ClosedProcess();
  }
  if (state_->creator_pid != process_internal::SelfPid()) {
    return absl::FailedPreconditionError("can only join a child process");
  }
  {
    absl::MutexLock lock(&state_->mu);
    if (!state_->started) {
      return absl::FailedPreconditionError("can only join a started process");
    }
  }
  return process_internal::JoinChild(*state_, timeout);
}

bool Process::IsAlive() const {
  if (state_ == nullptr) return false;
  if (state_.get() == process_internal::running.load()) return true;
  {
    absl::MutexLock lock(&state_->mu);
    if (!state_->started || state_->closed) return false;
  }
  return ProcessRef(state_).IsAlive();
}

absl::Status Process::Terminate() {
  if (state_ == nullptr) return EmptyObjectError("Process.Terminate");
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->closed) return process_internal::ClosedProcess();
    if (!state_->started) {
      return absl::FailedPreconditionError(
          "can only terminate a started process");
    }
  }
  return ProcessRef(state_).Terminate();
}

absl::Status Process::Kill() {
  if (state_ == nullptr) return EmptyObjectError("Process.Kill");
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->closed) return process_internal::ClosedProcess();
    if (!state_->started) {
      return absl::FailedPreconditionError("can only kill a started process");
    }
  }
  return ProcessRef(state_).Kill();
}

absl::Status Process::Close() {
  if (state_ == nullptr) return EmptyObjectError("Process.Close");
  bool started;
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->closed) return absl::OkStatus();
    started = state_->started;
  }
  if (started) {
    if (state_->creator_pid != process_internal::SelfPid()) {
      return absl::FailedPreconditionError("can only close a child process");
    }
    if (!process_internal::PollChild(*state_).has_value()) {
      return absl::FailedPreconditionError(
          "Cannot close a process while it is still running. You should "
          "first call join() or terminate().");
    }
  }
  absl::MutexLock lock(&state_->mu);
  state_->closed = true;
  state_->child.reset();
  target_.reset();
  return absl::OkStatus();
}

}  // namespace mp
