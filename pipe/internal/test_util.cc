#include "pipe/internal/test_util.h"

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_test {

std::pair<Connection, Connection> MakePipe(bool duplex) {
  absl::StatusOr<std::pair<Connection, Connection>> p = Pipe(duplex);
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

void CollectUntilEof(std::vector<Connection>& readers, const RecvPair& recv,
                     std::map<int, std::vector<int>>* got) {
  std::set<size_t> open;
  for (size_t i = 0; i < readers.size(); ++i) open.insert(i);
  while (!open.empty()) {
    std::vector<WaitTarget> targets;
    std::vector<size_t> which;
    for (size_t i : open) {
      targets.emplace_back(readers[i]);
      which.push_back(i);
    }
    absl::StatusOr<std::vector<size_t>> ready =
        Wait(targets, absl::Seconds(60));
    ASSERT_TRUE(ready.ok()) << ready.status();
    ASSERT_FALSE(ready->empty()) << "wait timed out";
    for (size_t k : *ready) {
      size_t i = which[k];
      absl::StatusOr<std::pair<int, int>> m = recv(readers[i]);
      if (IsEof(m.status())) {
        open.erase(i);
        continue;
      }
      ASSERT_TRUE(m.ok()) << m.status();
      EXPECT_EQ(static_cast<size_t>(m->first), i);
      (*got)[m->first].push_back(m->second);
    }
  }
}

}  // namespace pipe_test
}  // namespace mp
