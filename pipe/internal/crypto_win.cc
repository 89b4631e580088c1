// Windows: the system's CNG (BCrypt) API.
#include <windows.h>
// windows.h first: bcrypt.h needs its types.
#include <bcrypt.h>

#include <climits>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipe/internal/crypto.h"

namespace mp {
namespace pipe_internal {
namespace {

// SHA-3 names of Windows 11 24H2's CNG; older systems and Wine lack them.
const wchar_t* AlgorithmOf(Digest digest) {
  switch (digest) {
    case Digest::kMd5:
      return BCRYPT_MD5_ALGORITHM;
    case Digest::kSha256:
      return BCRYPT_SHA256_ALGORITHM;
    case Digest::kSha384:
      return BCRYPT_SHA384_ALGORITHM;
    case Digest::kSha3_256:
      return L"SHA3-256";
    case Digest::kSha3_384:
      return L"SHA3-384";
  }
  return nullptr;
}

absl::Status CngError(NTSTATUS status, absl::string_view what) {
  return absl::InternalError(absl::StrFormat("%s failed: NTSTATUS 0x%08x", what,
                                             static_cast<unsigned>(status)));
}

class Algorithm {
 public:
  ~Algorithm() {
    if (handle_ != nullptr) BCryptCloseAlgorithmProvider(handle_, 0);
  }
  BCRYPT_ALG_HANDLE* out() { return &handle_; }
  BCRYPT_ALG_HANDLE get() const { return handle_; }

 private:
  BCRYPT_ALG_HANDLE handle_ = nullptr;
};

class Hash {
 public:
  ~Hash() {
    if (handle_ != nullptr) BCryptDestroyHash(handle_);
  }
  BCRYPT_HASH_HANDLE* out() { return &handle_; }
  BCRYPT_HASH_HANDLE get() const { return handle_; }

 private:
  BCRYPT_HASH_HANDLE handle_ = nullptr;
};

}  // namespace

absl::StatusOr<std::string> Hmac(Digest digest, absl::string_view key,
                                 absl::string_view message) {
  if (key.size() > ULONG_MAX || message.size() > ULONG_MAX) {
    return absl::InvalidArgumentError("Hmac: key or message too large");
  }
  Algorithm alg;
  NTSTATUS st = BCryptOpenAlgorithmProvider(
      alg.out(), AlgorithmOf(digest), nullptr, BCRYPT_ALG_HANDLE_HMAC_FLAG);
  if (!BCRYPT_SUCCESS(st)) {
    return absl::UnimplementedError(
        absl::StrCat("HMAC-", DigestName(digest), " is not available"));
  }
  DWORD length = 0;
  ULONG got = 0;
  st = BCryptGetProperty(alg.get(), BCRYPT_HASH_LENGTH,
                         reinterpret_cast<PUCHAR>(&length), sizeof length, &got,
                         0);
  if (!BCRYPT_SUCCESS(st)) return CngError(st, "BCryptGetProperty");
  // CNG copies the key; an empty key still needs a valid pointer.
  UCHAR empty = 0;
  PUCHAR key_data =
      key.empty() ? &empty
                  : reinterpret_cast<PUCHAR>(const_cast<char*>(key.data()));
  Hash hash;
  st = BCryptCreateHash(alg.get(), hash.out(), nullptr, 0, key_data,
                        static_cast<ULONG>(key.size()), 0);
  if (!BCRYPT_SUCCESS(st)) return CngError(st, "BCryptCreateHash");
  if (!message.empty()) {
    st = BCryptHashData(
        hash.get(), reinterpret_cast<PUCHAR>(const_cast<char*>(message.data())),
        static_cast<ULONG>(message.size()), 0);
    if (!BCRYPT_SUCCESS(st)) return CngError(st, "BCryptHashData");
  }
  std::string out(length, '\0');
  st = BCryptFinishHash(hash.get(), reinterpret_cast<PUCHAR>(out.data()),
                        length, 0);
  if (!BCRYPT_SUCCESS(st)) return CngError(st, "BCryptFinishHash");
  return out;
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  if (n > ULONG_MAX) return absl::InvalidArgumentError("RandomBytes: too many");
  std::string out(n, '\0');
  if (n == 0) return out;
  NTSTATUS st =
      BCryptGenRandom(nullptr, reinterpret_cast<PUCHAR>(out.data()),
                      static_cast<ULONG>(n), BCRYPT_USE_SYSTEM_PREFERRED_RNG);
  if (!BCRYPT_SUCCESS(st)) return CngError(st, "BCryptGenRandom");
  return out;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // CNG has no comparison of its own. Lengths are public (digest sizes);
  // the loop touches every byte whatever the contents, and the volatile
  // accumulator keeps the compiler from stopping early.
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace pipe_internal
}  // namespace mp
