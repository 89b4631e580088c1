#include "tools/bench_util/two_party.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "tools/bench_util/bench_util.h"

namespace mp {
namespace bench {
namespace {

bool ReadFull(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

double RunTwoParties(benchmark::State& state, int64_t batch,
                     absl::FunctionRef<void(int64_t)> work) {
  int go[2], done[2];
  if (pipe(go) != 0) {
    state.SkipWithError("pipe");
    return 0;
  }
  if (pipe(done) != 0) {
    close(go[0]);
    close(go[1]);
    state.SkipWithError("pipe");
    return 0;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(go[1]);  // so that the parent's close ends the loop below
    close(done[0]);
    bench::Pin(1);
    int64_t n;
    while (ReadFull(go[0], &n, sizeof n)) {
      work(n);
      if (write(done[1], "k", 1) != 1) _exit(2);
    }
    _exit(0);
  }
  close(go[0]);
  close(done[1]);
  double seconds = 0;
  if (pid < 0) {
    state.SkipWithError("fork failed");
  } else {
    bench::Pin(0);
    for (auto _ : state) {
      auto start = std::chrono::steady_clock::now();
      if (write(go[1], &batch, sizeof batch) != sizeof batch) {
        state.SkipWithError("write");
        break;
      }
      work(batch);
      char k;
      if (!ReadFull(done[0], &k, 1)) {
        state.SkipWithError("child died");
        break;
      }
      seconds += std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count();
    }
  }
  close(go[1]);
  if (pid > 0) {
    int status;
    waitpid(pid, &status, 0);
  }
  close(done[0]);
  return state.error_occurred() ? 0 : seconds;
}

}  // namespace bench
}  // namespace mp
