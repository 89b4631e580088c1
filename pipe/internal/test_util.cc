#include "pipe/internal/test_util.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/listener.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_test {

std::pair<Connection, Connection> MakePipe(bool duplex) {
  absl::StatusOr<std::pair<Connection, Connection>> p = Pipe(duplex);
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

std::string KindName(AddressKind kind) {
  switch (kind) {
    case AddressKind::kTcp:
      return "Tcp";
    case AddressKind::kUnixPath:
      return "UnixPath";
    case AddressKind::kAbstract:
      return "Abstract";
    case AddressKind::kNamedPipe:
      return "NamedPipe";
  }
  return "";
}

std::string UniqueName(absl::string_view prefix) {
  static const std::string tag = [] {
    std::random_device random;
    return absl::StrCat(absl::Hex(random(), absl::kZeroPad8),
                        absl::Hex(random(), absl::kZeroPad8));
  }();
  static std::atomic<int> counter{0};
  return absl::StrCat(prefix, "-", tag, "-", counter++);
}

Address FreshAddress(AddressKind kind) {
  std::string name = UniqueName("mp-test");
  switch (kind) {
    case AddressKind::kTcp:
      return Address::Inet("127.0.0.1", 0);
    case AddressKind::kUnixPath:
      return Address::Unix(SocketPath(name));
    case AddressKind::kAbstract:
      return Address::Abstract(name);
    case AddressKind::kNamedPipe:
      return Address::NamedPipe(absl::StrCat("\\\\.\\pipe\\", name));
  }
  return Address::Inet("127.0.0.1", 0);
}

std::string SocketPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir ? dir : "/tmp", "/", name);
  if (path.size() >= 100) path = absl::StrCat("/tmp/", name);
  return path;
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
