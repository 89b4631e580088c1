#include "pipe/internal/crypto.h"

namespace mp {
namespace pipe_internal {
namespace {

struct DigestInfo {
  Digest digest;
  absl::string_view name;
};

constexpr DigestInfo kDigests[] = {
    {Digest::kMd5, "md5"},           {Digest::kSha256, "sha256"},
    {Digest::kSha384, "sha384"},     {Digest::kSha3_256, "sha3_256"},
    {Digest::kSha3_384, "sha3_384"},
};

}  // namespace

absl::string_view DigestName(Digest digest) {
  for (const DigestInfo& d : kDigests) {
    if (d.digest == digest) return d.name;
  }
  return "";
}

std::optional<Digest> DigestFromName(absl::string_view name) {
  for (const DigestInfo& d : kDigests) {
    if (d.name == name) return d.digest;
  }
  return std::nullopt;
}

}  // namespace pipe_internal
}  // namespace mp
