// The few cryptographic operations the authkey handshake needs, behind one
// interface: HMAC, random bytes and a constant-time comparison.
//
// Nothing here is written by hand: on Linux the calls go to OpenSSL's
// libcrypto (crypto_openssl.cc), on Windows to the system's CNG / BCrypt API
// (crypto_win.cc). The digests are the ones Python's
// multiprocessing.connection accepts in a "{name}" prefix; MD5 is there for
// the legacy handshake of Python 3.11 and older.
//
// Example:
//
//   absl::StatusOr<std::string> mac =
//       Hmac(Digest::kSha256, authkey, challenge);
//   if (mac.ok() && ConstantTimeEquals(*mac, response)) { ... }

#ifndef MP_PIPE_INTERNAL_CRYPTO_H_
#define MP_PIPE_INTERNAL_CRYPTO_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mp {
namespace pipe_internal {

enum class Digest { kMd5, kSha256, kSha384, kSha3_256, kSha3_384 };

// Python's name of a digest ("md5", "sha256", "sha3_256", ...) and back.
absl::string_view DigestName(Digest digest);
std::optional<Digest> DigestFromName(absl::string_view name);

// HMAC of `message` under `key`. kUnimplemented when the platform's library
// lacks the digest (SHA-3 on older Windows).
absl::StatusOr<std::string> Hmac(Digest digest, absl::string_view key,
                                 absl::string_view message);

// `n` bytes from the system's cryptographic random number generator.
absl::StatusOr<std::string> RandomBytes(size_t n);

// Whether `a` and `b` are equal, in time that depends only on their lengths.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace pipe_internal
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_CRYPTO_H_
