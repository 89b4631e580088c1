// SharedMemory behaviours that need fork() or Linux's view of the files.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "shm_value/shared_memory.h"

namespace mp {
namespace {

int ReapStatus(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

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

TEST(SharedMemoryLinuxTest, ForkedChildWritesTheParentSees) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(4096);
  ASSERT_TRUE(shm.ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::memcpy(shm->data(), "from the child", 15);
    _exit(0);
  }
  int status = ReapStatus(pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_STREQ(static_cast<const char*>(shm->data()), "from the child");
}

TEST(SharedMemoryLinuxTest, ForkedCopyDoesNotRemoveTheCreatorsName) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::CreateNamed(64);
  ASSERT_TRUE(shm.ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    shm->Close();  // the child's copy was the last one in the child
    _exit(0);
  }
  ReapStatus(pid);
  EXPECT_TRUE(SharedMemory::Attach(shm->name()).ok());
}

// What a SIGKILLed creator leaves: its named segment stays in /dev/shm (no
// code of it ran to remove the name) until another process attaches and
// unlinks it, the documented cleanup. Anonymous segments leave nothing.
TEST(SharedMemoryLinuxTest, SigkilledCreatorLeavesANameToUnlink) {
  const std::string name = "mp_test_killed_" + std::to_string(getpid());
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    absl::StatusOr<SharedMemory> shm = SharedMemory::CreateNamed(64, name);
    if (!shm.ok()) _exit(1);
    std::memcpy(shm->data(), "left", 5);
    char c = 'r';
    if (write(ready[1], &c, 1) != 1) _exit(1);
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = ReapStatus(pid);
  ASSERT_TRUE(WIFSIGNALED(status));

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
