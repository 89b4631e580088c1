// Child processes for the tests of packages below process/ (base, lock,
// shm_value), and what those tests share about them. A test starts this
// binary again through the launcher (base/launch.h) running a registered
// function whose arguments travel through the codec (Python's "spawn" start
// method), or, on Linux, forks and runs a closure on the copied memory
// ("fork"). These tests use the launcher directly because mp::Process sits
// above them; process/process_args_test.cc passes the same objects to
// mp::Process.
//
// Example:
//
//   int BumpChild(mp::Decoder& args) {        // runs in the child
//     mp::Lock lock;
//     if (!args.Read(lock).ok()) return 90;
//     ...
//     return 0;                                // the exit code
//   }
//   const mp::test_util::ChildRegistrar kBump("bump", &BumpChild);
//
//   TEST(..., ...) {
//     auto child = mp::test_util::SpawnChild("bump", *lock);
//     EXPECT_EQ(*child->Wait(), 0);
//   }
//
//   int main(int argc, char** argv) {
//     return mp::test_util::TestMain(argc, argv);
//   }
#ifndef MP_BASE_INTERNAL_TEST_CHILD_H_
#define MP_BASE_INTERNAL_TEST_CHILD_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/codec.h"
#include "base/handle.h"
#include "base/launch.h"

namespace mp {
namespace test_util {

// A child's work: reads its arguments, returns its exit code.
using ChildMain = int (*)(Decoder& args);

// Registers `fn` under `name`, at static initialisation.
class ChildRegistrar {
 public:
  ChildRegistrar(const char* name, ChildMain fn);
};

absl::StatusOr<ChildProcess> SpawnEncoded(
    const std::string& name, const std::string& payload,
    const std::vector<NativeHandle>& handles);

// Starts this binary again running the child `name` with `args`.
template <typename... Args>
absl::StatusOr<ChildProcess> SpawnChild(const std::string& name,
                                        const Args&... args) {
  std::string payload;
  std::vector<NativeHandle> handles;
  Encoder e(&payload, &handles);
  e.Write(args...);
  if (!e.status().ok()) return e.status();
  return SpawnEncoded(name, payload, handles);
}

#ifndef _WIN32
// Forks a child that runs `fn` and _exit()s with what it returns.
absl::StatusOr<ChildProcess> ForkChild(absl::FunctionRef<int()> fn);

// Forks a child that runs `setup` (taking locks, creating segments) and then
// sleeps until it is killed; what `setup` made stays as it left it. Returns
// the child once `setup` has returned true there; if it returned false, the
// child is killed and reaped and the result is an error.
absl::StatusOr<ChildProcess> ForkAndHold(absl::FunctionRef<bool()> setup);
#endif

// Waits for a started child and returns its exit code (-N: killed by signal
// N). A child that could not be started or waited for is a test failure and
// gives -1000 or -1001, which no child returns.
int ExitCode(absl::StatusOr<ChildProcess>& child);

// The handles of a message, duplicated as a receiving process gets them.
absl::StatusOr<std::vector<OwnedHandle>> DuplicateAll(
    const std::vector<NativeHandle>& handles);

// Encodes `value` and decodes it into `*out` as another process would
// receive it: from the bytes and duplicates of the handles sent.
template <typename T, typename U>
absl::Status SendThroughCodec(const T& value, U* out) {
  std::vector<NativeHandle> handles;
  absl::StatusOr<std::string> bytes = Encode(value, &handles);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::vector<OwnedHandle>> received = DuplicateAll(handles);
  if (!received.ok()) return received.status();
  return DecodeTo(*bytes, out, &*received);
}

// main() for a test binary with children: runs the child a launcher asked
// for, or the tests.
int TestMain(int argc, char** argv);

}  // namespace test_util
}  // namespace mp

#endif  // MP_BASE_INTERNAL_TEST_CHILD_H_
