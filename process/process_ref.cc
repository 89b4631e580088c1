// ProcessRef: this process, its parent or one of its children.
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/handle.h"
#include "base/launch.h"
#include "base/status.h"
#include "process/internal/globals.h"
#include "process/internal/state.h"
#include "process/process.h"

namespace mp {
namespace process_internal {
namespace {

// A parent's sentinel, opened on first use in a fork child.
NativeHandle ParentSentinel(ProcessState& s) {
  absl::MutexLock lock(&s.mu);
  if (s.sentinel_pending) {
    s.sentinel = OpenParentSentinel(s.pid);
    s.sentinel_pending = false;
  }
  return s.sentinel.get();
}

}  // namespace
}  // namespace process_internal

using process_internal::Kind;

std::string ProcessRef::name() const {
  if (state_ == nullptr) return "";
  absl::MutexLock lock(&state_->mu);
  return state_->name;
}

int ProcessRef::pid() const {
  if (state_ == nullptr) return 0;
  if (state_->kind == Kind::kCurrent) return process_internal::SelfPid();
  absl::MutexLock lock(&state_->mu);
  return state_->pid;
}

bool ProcessRef::daemon() const {
  if (state_ == nullptr) return false;
  absl::MutexLock lock(&state_->mu);
  return state_->daemon;
}

std::string ProcessRef::authkey() const {
  if (state_ == nullptr) return "";
  absl::MutexLock lock(&state_->mu);
  return state_->authkey;
}

std::optional<int> ProcessRef::exitcode() const {
  if (state_ == nullptr || state_->kind != Kind::kChild) return std::nullopt;
  return process_internal::PollChild(*state_);
}

NativeHandle ProcessRef::sentinel() const {
  if (state_ == nullptr) return kInvalidHandle;
  switch (state_->kind) {
    case Kind::kChild: {
      std::shared_ptr<ChildProcess> child = process_internal::ChildOf(*state_);
      return child == nullptr ? kInvalidHandle : child->sentinel();
    }
    case Kind::kParent:
      return process_internal::ParentSentinel(*state_);
    case Kind::kCurrent:
      break;
  }
  return kInvalidHandle;
}

bool ProcessRef::IsAlive() const {
  if (state_ == nullptr) return false;
  switch (state_->kind) {
    case Kind::kCurrent:
      return true;
    case Kind::kParent: {
      NativeHandle sentinel = process_internal::ParentSentinel(*state_);
      if (!IsValidHandle(sentinel)) return false;
      absl::StatusOr<bool> ended =
          process_internal::WaitReady(sentinel, absl::ZeroDuration());
      return ended.ok() && !*ended;
    }
    case Kind::kChild:
      break;
  }
  if (state_->creator_pid != process_internal::SelfPid()) return false;
  return !process_internal::PollChild(*state_).has_value();
}

absl::Status ProcessRef::Join(absl::Duration timeout) const {
  if (state_ == nullptr) return EmptyObjectError("ProcessRef.Join");
  switch (state_->kind) {
    case Kind::kCurrent:
      return absl::FailedPreconditionError("can only join a child process");
    case Kind::kParent: {
      NativeHandle sentinel = process_internal::ParentSentinel(*state_);
      if (!IsValidHandle(sentinel)) return absl::OkStatus();
      MP_ASSIGN_OR_RETURN(bool ended,
                          process_internal::WaitReady(sentinel, timeout));
      if (!ended) {
        return TimeoutError(
            absl::StrCat("timed out joining the parent ", state_->creator_pid));
      }
      return absl::OkStatus();
    }
    case Kind::kChild:
      break;
  }
  if (state_->creator_pid != process_internal::SelfPid()) {
    return absl::FailedPreconditionError("can only join a child process");
  }
  return process_internal::JoinChild(*state_, timeout);
}

absl::Status ProcessRef::Terminate() const {
  if (state_ == nullptr) return EmptyObjectError("ProcessRef.Terminate");
  if (state_->kind != Kind::kChild ||
      state_->creator_pid != process_internal::SelfPid()) {
    return absl::FailedPreconditionError("can only terminate a child process");
  }
  std::shared_ptr<ChildProcess> child = process_internal::ChildOf(*state_);
  if (child == nullptr) return process_internal::ClosedProcess();
  return child->Terminate();
}

absl::Status ProcessRef::Kill() const {
  if (state_ == nullptr) return EmptyObjectError("ProcessRef.Kill");
  if (state_->kind != Kind::kChild ||
      state_->creator_pid != process_internal::SelfPid()) {
    return absl::FailedPreconditionError("can only kill a child process");
  }
  std::shared_ptr<ChildProcess> child = process_internal::ChildOf(*state_);
  if (child == nullptr) return process_internal::ClosedProcess();
  return child->Kill();
}

}  // namespace mp
