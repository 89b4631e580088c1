// SharedMemory behaviours that need fork() or Linux's view of the files.
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/internal/test_child.h"
#include "base/launch.h"
#include "base/shared_memory.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

using test_util::ExitCode;
using test_util::ForkAndHold;
using test_util::ForkChild;

TEST(SharedMemoryLinuxTest, SegmentsAreForTheOwnerOnly) {
  absl::StatusOr<SharedMemory> named = SharedMemory::CreateNamed(64);
  ASSERT_TRUE(named.ok());
  struct stat st;
  ASSERT_EQ(stat(("/dev/shm/" + named->name()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  absl::StatusOr<SharedMemory> anon = SharedMemory::Create(64);
  ASSERT_TRUE(anon.ok());
  absl::StatusOr<OwnedHandle> fd = anon->DuplicateHandle();
  ASSERT_TRUE(fd.ok());
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(SharedMemoryLinuxTest, AnonymousSegmentsCannotChangeSize) {
  absl::StatusOr<SharedMemory> anon = SharedMemory::Create(8192);
  ASSERT_TRUE(anon.ok());
  absl::StatusOr<OwnedHandle> fd = anon->DuplicateHandle();
  ASSERT_TRUE(fd.ok());
  EXPECT_NE(ftruncate(fd->get(), 10), 0);
  EXPECT_NE(ftruncate(fd->get(), 1 << 20), 0);
}

// A memfd from elsewhere that could shrink under the mapping is sealed
// against it; one that cannot be sealed is still mapped.
TEST(SharedMemoryLinuxTest, ForeignMemfdIsSealedAgainstShrinking) {
  for (bool sealable : {true, false}) {
    SCOPED_TRACE(sealable ? "sealable" : "not sealable");
    int fd = memfd_create("foreign",
                          MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0));
    ASSERT_GE(fd, 0);
    OwnedHandle own(fd);
    ASSERT_EQ(ftruncate(fd, 8192), 0);
    absl::StatusOr<OwnedHandle> copy = own.Duplicate();
    ASSERT_TRUE(copy.ok()) << copy.status();
    absl::StatusOr<SharedMemory> shm =
        SharedMemory::FromHandle(*std::move(copy), 8192);
    ASSERT_TRUE(shm.ok()) << shm.status();
    EXPECT_EQ(ftruncate(fd, 4096) == 0, !sealable);
    EXPECT_EQ(ftruncate(fd, 16384), 0);  // growing harms no mapping
  }
}

TEST(SharedMemoryLinuxTest, ForkedChildWritesTheParentSees) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(4096);
  ASSERT_TRUE(shm.ok());
  absl::StatusOr<ChildProcess> child = ForkChild([&] {
    std::memcpy(shm->data(), "from the child", 15);
    return 0;
  });
  ASSERT_EQ(ExitCode(child), 0);
  EXPECT_STREQ(static_cast<const char*>(shm->data()), "from the child");
}

TEST(SharedMemoryLinuxTest, ForkedCopyDoesNotRemoveTheCreatorsName) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::CreateNamed(64);
  ASSERT_TRUE(shm.ok());
  absl::StatusOr<ChildProcess> child = ForkChild([&] {
    // The child's copy was the last one in the child.
    return shm->Close().ok() ? 0 : 1;
  });
  EXPECT_EQ(ExitCode(child), 0);
  EXPECT_TRUE(SharedMemory::Attach(shm->name()).ok());
}

// What a SIGKILLed creator leaves: its named segment stays in /dev/shm (no
// code of it ran to remove the name) until another process attaches and
// unlinks it, the documented cleanup. Anonymous segments leave nothing.
TEST(SharedMemoryLinuxTest, SigkilledCreatorLeavesANameToUnlink) {
  const std::string name = "mp_test_killed_" + std::to_string(getpid());
  absl::StatusOr<SharedMemory> shm;  // the child's, alive until it is killed
  absl::StatusOr<ChildProcess> child = ForkAndHold([&] {
    shm = SharedMemory::CreateNamed(64, name);
    if (!shm.ok()) return false;
    std::memcpy(shm->data(), "left", 5);
    return true;
  });
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->Kill().ok());
  ASSERT_EQ(ExitCode(child), -SIGKILL);

  absl::StatusOr<SharedMemory> left = SharedMemory::Attach(name);
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_STREQ(static_cast<const char*>(left->data()), "left");
  EXPECT_TRUE(left->Unlink().ok());
  EXPECT_EQ(SharedMemory::Attach(name).status().code(),
            absl::StatusCode::kNotFound);
  struct stat st;
  EXPECT_NE(stat(("/dev/shm/" + name).c_str(), &st), 0);
}

}  // namespace
}  // namespace mp
