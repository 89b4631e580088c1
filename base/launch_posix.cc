// The launcher on Linux: posix_spawn of /proc/self/exe, pidfds as
// sentinels, a memfd for the payload, the parent-death signal for
// kill_with_parent.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/handle.h"
#include "base/internal/launch.h"
#include "base/launch.h"
#include "base/os_error.h"
#include "base/status.h"

extern char** environ;

namespace mp {

struct ChildProcess::State {
  State(int pid, OwnedHandle pidfd) : pid(pid), pidfd(std::move(pidfd)) {}

  const int pid;
  const OwnedHandle pidfd;
  absl::Mutex mu;
  // Set once the child is reaped; from then on `pid` may belong to another
  // process, so nothing may signal or wait for it.
  std::optional<int> exit_code ABSL_GUARDED_BY(mu);
};

namespace {

int ExitCodeOf(int status) {
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

// Milliseconds for poll(): -1 for a deadline that never passes.
int PollMillis(Deadline deadline) {
  if (deadline.IsNever()) return -1;
  return static_cast<int>(
      std::min<uint32_t>(deadline.RemainingMillis(UINT32_MAX), INT_MAX));
}

// glibc 2.36's <sys/pidfd.h> lacks extern "C"; the system call is simple.
// A pidfd is always close-on-exec.
int PidfdOpen(int pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

absl::StatusOr<OwnedHandle> OpenPidfd(int pid) {
  int fd = PidfdOpen(pid);
  if (fd < 0) return LastOsError("pidfd_open");
  return OwnedHandle(fd);
}

// Reaps the child if it has ended. Requires s.mu.
absl::Status TryReap(ChildProcess::State& s)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
  if (s.exit_code.has_value()) return absl::OkStatus();
  for (;;) {
    int status;
    pid_t r = waitpid(s.pid, &status, WNOHANG);
    if (r == s.pid) {
      s.exit_code = ExitCodeOf(status);
      return absl::OkStatus();
    }
    if (r == 0) return absl::OkStatus();
    if (errno != EINTR) return LastOsError("waitpid");
  }
}

absl::Status Signal(ChildProcess::State* s, int sig) {
  if (s == nullptr) return absl::FailedPreconditionError("no process");
  absl::MutexLock lock(&s->mu);
  if (s->exit_code.has_value()) return absl::OkStatus();
  // Not reaped yet, so the pid is still this child's (a zombie at worst).
  if (kill(s->pid, sig) != 0) return LastOsError("kill");
  return absl::OkStatus();
}

// The path of this executable, for argv[0]; exec goes through
// /proc/self/exe itself, which stays right even if the file is replaced.
const std::string& SelfPath() {
  static const std::string* path = [] {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf));
    return new std::string(n > 0 ? std::string(buf, static_cast<size_t>(n))
                                 : std::string("/proc/self/exe"));
  }();
  return *path;
}

absl::Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastOsError("write");
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<OwnedHandle> MakePayload(const std::string& payload) {
  int fd = memfd_create("mp-launch-payload", MFD_CLOEXEC);
  if (fd < 0) return LastOsError("memfd_create");
  OwnedHandle h(fd);
  MP_RETURN_IF_ERROR(WriteAll(fd, payload));
  return h;
}

absl::StatusOr<std::string> ReadPayload(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return LastOsError("fstat");
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        pread(fd, &out[done], out.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastOsError("pread");
    }
    if (n == 0) return absl::DataLossError("launch payload is truncated");
    done += static_cast<size_t>(n);
  }
  return out;
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // The child gets `sources[i]` as descriptor 3 + i and no descriptor above
  // those. Each goes first to a scratch number above every source, so that
  // placing one never overwrites another that is still to be placed.
  absl::Status Arrange(const std::vector<int>& sources) {
    const int n = static_cast<int>(sources.size());
    int scratch = 3 + n;
    for (int fd : sources) scratch = std::max(scratch, fd + 1);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; ++i) {
      rc = posix_spawn_file_actions_adddup2(&actions_, sources[i], scratch + i);
    }
    for (int i = 0; i < n && rc == 0; ++i) {
      rc = posix_spawn_file_actions_adddup2(&actions_, scratch + i, 3 + i);
    }
    if (rc == 0) {
      rc = posix_spawn_file_actions_addclosefrom_np(&actions_, 3 + n);
    }
    sigset_t empty;
    sigemptyset(&empty);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr_, &empty);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK);
    if (rc != 0) return ErrnoError(rc, "posix_spawn setup");
    return absl::OkStatus();
  }

  const posix_spawnattr_t* attr() const { return &attr_; }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

}  // namespace

ChildProcess::ChildProcess() = default;
ChildProcess::ChildProcess(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
ChildProcess::ChildProcess(ChildProcess&& other) noexcept = default;
ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept = default;

ChildProcess::~ChildProcess() {
  if (state_ == nullptr) return;
  absl::MutexLock lock(&state_->mu);
  TryReap(*state_).IgnoreError();  // a destructor can only try
}

absl::StatusOr<ChildProcess> ChildProcess::Adopt(int pid) {
  MP_ASSIGN_OR_RETURN(OwnedHandle pidfd, OpenPidfd(pid));
  return ChildProcess(std::make_unique<State>(pid, std::move(pidfd)));
}

int ChildProcess::pid() const { return state_ == nullptr ? 0 : state_->pid; }

NativeHandle ChildProcess::sentinel() const {
  return state_ == nullptr ? kInvalidHandle : state_->pidfd.get();
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  if (state_ == nullptr) return absl::FailedPreconditionError("no process");
  State& s = *state_;
  const Deadline deadline = Deadline::After(timeout);
  for (;;) {
    {
      absl::MutexLock lock(&s.mu);
      MP_RETURN_IF_ERROR(TryReap(s));
      if (s.exit_code.has_value()) return *s.exit_code;
    }
    if (deadline.Expired()) {
      return TimeoutError(
          absl::StrCat("timed out waiting for process ", s.pid));
    }
    // The pidfd turns readable when the child ends; reaping stays under
    // the lock above so that only one thread ever reaps.
    pollfd p = {s.pidfd.get(), POLLIN, 0};
    if (poll(&p, 1, PollMillis(deadline)) < 0 && errno != EINTR) {
      return LastOsError("poll");
    }
  }
}

absl::Status ChildProcess::Terminate() { return Signal(state_.get(), SIGTERM); }
absl::Status ChildProcess::Kill() { return Signal(state_.get(), SIGKILL); }

absl::StatusOr<ChildProcess> LaunchSelf(const LaunchOptions& options) {
  MP_RETURN_IF_ERROR(base_internal::CheckArgs(options.args));
  for (NativeHandle h : options.handles) {
    if (fcntl(h, F_GETFD) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("LaunchSelf: handle ", h, " is not open"));
    }
  }
  OwnedHandle payload;
  std::vector<int> sources;
  base_internal::Marker marker;
  marker.parent_pid = getpid();
  marker.kill_with_parent = options.kill_with_parent;
  if (!options.payload.empty()) {
    MP_ASSIGN_OR_RETURN(payload, MakePayload(options.payload));
    marker.payload = 3;
    sources.push_back(payload.get());
  }
  for (NativeHandle h : options.handles) {
    marker.handles.push_back(3 + sources.size());
    sources.push_back(h);
  }

  std::vector<std::string> args;
  args.reserve(options.args.size() + 2);
  args.push_back(SelfPath());
  args.push_back(base_internal::FormatMarker(marker));
  args.insert(args.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  SpawnSetup setup;
  MP_RETURN_IF_ERROR(setup.Arrange(sources));
  pid_t pid;
  int rc = posix_spawn(&pid, "/proc/self/exe", setup.actions(), setup.attr(),
                       argv.data(), environ);
  if (rc != 0) return ErrnoError(rc, "posix_spawn");
  absl::StatusOr<OwnedHandle> pidfd = OpenPidfd(pid);
  if (!pidfd.ok()) {
    // Without a sentinel the child cannot be managed: end it now rather
    // than leave it running unowned.
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return pidfd.status();
  }
  return ChildProcess(
      std::make_unique<ChildProcess::State>(pid, *std::move(pidfd)));
}

namespace base_internal {

absl::Status AdoptInherited(const Marker& marker, LaunchInfo* info) {
  if (marker.kill_with_parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
      return LastOsError("prctl(PR_SET_PDEATHSIG)");
    }
    // The parent may have died before the signal was armed: then this is
    // what the signal would have done.
    if (getppid() != marker.parent_pid) raise(SIGKILL);
  }
  std::vector<uint64_t> all = marker.handles;
  if (marker.payload.has_value()) all.push_back(*marker.payload);
  for (uint64_t h : all) {
    if (h > INT_MAX || fcntl(static_cast<int>(h), F_GETFD) < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TakeLaunchInfo: inherited descriptor ", h, " is not open"));
    }
  }
  for (uint64_t h : marker.handles) {
    OwnedHandle owned(static_cast<int>(h));
    MP_RETURN_IF_ERROR(SetInheritable(owned.get(), false));
    info->handles.push_back(std::move(owned));
  }
  if (marker.payload.has_value()) {
    OwnedHandle payload(static_cast<int>(*marker.payload));
    MP_ASSIGN_OR_RETURN(info->payload, ReadPayload(payload.get()));
  }
  // Opened here rather than inherited: a pidfd names the process itself,
  // and checking getppid() afterwards proves it is still the parent's.
  int fd = PidfdOpen(static_cast<int>(marker.parent_pid));
  if (fd >= 0) {
    OwnedHandle sentinel(fd);
    if (getppid() == marker.parent_pid) {
      info->parent_sentinel = std::move(sentinel);
    }
  }
  return absl::OkStatus();
}

}  // namespace base_internal
}  // namespace mp
