#include "process/internal/spawn_payload.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/codec.h"
#include "base/handle.h"
#include "base/launch.h"
#include "base/status.h"
#include "process/internal/globals.h"
#include "process/internal/registry.h"
#include "process/internal/state.h"
#include "process/internal/target.h"
#include "process/internal/type_name.h"
#include "process/process.h"

namespace mp {
namespace process_internal {
namespace {

constexpr uint32_t kSpawnMagic = 0x3150706d;  // "mpP1"

// The spawn payload's fixed part.
struct SpawnHeader {
  uint32_t magic = 0;
  std::string name;
  std::vector<int> identity;
  bool daemon = false;
  std::string authkey;
  std::string parent_name;
  // (name, file) of the registered class, or of the registered function.
  std::optional<std::pair<std::string, std::string>> class_key;
  std::optional<std::pair<std::string, std::string>> function_key;

  friend void MpEncode(Encoder& e, const SpawnHeader& h) {
    e.Write(h.magic, h.name, h.identity, h.daemon, h.authkey, h.parent_name,
            h.class_key, h.function_key);
  }
  friend absl::Status MpDecode(Decoder& d, SpawnHeader& h) {
    MP_RETURN_IF_ERROR(d.Read(h.magic));
    if (h.magic != kSpawnMagic) {
      return DecodeError("not a spawn payload of this version of mp");
    }
    return d.Read(h.name, h.identity, h.daemon, h.authkey, h.parent_name,
                  h.class_key, h.function_key);
  }
};

// Gives `s` the name, identity, daemon flag and authkey that `h` sends.
void Describe(const SpawnHeader& h, ProcessState& s) {
  s.identity = h.identity;
  absl::MutexLock lock(&s.mu);
  s.name = h.name;
  s.name_set = true;
  s.daemon = h.daemon;
  s.authkey = h.authkey;
}

}  // namespace

absl::StatusOr<std::string> EncodeSpawnPayload(
    Process& process, std::vector<NativeHandle>* handles) {
  ProcessState& state = ProcessAccess::State(process);
  const std::unique_ptr<Target>& target = ProcessAccess::TargetOf(process);
  SpawnHeader h;
  h.magic = kSpawnMagic;
  {
    absl::MutexLock lock(&state.mu);
    h.name = state.name;
    h.daemon = state.daemon;
    h.authkey = state.authkey;
  }
  h.identity = state.identity;
  {
    absl::MutexLock lock(&GlobalMutex());
    ProcessState& current = Current();
    absl::MutexLock current_lock(&current.mu);
    h.parent_name = current.name;
  }
  std::optional<ClassEntry> class_entry;
  std::optional<FunctionEntry> function_entry;
  if (typeid(process) != typeid(Process)) {
    class_entry = FindClass(typeid(process));
    if (!class_entry.has_value()) {
      std::string name = ClassName(typeid(process));
      return absl::NotFoundError(absl::StrCat(
          "Process.Start (spawn): class ", Demangle(typeid(process).name()),
          " is not registered: add MP_REGISTER_PROCESS(", name,
          "); at namespace scope"));
    }
    h.class_key = {class_entry->name, class_entry->file};
  }
  if (target != nullptr) {
    AnyFunction fn = target->function();
    if (fn == nullptr) {
      return absl::InvalidArgumentError(
          "Process.Start (spawn): the target is a lambda or function "
          "object, which the spawn start method cannot send to a new "
          "process; start it with fork, or make it a plain function "
          "registered with MP_REGISTER");
    }
    function_entry = FindFunction(fn);
    if (!function_entry.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("Process.Start (spawn): function ", FunctionName(fn),
                       " is not registered: add MP_REGISTER(<function>); "
                       "at namespace scope"));
    }
    h.function_key = {function_entry->name, function_entry->file};
  }
  std::string out;
  Encoder e(&out, handles);
  e.Write(h);
  if (class_entry.has_value()) class_entry->encode(process, e);
  if (function_entry.has_value()) function_entry->encode(*target, e);
  MP_RETURN_IF_ERROR(e.status());
  return out;
}

absl::StatusOr<std::unique_ptr<Process>> DecodeSpawnPayload(LaunchInfo& info) {
  Decoder d(info.payload, &info.handles);
  SpawnHeader h;
  MP_RETURN_IF_ERROR(d.Read(h));
  std::optional<ClassEntry> class_entry;
  std::optional<FunctionEntry> function_entry;
  if (h.class_key.has_value()) {
    class_entry = FindClass(h.class_key->first, h.class_key->second);
    if (!class_entry.has_value()) {
      return absl::NotFoundError(absl::StrCat("class ", h.class_key->first,
                                              " is not registered here"));
    }
  }
  if (h.function_key.has_value()) {
    function_entry =
        FindFunction(h.function_key->first, h.function_key->second);
    if (!function_entry.has_value()) {
      return absl::NotFoundError(absl::StrCat(
          "function ", h.function_key->first, " is not registered here"));
    }
  }
  std::unique_ptr<Process> process;
  if (class_entry.has_value()) {
    MP_ASSIGN_OR_RETURN(process, class_entry->create(d));
  } else {
    process = std::make_unique<Process>();
  }
  if (function_entry.has_value()) {
    MP_ASSIGN_OR_RETURN(ProcessAccess::TargetOf(*process),
                        function_entry->decode(function_entry->function, d));
  }
  if (d.remaining() != 0) {
    return DecodeError(
        absl::StrCat("spawn payload has ", d.remaining(), " bytes left over"));
  }

  Describe(h, ProcessAccess::State(*process));
  auto current = std::make_shared<ProcessState>(Kind::kCurrent);
  Describe(h, *current);
  auto parent = std::make_shared<ProcessState>(Kind::kParent);
  parent->creator_pid = info.parent_pid;
  {
    absl::MutexLock lock(&parent->mu);
    parent->name = h.parent_name;
    parent->pid = info.parent_pid;
    parent->sentinel = std::move(info.parent_sentinel);
  }
  BecomeSpawnedChild(std::move(current), std::move(parent));
  return process;
}

}  // namespace process_internal
}  // namespace mp
