// Linux specifics of the arena: memory given back by Release(), and only
// shrink-sealed memfds accepted from other processes.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "queue/internal/arena.h"

namespace mp {
namespace queue_internal {
namespace {

int64_t AllocatedBytes(int fd) {
  struct stat st;
  EXPECT_EQ(fstat(fd, &st), 0);
  return static_cast<int64_t>(st.st_blocks) * 512;
}

TEST(ArenaLinuxTest, BackAllocatesAndReleaseGivesBack) {
  absl::StatusOr<std::unique_ptr<Arena>> arena = Arena::Create(64 << 10);
  ASSERT_TRUE(arena.ok()) << arena.status();
  const int fd = (*arena)->handle();
  const int64_t before = AllocatedBytes(fd);
  const uint64_t at = uint64_t{8} << 20, size = uint64_t{4} << 20;
  ASSERT_TRUE((*arena)->Back(at, size).ok());
  EXPECT_GE(AllocatedBytes(fd) - before, static_cast<int64_t>(size));
  absl::StatusOr<char*> p = (*arena)->Map(at, size);
  ASSERT_TRUE(p.ok()) << p.status();
  std::memset(*p, 1, size);
  (*arena)->Release(at, size);
  EXPECT_LE(AllocatedBytes(fd) - before, 64 << 10);
  EXPECT_EQ((*p)[size / 2], 0);  // reads as zeros, no fault
}

TEST(ArenaLinuxTest, RefusesWhatCouldShrink) {
  int fd = memfd_create("not-sealed", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 1 << 20), 0);
  absl::StatusOr<std::unique_ptr<Arena>> arena = Arena::Open(OwnedHandle(fd));
  EXPECT_EQ(arena.status().code(), absl::StatusCode::kInvalidArgument);

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  close(pipe_fds[1]);
  arena = Arena::Open(OwnedHandle(pipe_fds[0]));
  EXPECT_FALSE(arena.ok());
}

}  // namespace
}  // namespace queue_internal
}  // namespace mp
