// Linux: OpenSSL's libcrypto.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <string>

#include "absl/strings/str_cat.h"
#include "pipe/internal/crypto.h"

namespace mp {
namespace pipe_internal {
namespace {

const EVP_MD* EvpOf(Digest digest) {
  switch (digest) {
    case Digest::kMd5:
      return EVP_md5();
    case Digest::kSha256:
      return EVP_sha256();
    case Digest::kSha384:
      return EVP_sha384();
    case Digest::kSha3_256:
      return EVP_sha3_256();
    case Digest::kSha3_384:
      return EVP_sha3_384();
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::string> Hmac(Digest digest, absl::string_view key,
                                 absl::string_view message) {
  const EVP_MD* md = EvpOf(digest);
  if (md == nullptr || key.size() > INT_MAX) {
    return absl::InvalidArgumentError("Hmac: unsupported digest or key size");
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  // OpenSSL wants a non-null key pointer even for an empty key.
  static const char kEmpty[1] = {0};
  const void* key_data = key.empty() ? kEmpty : key.data();
  if (HMAC(md, key_data, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), out, &out_len) == nullptr) {
    // A FIPS-only OpenSSL refuses MD5, as Python's hmac then does.
    return absl::UnimplementedError(
        absl::StrCat("HMAC-", DigestName(digest), " is not available"));
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > INT_MAX || RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                                static_cast<int>(n)) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  return out;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Lengths are public (digest sizes); only the contents must not leak.
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pipe_internal
}  // namespace mp
