// Process on Linux: fork (the default start method) and spawn, pidfds,
// the parent-death signal for daemons.
#include <poll.h>
#include <signal.h>
#include <stdio_ext.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/debugging/symbolize.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/handle.h"
#include "base/launch.h"
#include "base/os_error.h"
#include "process/internal/state.h"
#include "process/process.h"

namespace mp {
namespace process_internal {
namespace {

// glibc 2.36's <sys/pidfd.h> lacks extern "C"; the system call is simple.
int PidfdOpen(int pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// Runs before main() (glibc passes a constructor the program's arguments):
// a spawned child is told apart from the start, so that a main() without
// ChildMain fails loudly instead of running the parent's program again.
__attribute__((constructor)) void DetectSpawnedChild(int argc, char** argv,
                                                     char** /*envp*/) {
  if (argv != nullptr && IsLaunchedChild(argc, argv) && argc >= 3 &&
      kSpawnArg == argv[2]) {
    NoteSpawnedChild();
  }
}

// The standard iostreams' buffers as the program started: the
// stdio_sync_filebufs that write straight through to stdout and stderr.
// A stream whose buffer differs (sync_with_stdio(false), or rdbuf()
// redirected) buffers by itself and must be flushed by itself.
std::streambuf* const initial_buffers[] = {std::cout.rdbuf(), std::cerr.rdbuf(),
                                           std::clog.rdbuf()};

void FlushChangedIostreams() {
  std::ostream* streams[] = {&std::cout, &std::cerr, &std::clog};
  for (int i = 0; i < 3; ++i) {
    if (streams[i]->rdbuf() != initial_buffers[i]) streams[i]->flush();
  }
}

// How a fork child ends: its own children first, then only what Python's
// child flushes (its standard streams), and no exit handlers or static
// destructors of the parent's (Python's os._exit). Flushing only streams
// with data pending keeps the child from writing to pages it would
// otherwise not touch, each of which costs a copy after fork.
[[noreturn]] void ExitForkChild(int code) {
  ExitFunction();
  FlushChangedIostreams();
  if (__fpending(stdout) > 0) std::fflush(stdout);
  if (__fpending(stderr) > 0) std::fflush(stderr);
  std::_Exit(code);
}

}  // namespace

int SelfPid() { return getpid(); }

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t r = getrandom(&out[done], n - done, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      // No entropy source at all: an authkey must still differ between
      // unrelated runs, which this does.
      uint64_t seed = static_cast<uint64_t>(getpid()) ^
                      static_cast<uint64_t>(Deadline::NowNanos());
      for (; done < n; ++done) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        out[done] = static_cast<char>(seed >> 56);
      }
      break;
    }
    done += static_cast<size_t>(r);
  }
  return out;
}

void FlushAllOutput() {
  FlushChangedIostreams();
  std::fflush(nullptr);
}

int CpuCountImpl() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : static_cast<int>(std::min<long>(n, INT_MAX));
}

std::vector<StartMethod> PlatformStartMethods() {
  return {StartMethod::kFork, StartMethod::kSpawn};
}

absl::StatusOr<bool> WaitReady(NativeHandle h, absl::Duration timeout) {
  const Deadline deadline = Deadline::After(timeout);
  for (;;) {
    int ms = deadline.IsNever()
                 ? -1
                 : static_cast<int>(std::min<uint32_t>(
                       deadline.RemainingMillis(UINT32_MAX), INT_MAX));
    pollfd p = {h, POLLIN, 0};
    int r = poll(&p, 1, ms);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return LastOsError("poll");
    if (r == 0 && deadline.Expired()) return false;
  }
}

std::string FunctionName(void (*fn)()) {
  char name[1024];
  if (absl::Symbolize(reinterpret_cast<const void*>(fn), name, sizeof(name))) {
    return absl::StrCat("\"", name, "\"");
  }
  return absl::StrCat("at ", absl::Hex(reinterpret_cast<uintptr_t>(fn)));
}

OwnedHandle OpenParentSentinel(int parent_pid) {
  OwnedHandle sentinel(PidfdOpen(parent_pid));
  // Reparented: the parent has ended, and the pid may be another's now.
  if (getppid() != parent_pid) sentinel.reset();
  return sentinel;
}

absl::StatusOr<ChildProcess> Fork(ForkRequest& request) {
  FlushAllOutput();
  pid_t pid = fork();
  if (pid < 0) return LastOsError("fork");
  if (pid == 0) {
    if (request.daemon) {
      // A daemon dies with its parent, even one killed outright. If the
      // parent died before the signal was armed, this is what it would
      // have done.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != request.parent_pid) raise(SIGKILL);
    }
    BecomeForkChild(request, &ExitForkChild);
    ExitForkChild(RunChild(request.process));
  }
  absl::StatusOr<ChildProcess> child = ChildProcess::Adopt(pid);
  if (!child.ok()) {
    // Without a sentinel the child cannot be managed: end it now rather
    // than leave it running unowned.
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  return child;
}

}  // namespace process_internal
}  // namespace mp
