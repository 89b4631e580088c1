// The smallest complete mp program: a child process puts a string into a
// queue and the parent prints it. It runs the same under the fork start
// method (Linux's default) and spawn (the only one on Windows; on Linux
// `mp::SetStartMethod("spawn")`), which is why Work is registered.
#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "process/process.h"
#include "queue/queue.h"

void Work(mp::Queue<std::string> q, int n) {
  q.Put("hello from child " + std::to_string(n)).IgnoreError();
}
MP_REGISTER(Work);  // one line per function a spawned child may run

int main(int argc, char** argv) {
  mp::ChildMain(argc, argv);  // Python's `if __name__ == "__main__":`
  absl::StatusOr<mp::Queue<std::string>> q = mp::Queue<std::string>::Create();
  if (!q.ok()) return 1;
  mp::Process p(Work, *q, 1);
  if (!p.Start().ok()) return 1;
  absl::StatusOr<std::string> message = q->Get();
  if (!message.ok()) return 1;
  std::printf("%s\n", message->c_str());
  return p.Join().ok() && p.exitcode() == 0 ? 0 : 1;
}
