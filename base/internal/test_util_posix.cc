#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/handle.h"
#include "base/internal/test_util.h"

namespace mp {
namespace test_util {

std::pair<OwnedHandle, OwnedHandle> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) std::abort();
  return {OwnedHandle(fds[0]), OwnedHandle(fds[1])};
}

bool WriteAll(NativeHandle h, absl::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(h, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string ReadSome(NativeHandle h, size_t max) {
  std::string buf(max, '\0');
  ssize_t n;
  do {
    n = read(h, buf.data(), max);
  } while (n < 0 && errno == EINTR);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return buf;
}

CaptureOutput::CaptureOutput(Stream stream, const std::string& path)
    : stream_(stream), path_(path) {
  int fd = stream == kStdout ? 1 : 2;
  std::cout.flush();
  std::fflush(nullptr);
  saved_.reset(fcntl(fd, F_DUPFD_CLOEXEC, 3));
  int file = open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
  if (file < 0 || !saved_.valid()) std::abort();
  dup2(file, fd);
  close(file);
}

CaptureOutput::~CaptureOutput() {
  if (!finished_) Finish();
}

std::string CaptureOutput::Finish() {
  finished_ = true;
  std::cout.flush();
  std::fflush(nullptr);
  dup2(saved_.get(), stream_ == kStdout ? 1 : 2);
  saved_.reset();
  std::ifstream in(path_, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

namespace {

int PollMillis(absl::Duration timeout) {
  return timeout == absl::InfiniteDuration()
             ? -1
             : static_cast<int>(absl::ToInt64Milliseconds(timeout));
}

}  // namespace

bool SentinelReady(NativeHandle sentinel, absl::Duration timeout) {
  pollfd p = {sentinel, POLLIN, 0};
  return poll(&p, 1, PollMillis(timeout)) > 0;
}

ProcessWatch::ProcessWatch(int pid)
    : handle_(static_cast<int>(syscall(SYS_pidfd_open, pid, 0))) {}

bool ProcessWatch::WaitGone(absl::Duration timeout) {
  if (!handle_.valid()) return true;  // already gone when opened
  return SentinelReady(handle_.get(), timeout);
}

void KillPid(int pid) { kill(pid, SIGKILL); }

bool WaitUntilInFutexWait(int pid, absl::Duration timeout) {
  const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
  const std::string futex = std::to_string(SYS_futex) + " ";
  const absl::Time end = absl::Now() + timeout;
  for (;;) {
    // The syscall number and its arguments while the process is blocked in
    // one, "running" otherwise.
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    if (line.compare(0, futex.size(), futex) == 0) return true;
    if (absl::Now() >= end) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

bool FillMemoryToExitSlowly(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return p != MAP_FAILED;
}

}  // namespace test_util
}  // namespace mp
