#include "base/shared_memory.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "base/codec.h"
#include "base/handle.h"
#include "base/internal/test_child.h"
#include "base/status.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

using test_util::SendThroughCodec;

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
    EXPECT_TRUE(shm->Close().ok());
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
  EXPECT_TRUE(shm->Close().ok());
  EXPECT_TRUE(shm->Close().ok());  // twice is OK
  EXPECT_FALSE(shm->valid());
  EXPECT_EQ(shm->data(), nullptr);
  EXPECT_EQ(shm->size(), 0u);
  EXPECT_TRUE(IsClosed(shm->Unlink()));
  EXPECT_TRUE(IsClosed(shm->DuplicateHandle().status()));
  std::vector<NativeHandle> handles;
  EXPECT_TRUE(IsClosed(Encode(*shm, &handles).status()));
}

TEST(SharedMemoryTest, TravelsThroughTheCodecAsItsHandle) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(5000);
  ASSERT_TRUE(shm.ok());
  SharedMemory copy;
  absl::Status s = SendThroughCodec(*shm, &copy);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(copy.size(), 5000u);
  EXPECT_NE(copy.data(), shm->data());  // a second mapping
  shm->bytes()[4999] = 99;
  EXPECT_EQ(copy.bytes()[4999], 99);
}

TEST(SharedMemoryTest, NamedSegmentTravelsWithItsNameButIsNotOwned) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::CreateNamed(64);
  ASSERT_TRUE(shm.ok());
  std::string name = shm->name();
  {
    SharedMemory copy;
    absl::Status s = SendThroughCodec(*shm, &copy);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(copy.name(), name);
  }
  // The received copy did not remove the creator's name.
  EXPECT_TRUE(SharedMemory::Attach(name).ok());
}

// A message as MpEncode writes it, for a 100-byte segment that it says has
// `size` bytes: the bytes, and the handle a receiver gets with them.
struct Message {
  std::string bytes;
  std::vector<OwnedHandle> received;
};
void ClaimSize(uint64_t size, Message* m) {
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(100);
  ASSERT_TRUE(shm.ok());
  absl::StatusOr<OwnedHandle> dup = shm->DuplicateHandle();
  ASSERT_TRUE(dup.ok());
  std::vector<NativeHandle> handles;
  Encoder e(&m->bytes, &handles);
  ASSERT_TRUE(e.AddHandle(dup->get()).ok());
  e.Write(size, std::string());
  ASSERT_TRUE(e.status().ok());
  m->received.push_back(*std::move(dup));
}

TEST(SharedMemoryTest, DecodeRefusesASegmentSmallerThanClaimed) {
  Message m;
  ASSERT_NO_FATAL_FAILURE(ClaimSize(uint64_t{1} << 40, &m));
  absl::StatusOr<SharedMemory> bad = Decode<SharedMemory>(m.bytes, &m.received);
  EXPECT_TRUE(IsDecodeError(bad.status())) << bad.status();
}

TEST(SharedMemoryTest, DecodeRefusesSizeZeroAndMissingHandles) {
  Message m;
  ASSERT_NO_FATAL_FAILURE(ClaimSize(0, &m));
  EXPECT_TRUE(
      IsDecodeError(Decode<SharedMemory>(m.bytes, &m.received).status()));
  std::vector<OwnedHandle> none;
  EXPECT_FALSE(Decode<SharedMemory>(m.bytes, &none).ok());
}

}  // namespace
}  // namespace mp
