// The arena on Windows: an unnamed pagefile-backed section reserved at
// kWindowsReserve bytes (SEC_RESERVE: no commit charge until used), mapped
// in extents; each process commits an extent in its own view when it maps
// it. Section pages cannot be decommitted while mapped, so Release() does
// nothing: memory a queue once used stays committed until the last process
// closes it.
#include <windows.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "base/os_error.h"
#include "queue/internal/arena.h"

namespace mp {
namespace queue_internal {

absl::StatusOr<OwnedHandle> Arena::CreateObject(uint64_t initial) {
  HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr,
                                PAGE_READWRITE | SEC_RESERVE,
                                static_cast<DWORD>(kWindowsReserve >> 32),
                                static_cast<DWORD>(kWindowsReserve), nullptr);
  if (h == nullptr) return LastOsError("Queue: CreateFileMappingW");
  return OwnedHandle(h);
}

absl::Status Arena::CheckObject() {
  // A mapping smaller than the reservation fails in MapViewOfFile, which
  // Map() reports; nothing can shrink a section.
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Arena::QuerySize() { return kWindowsReserve; }

absl::StatusOr<char*> Arena::MapExtent(int k) {
  const uint64_t start = ExtentStart(k);
  const uint64_t size = ExtentSize(k);
  void* view = MapViewOfFile(
      handle_.get(), FILE_MAP_ALL_ACCESS, static_cast<DWORD>(start >> 32),
      static_cast<DWORD>(start), static_cast<SIZE_T>(size));
  if (view == nullptr) return LastOsError("Queue: MapViewOfFile");
  if (VirtualAlloc(view, static_cast<SIZE_T>(size), MEM_COMMIT,
                   PAGE_READWRITE) == nullptr) {
    DWORD err = GetLastError();
    UnmapViewOfFile(view);
    if (err == ERROR_COMMITMENT_LIMIT || err == ERROR_NOT_ENOUGH_MEMORY) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "Queue: no memory left to commit %d more bytes", size));
    }
    return Win32Error(err, "Queue: VirtualAlloc(MEM_COMMIT)");
  }
  return static_cast<char*>(view);
}

void Arena::UnmapExtent(int k, char* base) { UnmapViewOfFile(base); }

absl::Status Arena::Reserve(uint64_t end) {
  if (end > kWindowsReserve) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("Queue: the queue would exceed its %d-byte reservation",
                        kWindowsReserve));
  }
  return absl::OkStatus();
}

absl::Status Arena::Back(uint64_t offset, uint64_t size) {
  if (size == 0 || offset >= kMaxSize || size > kMaxSize - offset) {
    return absl::InvalidArgumentError("Queue: bad arena range");
  }
  absl::Status s = Reserve(offset + size);
  if (!s.ok()) return s;
  // Mapping an extent commits it.
  absl::StatusOr<char*> p = Map(offset, size);
  return p.ok() ? absl::OkStatus() : p.status();
}

void Arena::Release(uint64_t offset, uint64_t size) {}

}  // namespace queue_internal
}  // namespace mp
