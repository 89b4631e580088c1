// SharedMemory on Windows: named segments carry a DACL for their owner only.
// (A spawned child mapping an anonymous segment through its handle is
// process/process_args_test.cc's ArrayPrefixSumAndSharedMemory.)
#include <windows.h>
// windows.h first: these need its types.
#include <aclapi.h>

#include <cstring>

#include "absl/status/status.h"
#include "base/shared_memory.h"
#include "gtest/gtest.h"

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

}  // namespace
}  // namespace mp
