#include "pipe/internal/framing.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/status.h"
#include "gtest/gtest.h"

namespace mp {
namespace pipe_internal {
namespace {

std::string Header(uint64_t length) {
  unsigned char out[kLongHeader];
  size_t n = EncodeHeader(length, out);
  return std::string(reinterpret_cast<char*>(out), n);
}

// Python: struct.pack("!i", n), and for n > 0x7fffffff
// struct.pack("!i", -1) + struct.pack("!Q", n).
TEST(FramingTest, ShortAndLongHeadersAreTheOnesPythonWrites) {
  EXPECT_EQ(Header(0), std::string("\0\0\0\0", 4));
  EXPECT_EQ(Header(110), std::string("\0\0\0\x6e", 4));
  EXPECT_EQ(Header(0x7fffffff), std::string("\x7f\xff\xff\xff", 4));
  EXPECT_EQ(Header(0x80000000ull),
            std::string("\xff\xff\xff\xff\0\0\0\0\x80\0\0\0", 12));
  EXPECT_EQ(Header(3ull << 30),
            std::string("\xff\xff\xff\xff\0\0\0\0\xc0\0\0\0", 12));
}

TEST(FramingTest, DecodesWhatItEncodes) {
  for (uint64_t n : {0ull, 1ull, 4096ull, 0x7fffffffull}) {
    std::string h = Header(n);
    uint64_t got = 0;
    ASSERT_EQ(DecodeShortHeader(
                  reinterpret_cast<const unsigned char*>(h.data()), &got),
              ShortHeader::kLength);
    EXPECT_EQ(got, n);
  }
  for (uint64_t n : {0x80000000ull, 5ull << 32, ~0ull}) {
    std::string h = Header(n);
    const auto* p = reinterpret_cast<const unsigned char*>(h.data());
    uint64_t unused = 0;
    ASSERT_EQ(DecodeShortHeader(p, &unused), ShortHeader::kLongFollows);
    EXPECT_EQ(DecodeLongLength(p + kShortHeader), n);
  }
}

TEST(FramingTest, NegativeLengthsOtherThanMinusOneAreRefused) {
  const unsigned char negative[4] = {0x80, 0, 0, 0};
  const unsigned char minus_two[4] = {0xff, 0xff, 0xff, 0xfe};
  uint64_t unused = 0;
  EXPECT_EQ(DecodeShortHeader(negative, &unused), ShortHeader::kNegative);
  EXPECT_EQ(DecodeShortHeader(minus_two, &unused), ShortHeader::kNegative);
}

// ReadHeader on a stream holding `bytes` and then ending; `consumed` says
// how much it read.
absl::StatusOr<uint64_t> ReadHeaderOf(const std::string& bytes,
                                      size_t* consumed) {
  size_t pos = 0;
  absl::StatusOr<uint64_t> length =
      ReadHeader([&](char* out, size_t size, AtStart at_start) {
        size_t n = std::min(size, bytes.size() - pos);
        std::memcpy(out, bytes.data() + pos, n);
        pos += n;
        return n == size ? absl::OkStatus() : EndOfFile(n, at_start);
      });
  *consumed = pos;
  return length;
}

TEST(FramingTest, ReadHeaderTakesTheHeaderAndNothingMore) {
  size_t consumed = 0;
  absl::StatusOr<uint64_t> n = ReadHeaderOf(Header(110) + "payload", &consumed);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 110u);
  EXPECT_EQ(consumed, kShortHeader);
  n = ReadHeaderOf(Header(5ull << 32) + "payload", &consumed);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 5ull << 32);
  EXPECT_EQ(consumed, kLongHeader);
}

TEST(FramingTest, ReadHeaderEndOfFileIsEofOnlyBeforeTheFirstByte) {
  size_t consumed = 0;
  EXPECT_TRUE(IsEof(ReadHeaderOf("", &consumed).status()));
  const std::string long_header = Header(5ull << 32);
  for (size_t cut : {size_t{1}, size_t{3}, kShortHeader, kShortHeader + 1,
                     kLongHeader - 1}) {
    absl::StatusOr<uint64_t> n =
        ReadHeaderOf(long_header.substr(0, cut), &consumed);
    EXPECT_EQ(n.status().code(), absl::StatusCode::kDataLoss) << cut;
    EXPECT_EQ(n.status().message(), "got end of file during message") << cut;
  }
}

TEST(FramingTest, ReadHeaderRefusesANegativeLength) {
  size_t consumed = 0;
  absl::StatusOr<uint64_t> n =
      ReadHeaderOf(std::string("\x80\0\0\0", 4), &consumed);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(n.status().message(), "bad message length: negative length prefix");
}

}  // namespace
}  // namespace pipe_internal
}  // namespace mp
