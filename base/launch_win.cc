// The launcher on Windows: CreateProcessW of this module with
// PROC_THREAD_ATTRIBUTE_HANDLE_LIST, an anonymous file mapping for the
// payload, a kill-on-close job object for kill_with_parent.
#include <windows.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/handle.h"
#include "base/internal/launch.h"
#include "base/launch.h"
#include "base/os_error.h"
#include "base/status.h"

namespace mp {

struct ChildProcess::State {
  State(DWORD pid, OwnedHandle process)
      : pid(pid), process(std::move(process)) {}
  const DWORD pid;
  const OwnedHandle process;
};

namespace {

// Exit codes Terminate() and Kill() give, which Wait() reports as -SIGTERM
// and -SIGKILL (Python's popen_spawn_win32 reports its TERMINATE code as
// -SIGTERM). Windows has no SIGKILL; 9 is its POSIX number.
constexpr DWORD kTerminatedBase = 0x10000;
constexpr int kSigTerm = 15;
constexpr int kSigKill = 9;

int ExitCodeOf(DWORD code) {
  if (code == kTerminatedBase + kSigTerm) return -kSigTerm;
  if (code == kTerminatedBase + kSigKill) return -kSigKill;
  return static_cast<int>(code);
}

bool Ended(HANDLE process) {
  return WaitForSingleObject(process, 0) == WAIT_OBJECT_0;
}

absl::Status End(ChildProcess::State* s, int sig) {
  if (s == nullptr) return absl::FailedPreconditionError("no process");
  if (Ended(s->process.get())) return absl::OkStatus();
  if (!TerminateProcess(s->process.get(), kTerminatedBase + sig)) {
    // It may have ended between the check and the call (Python's
    // popen_spawn_win32 makes the same allowance).
    DWORD error = GetLastError();
    if (Ended(s->process.get())) return absl::OkStatus();
    return Win32Error(error, "TerminateProcess");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::wstring> ModulePath() {
  std::wstring path(MAX_PATH, L'\0');
  for (;;) {
    DWORD n = GetModuleFileNameW(nullptr, path.data(),
                                 static_cast<DWORD>(path.size()));
    if (n == 0) return LastOsError("GetModuleFileNameW");
    if (n < path.size()) {
      path.resize(n);
      return path;
    }
    path.resize(path.size() * 2);
  }
}

// Quotes one argument so that CommandLineToArgvW and the C runtime's argv
// parsing give it back unchanged.
void AppendQuoted(const std::wstring& arg, std::wstring* out) {
  if (!out->empty()) out->push_back(L' ');
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
    out->append(arg);
    return;
  }
  out->push_back(L'"');
  size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    if (c == L'"') {
      out->append(2 * backslashes + 1, L'\\');
    } else {
      out->append(backslashes, L'\\');
    }
    backslashes = 0;
    out->push_back(c);
  }
  out->append(2 * backslashes, L'\\');
  out->push_back(L'"');
}

// Arguments are ASCII (base_internal::CheckArgs), so widening is exact.
std::wstring Widen(const std::string& s) {
  return std::wstring(s.begin(), s.end());
}

// An inheritable duplicate of `h`, for the child's handle list only: the
// original stays non-inheritable, so a CreateProcess elsewhere that
// inherits everything cannot pick it up.
absl::StatusOr<OwnedHandle> InheritableCopy(
    HANDLE h, DWORD access = 0, DWORD options = DUPLICATE_SAME_ACCESS) {
  HANDLE self = GetCurrentProcess();
  HANDLE out = nullptr;
  if (!DuplicateHandle(self, h, self, &out, access, /*bInheritHandle=*/TRUE,
                       options)) {
    return LastOsError("DuplicateHandle");
  }
  return OwnedHandle(out);
}

// The payload in an anonymous file mapping: an 8-byte length, then the
// bytes. The child maps it, copies it out and closes it.
absl::StatusOr<OwnedHandle> MakePayload(const std::string& payload) {
  const uint64_t total = 8 + static_cast<uint64_t>(payload.size());
  HANDLE mapping = CreateFileMappingW(
      INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE,
      static_cast<DWORD>(total >> 32), static_cast<DWORD>(total), nullptr);
  if (mapping == nullptr) return LastOsError("CreateFileMappingW");
  OwnedHandle owned(mapping);
  void* view = MapViewOfFile(mapping, FILE_MAP_WRITE, 0, 0, 0);
  if (view == nullptr) return LastOsError("MapViewOfFile");
  const uint64_t size = payload.size();
  std::memcpy(view, &size, 8);
  std::memcpy(static_cast<char*>(view) + 8, payload.data(), payload.size());
  UnmapViewOfFile(view);
  return owned;
}

absl::StatusOr<std::string> ReadPayload(HANDLE mapping) {
  const void* view = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
  if (view == nullptr) return LastOsError("MapViewOfFile");
  MEMORY_BASIC_INFORMATION info;
  absl::StatusOr<std::string> out;
  if (VirtualQuery(view, &info, sizeof(info)) == 0) {
    out = LastOsError("VirtualQuery");
  } else {
    uint64_t size = 0;
    if (info.RegionSize >= 8) std::memcpy(&size, view, 8);
    if (info.RegionSize < 8 || size > info.RegionSize - 8) {
      out = absl::DataLossError("launch payload is truncated");
    } else {
      out = std::string(static_cast<const char*>(view) + 8,
                        static_cast<size_t>(size));
    }
  }
  UnmapViewOfFile(view);
  return out;
}

// One job for all kill_with_parent children: it closes, and kills them,
// when this process ends.
absl::StatusOr<HANDLE> KillOnCloseJob() {
  static const absl::StatusOr<HANDLE>* job = [] {
    HANDLE h = CreateJobObjectW(nullptr, nullptr);
    if (h == nullptr) {
      return new absl::StatusOr<HANDLE>(LastOsError("CreateJobObjectW"));
    }
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = {};
    limits.BasicLimitInformation.LimitFlags =
        JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!SetInformationJobObject(h, JobObjectExtendedLimitInformation, &limits,
                                 sizeof(limits))) {
      absl::Status s = LastOsError("SetInformationJobObject");
      CloseHandle(h);
      return new absl::StatusOr<HANDLE>(s);
    }
    return new absl::StatusOr<HANDLE>(h);
  }();
  return *job;
}

// STARTUPINFOEX's attribute list with one entry, the handle list.
class HandleListAttribute {
 public:
  ~HandleListAttribute() {
    if (list_ != nullptr) DeleteProcThreadAttributeList(list_);
  }
  absl::Status Init(std::vector<HANDLE>* handles) {
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
    storage_.reset(new char[size]);
    auto* list = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(storage_.get());
    if (!InitializeProcThreadAttributeList(list, 1, 0, &size)) {
      return LastOsError("InitializeProcThreadAttributeList");
    }
    list_ = list;
    if (!UpdateProcThreadAttribute(
            list_, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handles->data(),
            handles->size() * sizeof(HANDLE), nullptr, nullptr)) {
      return LastOsError("UpdateProcThreadAttribute");
    }
    return absl::OkStatus();
  }
  LPPROC_THREAD_ATTRIBUTE_LIST get() const { return list_; }

 private:
  std::unique_ptr<char[]> storage_;
  LPPROC_THREAD_ATTRIBUTE_LIST list_ = nullptr;
};

uint64_t Value(const OwnedHandle& h) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(h.get()));
}

HANDLE FromValue(uint64_t v) {
  return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(v));
}

}  // namespace

ChildProcess::ChildProcess() = default;
ChildProcess::ChildProcess(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
ChildProcess::ChildProcess(ChildProcess&& other) noexcept = default;
ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept = default;
ChildProcess::~ChildProcess() = default;

int ChildProcess::pid() const {
  return state_ == nullptr ? 0 : static_cast<int>(state_->pid);
}

NativeHandle ChildProcess::sentinel() const {
  return state_ == nullptr ? kInvalidHandle : state_->process.get();
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  if (state_ == nullptr) return absl::FailedPreconditionError("no process");
  const Deadline deadline = Deadline::After(timeout);
  HANDLE h = state_->process.get();
  for (;;) {
    DWORD r = WaitForSingleObject(h, deadline.RemainingMillis(INFINITE));
    if (r == WAIT_OBJECT_0) break;
    if (r == WAIT_FAILED) return LastOsError("WaitForSingleObject");
    // WAIT_TIMEOUT: the millisecond count may have been clamped.
    if (deadline.Expired()) {
      return TimeoutError(
          absl::StrCat("timed out waiting for process ", state_->pid));
    }
  }
  DWORD code;
  if (!GetExitCodeProcess(h, &code)) return LastOsError("GetExitCodeProcess");
  return ExitCodeOf(code);
}

absl::Status ChildProcess::Terminate() { return End(state_.get(), kSigTerm); }
absl::Status ChildProcess::Kill() { return End(state_.get(), kSigKill); }

absl::StatusOr<ChildProcess> LaunchSelf(const LaunchOptions& options) {
  MP_RETURN_IF_ERROR(base_internal::CheckArgs(options.args));
  for (NativeHandle h : options.handles) {
    DWORD flags;
    if (!IsValidHandle(h) || !GetHandleInformation(h, &flags)) {
      return absl::InvalidArgumentError(
          absl::StrCat("LaunchSelf: handle ", reinterpret_cast<uintptr_t>(h),
                       " is not open"));
    }
  }
  MP_ASSIGN_OR_RETURN(std::wstring exe, ModulePath());

  // Inheritable copies of everything the child gets; closed when this
  // function returns, by which time the child holds its own.
  std::vector<OwnedHandle> copies;
  auto add = [&copies](absl::StatusOr<OwnedHandle> h) -> absl::Status {
    MP_ASSIGN_OR_RETURN(OwnedHandle copy, std::move(h));
    copies.push_back(std::move(copy));
    return absl::OkStatus();
  };
  base_internal::Marker marker;
  marker.parent_pid = GetCurrentProcessId();
  marker.kill_with_parent = options.kill_with_parent;
  MP_RETURN_IF_ERROR(
      add(InheritableCopy(GetCurrentProcess(),
                          SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, 0)));
  marker.parent_sentinel = Value(copies.back());
  if (!options.payload.empty()) {
    MP_ASSIGN_OR_RETURN(OwnedHandle payload, MakePayload(options.payload));
    MP_RETURN_IF_ERROR(add(InheritableCopy(payload.get())));
    marker.payload = Value(copies.back());
  }
  for (NativeHandle h : options.handles) {
    MP_RETURN_IF_ERROR(add(InheritableCopy(h)));
    marker.handles.push_back(Value(copies.back()));
  }
  STARTUPINFOEXW si = {};
  si.StartupInfo.cb = sizeof(si);
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  HANDLE* std_slots[] = {&si.StartupInfo.hStdInput, &si.StartupInfo.hStdOutput,
                         &si.StartupInfo.hStdError};
  const DWORD std_ids[] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                           STD_ERROR_HANDLE};
  for (int i = 0; i < 3; ++i) {
    HANDLE h = GetStdHandle(std_ids[i]);
    // A process without a console or redirection has none: the child
    // then has none either.
    if (!IsValidHandle(h)) continue;
    absl::StatusOr<OwnedHandle> copy = InheritableCopy(h);
    if (!copy.ok()) continue;
    *std_slots[i] = copy->get();
    copies.push_back(*std::move(copy));
  }
  std::vector<HANDLE> inherit;
  for (const OwnedHandle& h : copies) inherit.push_back(h.get());
  HandleListAttribute attribute;
  MP_RETURN_IF_ERROR(attribute.Init(&inherit));
  si.lpAttributeList = attribute.get();

  std::wstring command_line;
  AppendQuoted(exe, &command_line);
  AppendQuoted(Widen(base_internal::FormatMarker(marker)), &command_line);
  for (const std::string& arg : options.args) {
    AppendQuoted(Widen(arg), &command_line);
  }
  DWORD flags = EXTENDED_STARTUPINFO_PRESENT;
  HANDLE job = nullptr;
  if (options.kill_with_parent) {
    MP_ASSIGN_OR_RETURN(job, KillOnCloseJob());
    // Suspended until it is in the job, so it cannot outlive us before.
    flags |= CREATE_SUSPENDED;
  }
  PROCESS_INFORMATION pi = {};
  // Wine's CreateProcessW fails now and then with ERROR_INTERNAL_ERROR:
  // the new process ended before it reported to wineserver. Seen with many
  // processes starting or being killed at once (two tests of one run of the
  // Windows tests, and in queue_crash_test). Nothing was started, so a few
  // more tries are safe; any other error is returned at once.
  constexpr int kStartAttempts = 3;
  BOOL created = FALSE;
  for (int attempt = 0; !created && attempt < kStartAttempts; ++attempt) {
    if (attempt > 0) Sleep(10);
    created = CreateProcessW(exe.c_str(), command_line.data(), nullptr, nullptr,
                             /*bInheritHandles=*/TRUE, flags, nullptr, nullptr,
                             &si.StartupInfo, &pi);
    if (!created && GetLastError() != ERROR_INTERNAL_ERROR) break;
  }
  if (!created) return LastOsError("CreateProcessW");
  OwnedHandle process(pi.hProcess);
  OwnedHandle thread(pi.hThread);
  if (job != nullptr) {
    if (!AssignProcessToJobObject(job, process.get())) {
      absl::Status s = LastOsError("AssignProcessToJobObject");
      TerminateProcess(process.get(), kTerminatedBase + kSigKill);
      WaitForSingleObject(process.get(), INFINITE);
      return s;
    }
    if (ResumeThread(thread.get()) == static_cast<DWORD>(-1)) {
      absl::Status s = LastOsError("ResumeThread");
      TerminateProcess(process.get(), kTerminatedBase + kSigKill);
      WaitForSingleObject(process.get(), INFINITE);
      return s;
    }
  }
  return ChildProcess(std::make_unique<ChildProcess::State>(
      pi.dwProcessId, std::move(process)));
}

namespace base_internal {

absl::Status AdoptInherited(const Marker& marker, LaunchInfo* info) {
  std::vector<uint64_t> all = marker.handles;
  if (marker.payload.has_value()) all.push_back(*marker.payload);
  if (marker.parent_sentinel.has_value()) {
    all.push_back(*marker.parent_sentinel);
  }
  for (uint64_t v : all) {
    DWORD flags;
    if (!IsValidHandle(FromValue(v)) ||
        !GetHandleInformation(FromValue(v), &flags)) {
      return absl::InvalidArgumentError(
          absl::StrCat("TakeLaunchInfo: inherited handle ", v, " is not open"));
    }
  }
  // Inherited handles arrive inheritable; mp's handles are not.
  for (uint64_t v : marker.handles) {
    OwnedHandle owned(FromValue(v));
    MP_RETURN_IF_ERROR(SetInheritable(owned.get(), false));
    info->handles.push_back(std::move(owned));
  }
  if (marker.payload.has_value()) {
    OwnedHandle mapping(FromValue(*marker.payload));
    MP_ASSIGN_OR_RETURN(info->payload, ReadPayload(mapping.get()));
  }
  if (marker.parent_sentinel.has_value()) {
    OwnedHandle parent(FromValue(*marker.parent_sentinel));
    MP_RETURN_IF_ERROR(SetInheritable(parent.get(), false));
    info->parent_sentinel = std::move(parent);
  }
  return absl::OkStatus();
}

}  // namespace base_internal
}  // namespace mp
