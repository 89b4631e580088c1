// Windows specifics: Wait() on a process-style sentinel (a handle that is
// signalled), and handles FromHandle must refuse.
#include <windows.h>

#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "pipe/pipe.h"

namespace mp {
namespace {

// A process handle is signalled when the process ends; an event stands in.
TEST(PipeWinTest, WaitOnASignalledHandle) {
  OwnedHandle event(CreateEventW(nullptr, TRUE, FALSE, nullptr));
  ASSERT_TRUE(event.valid());
  absl::StatusOr<std::pair<Connection, Connection>> p = Pipe();
  ASSERT_TRUE(p.ok());
  absl::StatusOr<std::vector<size_t>> ready =
      Wait({p->first, event.get()}, absl::Milliseconds(50));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->empty());
  SetEvent(event.get());
  ready = Wait({p->first, event.get()}, absl::Seconds(10));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, (std::vector<size_t>{1}));
  ASSERT_TRUE(p->second.SendBytes("x").ok());
  ready = Wait({p->first, event.get()}, absl::Seconds(10));
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, (std::vector<size_t>{0, 1}));
}

// An anonymous pipe is a byte stream: message boundaries would be lost.
TEST(PipeWinTest, ByteModePipeIsRefused) {
  HANDLE r = nullptr, w = nullptr;
  ASSERT_TRUE(CreatePipe(&r, &w, nullptr, 0));
  OwnedHandle write_end(w);
  absl::StatusOr<Connection> c = Connection::FromHandle(OwnedHandle(r));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument)
      << c.status();
}

TEST(PipeWinTest, TooManyObjectsForOneWaitIsAnError) {
  std::vector<OwnedHandle> events;
  std::vector<WaitTarget> targets;
  for (int i = 0; i < 65; ++i) {
    events.emplace_back(CreateEventW(nullptr, TRUE, FALSE, nullptr));
    targets.emplace_back(events.back().get());
  }
  EXPECT_EQ(Wait(targets, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mp
