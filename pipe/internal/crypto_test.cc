#include "pipe/internal/crypto.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace mp {
namespace pipe_internal {
namespace {

std::string Hex(absl::string_view s) { return absl::BytesToHexString(s); }

std::string HmacHex(Digest d, absl::string_view key, absl::string_view msg) {
  absl::StatusOr<std::string> mac = Hmac(d, key, msg);
  EXPECT_TRUE(mac.ok()) << mac.status();
  return mac.ok() ? Hex(*mac) : "";
}

// RFC 2202, test case 2.
TEST(CryptoTest, HmacMd5MatchesRfc2202) {
  EXPECT_EQ(HmacHex(Digest::kMd5, "Jefe", "what do ya want for nothing?"),
            "750c783e6ab0b503eaa86e310a5db738");
}

// RFC 4231, test case 2.
TEST(CryptoTest, HmacSha256AndSha384MatchRfc4231) {
  EXPECT_EQ(HmacHex(Digest::kSha256, "Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacHex(Digest::kSha384, "Jefe", "what do ya want for nothing?"),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
            "8e2240ca5e69e2c78b3239ecfab21649");
}

// RFC 4231, test case 6: a key longer than the block size gets hashed first.
TEST(CryptoTest, LongKeyIsHashedFirst) {
  EXPECT_EQ(HmacHex(Digest::kSha256, std::string(131, '\xaa'),
                    "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// Python: hmac.new(b'', b'', 'sha256').hexdigest(); an empty key is valid
// (bpo-43952).
TEST(CryptoTest, EmptyKeyAndMessage) {
  EXPECT_EQ(HmacHex(Digest::kSha256, "", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(CryptoTest, DigestNamesAreThePythonOnes) {
  EXPECT_EQ(DigestName(Digest::kSha256), "sha256");
  EXPECT_EQ(DigestName(Digest::kSha3_384), "sha3_384");
  EXPECT_EQ(DigestFromName("md5"), Digest::kMd5);
  EXPECT_EQ(DigestFromName("sha3_256"), Digest::kSha3_256);
  EXPECT_FALSE(DigestFromName("sha1").has_value());
  EXPECT_FALSE(DigestFromName("").has_value());
}

TEST(CryptoTest, RandomBytesHaveTheSizeAskedAndDiffer) {
  absl::StatusOr<std::string> a = RandomBytes(40);
  absl::StatusOr<std::string> b = RandomBytes(40);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 40u);
  EXPECT_NE(*a, *b);
  absl::StatusOr<std::string> none = RandomBytes(0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), "a"));
}

}  // namespace
}  // namespace pipe_internal
}  // namespace mp
