#include "queue/internal/arena.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace mp {
namespace queue_internal {
namespace {

TEST(ArenaTest, Extents) {
  EXPECT_EQ(Arena::ExtentOf(0), 0);
  EXPECT_EQ(Arena::ExtentOf(Arena::kExtent0 - 1), 0);
  EXPECT_EQ(Arena::ExtentOf(Arena::kExtent0), 1);
  EXPECT_EQ(Arena::ExtentOf(2 * Arena::kExtent0 - 1), 1);
  EXPECT_EQ(Arena::ExtentOf(2 * Arena::kExtent0), 2);
  EXPECT_EQ(Arena::ExtentOf(Arena::kMaxSize - 1), Arena::kMaxExtents - 1);
  for (int k = 0; k < Arena::kMaxExtents; ++k) {
    EXPECT_EQ(Arena::ExtentOf(Arena::ExtentStart(k)), k);
    EXPECT_EQ(Arena::ExtentOf(Arena::ExtentStart(k) + Arena::ExtentSize(k) - 1),
              k);
  }
}

TEST(ArenaTest, CreateMapAndGrow) {
  absl::StatusOr<std::unique_ptr<Arena>> arena = Arena::Create(128 << 10);
  ASSERT_TRUE(arena.ok()) << arena.status();
  absl::StatusOr<char*> p = (*arena)->Map(0, 128 << 10);
  ASSERT_TRUE(p.ok()) << p.status();
  for (size_t i = 0; i < (128 << 10); i += 4096) EXPECT_EQ((*p)[i], 0);
  std::memcpy(*p, "arena", 5);

  // Beyond what exists (Linux: the file size; Windows: the reservation):
  // refused, not a fault.
  EXPECT_EQ((*arena)->Map(uint64_t{1} << 40, 4096).status().code(),
            absl::StatusCode::kDataLoss);
  const uint64_t far = uint64_t{3} << 20;
  ASSERT_TRUE((*arena)->Back(far, 64 << 10).ok());
  absl::StatusOr<char*> q = (*arena)->Map(far, 64 << 10);
  ASSERT_TRUE(q.ok()) << q.status();
  std::memset(*q, 7, 64 << 10);

  // A range over two extents, or outside any arena: refused.
  EXPECT_EQ((*arena)->Map(Arena::kExtent0 - 8, 16).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ((*arena)->Map(Arena::kMaxSize, 1).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ((*arena)->Map(5, 0).status().code(), absl::StatusCode::kDataLoss);

  // A second view of the same arena, through a copy of its handle (what a
  // spawned child gets).
  OwnedHandle borrowed((*arena)->handle());
  absl::StatusOr<OwnedHandle> dup = borrowed.Duplicate();
  borrowed.release();
  ASSERT_TRUE(dup.ok()) << dup.status();
  absl::StatusOr<std::unique_ptr<Arena>> other = Arena::Open(*std::move(dup));
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<char*> p2 = (*other)->Map(0, 4096);
  ASSERT_TRUE(p2.ok()) << p2.status();
  EXPECT_EQ(std::memcmp(*p2, "arena", 5), 0);
  absl::StatusOr<char*> q2 = (*other)->Map(far, 64 << 10);
  ASSERT_TRUE(q2.ok()) << q2.status();
  EXPECT_EQ((*q2)[(64 << 10) - 1], 7);
}

TEST(ArenaTest, InitialSizeIsChecked) {
  EXPECT_FALSE(Arena::Create(0).ok());
  EXPECT_FALSE(Arena::Create(Arena::kExtent0 + 1).ok());
}

}  // namespace
}  // namespace queue_internal
}  // namespace mp
