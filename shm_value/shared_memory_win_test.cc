// SharedMemory on Windows: named segments carry a DACL for their owner only,
// and a spawned child maps an anonymous segment through its handle.
#include <windows.h>
// windows.h first: these need its types.
#include <aclapi.h>

#include <cstring>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "process/process.h"
#include "shm_value/shared_memory.h"

namespace mp {
namespace {

TEST(SharedMemoryWinTest, NamedSegmentIsForTheOwnerOnly) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::CreateNamed(64);
  ASSERT_TRUE(shm.ok()) << shm.status();
  absl::StatusOr<OwnedHandle> h = shm->DuplicateHandle();
  ASSERT_TRUE(h.ok());
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  ASSERT_EQ(
      GetSecurityInfo(h->get(), SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION,
                      nullptr, nullptr, &dacl, nullptr, &sd),
      ERROR_SUCCESS);
  ASSERT_NE(dacl, nullptr);
  EXPECT_EQ(dacl->AceCount, 1);
  void* ace = nullptr;
  ASSERT_TRUE(GetAce(dacl, 0, &ace));
  auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
  EXPECT_EQ(allowed->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
  // The one entry names the current user.
  HANDLE token = nullptr;
  ASSERT_TRUE(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
  char buf[256];
  DWORD needed = 0;
  ASSERT_TRUE(GetTokenInformation(token, TokenUser, buf, sizeof buf, &needed));
  CloseHandle(token);
  EXPECT_TRUE(EqualSid(reinterpret_cast<TOKEN_USER*>(buf)->User.Sid,
                       &allowed->SidStart));
  LocalFree(sd);
}

void WriteGreeting(SharedMemory shm) {
  std::memcpy(shm.data(), "from a spawned child", 21);
}
MP_REGISTER(WriteGreeting);

TEST(SharedMemoryWinTest, SpawnedChildMapsAnAnonymousSegment) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(4096);
  ASSERT_TRUE(shm.ok());
  Process p(WriteGreeting, *shm);
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_STREQ(static_cast<const char*>(shm->data()), "from a spawned child");
}

}  // namespace
}  // namespace mp
