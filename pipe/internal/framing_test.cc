#include "pipe/internal/framing.h"

#include <string>

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

}  // namespace
}  // namespace pipe_internal
}  // namespace mp
