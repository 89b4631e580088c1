// SharedMemory on Windows: pagefile-backed file mappings, unnamed (passed by
// handle) or named in the session namespace ("Local\<name>").
#include <windows.h>
// windows.h first: these need its types.
#include <bcrypt.h>
#include <sddl.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/internal/shared_memory_impl.h"
#include "base/os_error.h"
#include "base/status.h"

namespace mp {
namespace {

std::wstring KernelName(const std::string& name) {
  // Names are ASCII (checked by the caller).
  return L"Local\\" + std::wstring(name.begin(), name.end());
}

// Maps the whole section behind `handle` and checks it has `min_size` bytes;
// the Impl covers `size` of them (0: the whole section, rounded to pages).
absl::StatusOr<base_internal::ImplPtr> Map(OwnedHandle handle, size_t min_size,
                                           size_t size, std::string name) {
  void* addr = MapViewOfFile(handle.get(), FILE_MAP_ALL_ACCESS, 0, 0, 0);
  if (addr == nullptr) return LastOsError("SharedMemory: MapViewOfFile");
  MEMORY_BASIC_INFORMATION info;
  if (VirtualQuery(addr, &info, sizeof info) == 0) {
    absl::Status s = LastOsError("SharedMemory: VirtualQuery");
    UnmapViewOfFile(addr);
    return s;
  }
  if (info.RegionSize < min_size) {
    UnmapViewOfFile(addr);
    return absl::InvalidArgumentError(
        absl::StrCat("SharedMemory: the segment has ", info.RegionSize,
                     " bytes, not the ", min_size, " expected"));
  }
  auto impl = std::make_shared<SharedMemory::Impl>();
  impl->handle = std::move(handle);
  impl->addr = addr;
  impl->size = size == 0 ? info.RegionSize : size;
  impl->name = std::move(name);
  return impl;
}

absl::StatusOr<OwnedHandle> NewSection(size_t size, const wchar_t* name,
                                       SECURITY_ATTRIBUTES* sa) {
  uint64_t n = size;
  HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, sa, PAGE_READWRITE,
                                static_cast<DWORD>(n >> 32),
                                static_cast<DWORD>(n & 0xFFFFFFFFu), name);
  if (h == nullptr) return LastOsError("SharedMemory: CreateFileMappingW");
  OwnedHandle handle(h);
  if (name != nullptr && GetLastError() == ERROR_ALREADY_EXISTS) {
    return Win32Error(ERROR_ALREADY_EXISTS, "SharedMemory: CreateFileMappingW");
  }
  return handle;
}

// "D:P(A;;GA;;;<the user's SID>)": a protected DACL whose one entry gives
// the current user full access. (The OWNER RIGHTS SID, "OW", would say the
// same, but not every implementation of the API maps it: Wine does not.)
absl::StatusOr<std::wstring> OwnerOnlySddl() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
    return LastOsError("SharedMemory: OpenProcessToken");
  }
  OwnedHandle token_owner(token);
  DWORD needed = 0;
  GetTokenInformation(token, TokenUser, nullptr, 0, &needed);
  std::string buf(needed, '\0');
  if (needed == 0 ||
      !GetTokenInformation(token, TokenUser, &buf[0], needed, &needed)) {
    return LastOsError("SharedMemory: GetTokenInformation(TokenUser)");
  }
  wchar_t* sid = nullptr;
  if (!ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(&buf[0])->User.Sid,
                              &sid)) {
    return LastOsError("SharedMemory: ConvertSidToStringSidW");
  }
  std::wstring sddl = L"D:P(A;;GA;;;" + std::wstring(sid) + L")";
  LocalFree(sid);
  return sddl;
}

}  // namespace

SharedMemory::Impl::~Impl() {
  if (addr != nullptr) UnmapViewOfFile(addr);
}

namespace base_internal {

absl::StatusOr<ImplPtr> CreateAnonymous(size_t size) {
  MP_ASSIGN_OR_RETURN(OwnedHandle h, NewSection(size, nullptr, nullptr));
  return Map(std::move(h), size, size, "");
}

absl::StatusOr<ImplPtr> CreateNamed(size_t size, const std::string& name) {
  MP_ASSIGN_OR_RETURN(std::wstring sddl, OwnerOnlySddl());
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
          sddl.c_str(), SDDL_REVISION_1, &sd, nullptr)) {
    return LastOsError(
        "SharedMemory: ConvertStringSecurityDescriptorToSecurityDescriptorW");
  }
  SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
  std::wstring kernel_name = KernelName(name);
  absl::StatusOr<OwnedHandle> h = NewSection(size, kernel_name.c_str(), &sa);
  LocalFree(sd);
  if (!h.ok()) {
    return absl::Status(h.status().code(),
                        absl::StrCat(h.status().message(), " ('", name, "')"));
  }
  MP_ASSIGN_OR_RETURN(ImplPtr impl, Map(*std::move(h), size, size, name));
  impl->creator_pid = GetCurrentProcessId();
  return impl;
}

absl::StatusOr<ImplPtr> AttachNamed(const std::string& name) {
  HANDLE h =
      OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, KernelName(name).c_str());
  if (h == nullptr) {
    return LastOsError(
        absl::StrCat("SharedMemory: OpenFileMappingW('", name, "')"));
  }
  return Map(OwnedHandle(h), 1, 0, name);
}

absl::StatusOr<ImplPtr> MapHandle(OwnedHandle handle, size_t size,
                                  std::string name) {
  return Map(std::move(handle), size, size, std::move(name));
}

absl::Status UnlinkName(const std::string&) {
  // A file mapping's name lives exactly as long as its last handle.
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> RandomId() {
  uint64_t id = 0;
  NTSTATUS rc = BCryptGenRandom(nullptr, reinterpret_cast<PUCHAR>(&id),
                                sizeof id, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
  if (!BCRYPT_SUCCESS(rc)) {
    return absl::InternalError(
        absl::StrCat("BCryptGenRandom failed: NTSTATUS ", rc));
  }
  return id;
}

}  // namespace base_internal
}  // namespace mp
