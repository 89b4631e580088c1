// Helpers for pipe/'s tests: a Pipe() that must succeed, fresh addresses to
// listen on, and CPython's test_wait loop, which both the fork tests and
// the Process tests run.
#ifndef MP_PIPE_INTERNAL_TEST_UTIL_H_
#define MP_PIPE_INTERNAL_TEST_UTIL_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pipe/listener.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_test {

// Pipe(duplex); a failure fails the test.
std::pair<Connection, Connection> MakePipe(bool duplex = true);

// The kinds of address the tests listen on.
enum class AddressKind { kTcp, kUnixPath, kAbstract, kNamedPipe };

// "Tcp", "UnixPath", "Abstract", "NamedPipe": for test names.
std::string KindName(AddressKind kind);

// `prefix`, a tag random to this process and a counter: a name no other
// test process uses, even one with the same pid in another sandbox (Bazel's
// sandboxes number their processes alike, but share /tmp and the abstract
// socket namespace).
std::string UniqueName(absl::string_view prefix);

// A fresh address of `kind` that nobody listens on yet (TCP: port 0 on
// 127.0.0.1).
Address FreshAddress(AddressKind kind);

// A Unix socket path for `name` under $TEST_TMPDIR, or under /tmp where that
// would not fit a socket address (108 bytes).
std::string SocketPath(absl::string_view name);

// One message as (sender, n).
using RecvPair =
    std::function<absl::StatusOr<std::pair<int, int>>(Connection&)>;

// CPython's test_wait: Wait() on `readers` until each has reached EOF,
// taking one message with `recv` from each ready reader. Sender i writes to
// readers[i] only. Returns each sender's numbers in the order they came.
void CollectUntilEof(std::vector<Connection>& readers, const RecvPair& recv,
                     std::map<int, std::vector<int>>* got);

}  // namespace pipe_test
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_TEST_UTIL_H_
