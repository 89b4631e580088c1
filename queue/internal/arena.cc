#include "queue/internal/arena.h"

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/numeric/bits.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace mp {
namespace queue_internal {

absl::StatusOr<std::unique_ptr<Arena>> Arena::Create(uint64_t initial) {
  if (initial == 0 || initial > kExtent0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Arena: initial size %d not in (0, %d]", initial, kExtent0));
  }
  absl::StatusOr<OwnedHandle> handle = CreateObject(initial);
  if (!handle.ok()) return handle.status();
  std::unique_ptr<Arena> arena(new Arena(*std::move(handle)));
  absl::Status s = arena->Back(0, initial);
  if (!s.ok()) return s;
  return arena;
}

absl::StatusOr<std::unique_ptr<Arena>> Arena::Open(OwnedHandle handle) {
  std::unique_ptr<Arena> arena(new Arena(std::move(handle)));
  absl::Status s = arena->CheckObject();
  if (!s.ok()) return s;
  return arena;
}

Arena::~Arena() {
  for (int k = 0; k < kMaxExtents; ++k) {
    char* base = extents_[k].load(std::memory_order_relaxed);
    if (base != nullptr) UnmapExtent(k, base);
  }
}

int Arena::ExtentOf(uint64_t offset) {
  if (offset < kExtent0) return 0;
  return absl::bit_width(offset >> kExtent0Shift);
}

absl::StatusOr<char*> Arena::Map(uint64_t offset, uint64_t size) {
  if (size == 0 || offset >= kMaxSize || size > kMaxSize - offset) {
    return absl::DataLossError(absl::StrFormat(
        "queue: range [%d, +%d) is outside any arena", offset, size));
  }
  const uint64_t end = offset + size;
  const int k = ExtentOf(offset);
  if (ExtentOf(end - 1) != k) {
    return absl::DataLossError(absl::StrFormat(
        "queue: range [%d, +%d) straddles two extents", offset, size));
  }
  if (end > known_size_.load(std::memory_order_acquire)) {
    absl::StatusOr<uint64_t> now = QuerySize();
    if (!now.ok()) return now.status();
    uint64_t seen = known_size_.load(std::memory_order_relaxed);
    while (*now > seen && !known_size_.compare_exchange_weak(seen, *now)) {
    }
    if (end > *now) {
      return absl::DataLossError(absl::StrFormat(
          "queue: range [%d, +%d) is beyond the arena's %d bytes", offset, size,
          *now));
    }
  }
  char* base = extents_[k].load(std::memory_order_acquire);
  if (base == nullptr) {
    absl::MutexLock lock(&map_mu_);
    base = extents_[k].load(std::memory_order_relaxed);
    if (base == nullptr) {
      absl::StatusOr<char*> mapped = MapExtent(k);
      if (!mapped.ok()) return mapped.status();
      base = *mapped;
      extents_[k].store(base, std::memory_order_release);
    }
  }
  return base + (offset - ExtentStart(k));
}

}  // namespace queue_internal
}  // namespace mp
