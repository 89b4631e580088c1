// The start methods and Context, and the module functions: CurrentProcess,
// ParentProcess, ActiveChildren, CpuCount, ChildMain and Exit.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/handle.h"
#include "base/launch.h"
#include "base/status.h"
#include "process/internal/globals.h"
#include "process/internal/spawn_payload.h"
#include "process/internal/state.h"
#include "process/process.h"

namespace mp {
namespace process_internal {
namespace {

[[noreturn]] void DieInSpawnedChild(const absl::Status& status) {
  std::fflush(stdout);
  std::fprintf(stderr, "mp: spawned child: %s\n", status.ToString().c_str());
  std::fflush(stderr);
  std::exit(1);
}

}  // namespace
}  // namespace process_internal

using process_internal::GlobalMutex;
using process_internal::ProcessState;

absl::string_view StartMethodName(StartMethod method) {
  switch (method) {
    case StartMethod::kFork:
      return "fork";
    case StartMethod::kSpawn:
      return "spawn";
  }
  return "unknown";
}

std::string Context::GetStartMethod() const {
  return std::string(StartMethodName(method_));
}

absl::StatusOr<Context> GetContext(absl::string_view method) {
  if (method.empty()) {
    absl::MutexLock lock(&GlobalMutex());
    return Context(process_internal::DefaultMethod());
  }
  MP_ASSIGN_OR_RETURN(StartMethod m,
                      process_internal::ParseStartMethod(method));
  return Context(m);
}

absl::Status SetStartMethod(absl::string_view method, bool force) {
  absl::MutexLock lock(&GlobalMutex());
  process_internal::Globals& g = process_internal::G();
  if (g.default_method.has_value() && !force) {
    return absl::FailedPreconditionError("context has already been set");
  }
  if (method.empty()) {
    if (force) {
      g.default_method.reset();
    } else {
      process_internal::DefaultMethod();
    }
    return absl::OkStatus();
  }
  MP_ASSIGN_OR_RETURN(g.default_method,
                      process_internal::ParseStartMethod(method));
  return absl::OkStatus();
}

std::string GetStartMethod() {
  absl::MutexLock lock(&GlobalMutex());
  return std::string(StartMethodName(process_internal::DefaultMethod()));
}

std::vector<std::string> GetAllStartMethods() {
  std::vector<std::string> names;
  for (StartMethod m : process_internal::PlatformStartMethods()) {
    names.emplace_back(StartMethodName(m));
  }
  return names;
}

ProcessRef CurrentProcess() {
  absl::MutexLock lock(&GlobalMutex());
  process_internal::Current();
  return ProcessRef(process_internal::G().current);
}

std::optional<ProcessRef> ParentProcess() {
  absl::MutexLock lock(&GlobalMutex());
  if (process_internal::G().parent == nullptr) return std::nullopt;
  return ProcessRef(process_internal::G().parent);
}

std::vector<ProcessRef> ActiveChildren() {
  std::vector<ProcessRef> refs;
  for (std::shared_ptr<ProcessState>& s : process_internal::RunningChildren()) {
    refs.push_back(ProcessRef(std::move(s)));
  }
  return refs;
}

int CpuCount() { return process_internal::CpuCountImpl(); }

void ChildMain(int argc, char** argv) {
  process_internal::NoteChildMainCalled();
  if (!IsLaunchedChild(argc, argv) || argc < 3 ||
      process_internal::kSpawnArg != argv[2]) {
    return;
  }
  absl::StatusOr<LaunchInfo> info = TakeLaunchInfo(argc, argv);
  if (!info.ok()) process_internal::DieInSpawnedChild(info.status());
  absl::StatusOr<std::unique_ptr<Process>> process =
      process_internal::DecodeSpawnPayload(*info);
  if (!process.ok()) process_internal::DieInSpawnedChild(process.status());
  int code = process_internal::RunChild(process->get());
  process_internal::ExitFunction();
  // A spawned child is a program of its own and exits like one (Python's
  // spawn_main ends with sys.exit): exit handlers run, streams are flushed.
  std::exit(code);
}

void Exit(int code) {
  void (*exit_fork_child)(int);
  {
    absl::MutexLock lock(&GlobalMutex());
    exit_fork_child = process_internal::G().exit_fork_child;
  }
  if (exit_fork_child != nullptr) exit_fork_child(code);
  std::exit(code);
}

}  // namespace mp
