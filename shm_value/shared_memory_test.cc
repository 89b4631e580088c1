#include "shm_value/shared_memory.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "base/codec.h"
#include "base/handle.h"
#include "base/status.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

TEST(SharedMemoryTest, SizeZeroIsRefused) {
  EXPECT_EQ(SharedMemory::Create(0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SharedMemory::CreateNamed(0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SharedMemoryTest, AnonymousSegmentIsZeroFilledAndWritable) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(10000);
  ASSERT_TRUE(shm.ok()) << shm.status();
  EXPECT_TRUE(shm->valid());
  EXPECT_EQ(shm->name(), "");
  EXPECT_EQ(shm->size(), 10000u);
  ASSERT_EQ(shm->bytes().size(), 10000u);
  for (uint8_t b : shm->bytes()) ASSERT_EQ(b, 0);
  shm->bytes()[9999] = 7;
  EXPECT_EQ(static_cast<uint8_t*>(shm->data())[9999], 7);
}

TEST(SharedMemoryTest, NamedSegmentGetsARandomNameAndCanBeAttached) {
  absl::StatusOr<SharedMemory> created = SharedMemory::CreateNamed(100);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(absl::StartsWith(created->name(), "mp_")) << created->name();
  EXPECT_EQ(created->name().size(), 3u + 16u);
  absl::StatusOr<SharedMemory> attached = SharedMemory::Attach(created->name());
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_EQ(attached->name(), created->name());
  EXPECT_GE(attached->size(), 100u);
  std::memcpy(created->data(), "hello", 5);
  EXPECT_EQ(std::memcmp(attached->data(), "hello", 5), 0);
  EXPECT_TRUE(created->Unlink().ok());
}

TEST(SharedMemoryTest, TwoRandomNamesDiffer) {
  absl::StatusOr<SharedMemory> a = SharedMemory::CreateNamed(1);
  absl::StatusOr<SharedMemory> b = SharedMemory::CreateNamed(1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->name(), b->name());
}

TEST(SharedMemoryTest, ExistingNameIsRefused) {
  absl::StatusOr<SharedMemory> first = SharedMemory::CreateNamed(64);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<SharedMemory> second =
      SharedMemory::CreateNamed(64, first->name());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists)
      << second.status();
  // The failed attempt did not take the name away from the first.
  EXPECT_TRUE(SharedMemory::Attach(first->name()).ok());
}

TEST(SharedMemoryTest, MissingNameIsNotFound) {
  absl::StatusOr<SharedMemory> shm =
      SharedMemory::Attach("mp_test_no_such_segment");
  EXPECT_EQ(shm.status().code(), absl::StatusCode::kNotFound) << shm.status();
}

TEST(SharedMemoryTest, BadNamesAreRefused) {
  for (const char* name : {"a/b", "..", "with space", "x\\y"}) {
    EXPECT_EQ(SharedMemory::CreateNamed(8, name).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
    EXPECT_EQ(SharedMemory::Attach(name).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
  EXPECT_EQ(SharedMemory::Attach("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SharedMemory::CreateNamed(8, std::string(201, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SharedMemoryTest, UnlinkTwiceFails) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::CreateNamed(64);
  ASSERT_TRUE(shm.ok());
  EXPECT_TRUE(shm->Unlink().ok());
  absl::Status again = shm->Unlink();
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound) << again;
  // The memory itself stays usable.
  shm->bytes()[0] = 1;
  EXPECT_EQ(shm->bytes()[0], 1);
}

TEST(SharedMemoryTest, AnonymousSegmentCannotBeUnlinked) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(64);
  ASSERT_TRUE(shm.ok());
  EXPECT_EQ(shm->Unlink().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SharedMemoryTest, CreatorRemovesTheNameWhenItsLastCopyGoes) {
  std::string name;
  {
    absl::StatusOr<SharedMemory> shm = SharedMemory::CreateNamed(64);
    ASSERT_TRUE(shm.ok());
    name = shm->name();
    SharedMemory copy = *shm;  // copies share the mapping
    shm->Close();
    EXPECT_FALSE(shm->valid());
    ASSERT_TRUE(copy.valid());
    EXPECT_TRUE(SharedMemory::Attach(name).ok());
  }
  EXPECT_EQ(SharedMemory::Attach(name).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SharedMemoryTest, ClosedSegmentIsEmptyAndRefusesWork) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(64);
  ASSERT_TRUE(shm.ok());
  shm->Close();
  EXPECT_FALSE(shm->valid());
  EXPECT_EQ(shm->data(), nullptr);
  EXPECT_EQ(shm->size(), 0u);
  EXPECT_TRUE(IsClosed(shm->Unlink()));
  EXPECT_TRUE(IsClosed(shm->DuplicateHandle().status()));
  std::vector<NativeHandle> handles;
  EXPECT_TRUE(IsClosed(Encode(*shm, &handles).status()));
}

// Sends `shm` through the codec the way a transport would: the handles are
// duplicated, as if they had crossed to another process.
absl::StatusOr<SharedMemory> RoundTrip(const SharedMemory& shm) {
  std::vector<NativeHandle> handles;
  absl::StatusOr<std::string> bytes = Encode(shm, &handles);
  if (!bytes.ok()) return bytes.status();
  std::vector<OwnedHandle> received;
  for (NativeHandle h : handles) {
    OwnedHandle borrowed(h);
    absl::StatusOr<OwnedHandle> dup = borrowed.Duplicate();
    borrowed.release();  // still the sender's
    if (!dup.ok()) return dup.status();
    received.push_back(*std::move(dup));
  }
  return Decode<SharedMemory>(*bytes, &received);
}

TEST(SharedMemoryTest, TravelsThroughTheCodecAsItsHandle) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(5000);
  ASSERT_TRUE(shm.ok());
  absl::StatusOr<SharedMemory> copy = RoundTrip(*shm);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->size(), 5000u);
  EXPECT_NE(copy->data(), shm->data());  // a second mapping
  shm->bytes()[4999] = 99;
  EXPECT_EQ(copy->bytes()[4999], 99);
}

TEST(SharedMemoryTest, NamedSegmentTravelsWithItsNameButIsNotOwned) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::CreateNamed(64);
  ASSERT_TRUE(shm.ok());
  std::string name = shm->name();
  {
    absl::StatusOr<SharedMemory> copy = RoundTrip(*shm);
    ASSERT_TRUE(copy.ok()) << copy.status();
    EXPECT_EQ(copy->name(), name);
  }
  // The received copy did not remove the creator's name.
  EXPECT_TRUE(SharedMemory::Attach(name).ok());
}

TEST(SharedMemoryTest, DecodeRefusesASegmentSmallerThanClaimed) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(100);
  ASSERT_TRUE(shm.ok());
  absl::StatusOr<OwnedHandle> dup = shm->DuplicateHandle();
  ASSERT_TRUE(dup.ok());
  std::vector<NativeHandle> handles;
  std::string bytes;
  Encoder e(&bytes, &handles);
  ASSERT_TRUE(e.AddHandle(dup->get()).ok());
  e.Write(uint64_t{1} << 40, std::string());
  ASSERT_TRUE(e.status().ok());
  std::vector<OwnedHandle> received;
  received.push_back(*std::move(dup));
  absl::StatusOr<SharedMemory> bad = Decode<SharedMemory>(bytes, &received);
  EXPECT_TRUE(IsDecodeError(bad.status())) << bad.status();
}

TEST(SharedMemoryTest, DecodeRefusesSizeZeroAndMissingHandles) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(100);
  ASSERT_TRUE(shm.ok());
  absl::StatusOr<OwnedHandle> dup = shm->DuplicateHandle();
  ASSERT_TRUE(dup.ok());
  std::vector<NativeHandle> handles;
  std::string bytes;
  Encoder e(&bytes, &handles);
  ASSERT_TRUE(e.AddHandle(dup->get()).ok());
  e.Write(uint64_t{0}, std::string());
  std::vector<OwnedHandle> received;
  received.push_back(*std::move(dup));
  EXPECT_TRUE(IsDecodeError(Decode<SharedMemory>(bytes, &received).status()));
  std::vector<OwnedHandle> none;
  EXPECT_FALSE(Decode<SharedMemory>(bytes, &none).ok());
}

}  // namespace
}  // namespace mp
