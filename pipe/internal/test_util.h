// Helpers for pipe/'s tests: a Pipe() that must succeed, and CPython's
// test_wait loop, which both the fork tests and the Process tests run.
#ifndef MP_PIPE_INTERNAL_TEST_UTIL_H_
#define MP_PIPE_INTERNAL_TEST_UTIL_H_

#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_test {

// Pipe(duplex); a failure fails the test.
std::pair<Connection, Connection> MakePipe(bool duplex = true);

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
