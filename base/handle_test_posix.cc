// Handle tests that need POSIX descriptors; inheritance across a real exec is
// tested with the launcher (base/launch_test.cc).
#include <fcntl.h>
#include <unistd.h>

#include "base/handle.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

OwnedHandle MakePipe(OwnedHandle* other) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  *other = OwnedHandle(fds[1]);
  return OwnedHandle(fds[0]);
}

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) >= 0; }

TEST(HandleTest, ClosesOnDestructionAndReset) {
  OwnedHandle w;
  int fd;
  {
    OwnedHandle r = MakePipe(&w);
    fd = r.get();
    EXPECT_TRUE(r.valid());
    EXPECT_TRUE(IsOpen(fd));
  }
  EXPECT_FALSE(IsOpen(fd));
  fd = w.get();
  w.reset();
  EXPECT_FALSE(w.valid());
  EXPECT_FALSE(IsOpen(fd));
}

TEST(HandleTest, MoveTransfersOwnershipAndReleaseKeepsItOpen) {
  OwnedHandle w;
  OwnedHandle r = MakePipe(&w);
  int fd = r.get();
  OwnedHandle moved = std::move(r);
  EXPECT_FALSE(
      r.valid());  // NOLINT(bugprone-use-after-move): tested on purpose
  EXPECT_EQ(moved.get(), fd);
  int raw = moved.release();
  EXPECT_FALSE(moved.valid());
  EXPECT_TRUE(IsOpen(raw));
  OwnedHandle again(raw);
  EXPECT_TRUE(again.Close().ok());
  EXPECT_FALSE(IsOpen(raw));
  EXPECT_TRUE(again.Close().ok());  // closing an empty handle is fine
}

TEST(HandleTest, NewHandlesAreNotInheritableUntilAskedFor) {
  OwnedHandle w;
  OwnedHandle r = MakePipe(&w);
  EXPECT_EQ(*IsInheritable(r.get()), false);
  absl::StatusOr<OwnedHandle> dup = r.Duplicate();
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_NE(dup->get(), r.get());
  EXPECT_EQ(*IsInheritable(dup->get()), false);
  ASSERT_TRUE(SetInheritable(r.get(), true).ok());
  EXPECT_EQ(*IsInheritable(r.get()), true);
  ASSERT_TRUE(SetInheritable(r.get(), false).ok());
  EXPECT_EQ(*IsInheritable(r.get()), false);
}

TEST(HandleTest, ErrorsOnClosedDescriptorsAreStatuses) {
  OwnedHandle w;
  OwnedHandle r = MakePipe(&w);
  int fd = r.get();
  r.reset();
  // absl::ErrnoToStatusCode maps EBADF to kFailedPrecondition.
  EXPECT_EQ(SetInheritable(fd, true).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsInheritable(fd).ok());
  OwnedHandle bogus(fd);
  EXPECT_FALSE(bogus.Duplicate().ok());
  bogus.release();
  EXPECT_FALSE(IsValidHandle(kInvalidHandle));
  EXPECT_TRUE(IsValidHandle(0));
}

}  // namespace
}  // namespace mp
