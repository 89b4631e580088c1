#include "pipe/internal/auth.h"

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/status.h"
#include "pipe/internal/connection_io.h"
#include "pipe/internal/crypto.h"

namespace mp {
namespace pipe_internal {
namespace {

constexpr absl::string_view kChallenge = "#CHALLENGE#";
constexpr absl::string_view kWelcome = "#WELCOME#";
constexpr absl::string_view kFailure = "#FAILURE#";
// Random bytes in a challenge (Python's MESSAGE_LENGTH).
constexpr size_t kMessageLength = 40;
// What Python <= 3.11 sends and answers: a 20-byte challenge, a 16-byte MD5.
constexpr size_t kLegacyChallengeLength = 20;
constexpr size_t kMd5DigestLength = 16;
// The longest name in "{name}" (sha3_256).
constexpr size_t kMaxDigestNameLength = 8;
// Python's recv_bytes(256) before the peer is authenticated.
constexpr size_t kMaxUnauthenticated = 256;

// A received message, with any failure put in authentication terms: a
// peer that has not proven the key gets no benefit of the doubt.
absl::StatusOr<std::string> RecvCapped(Connection& c, Deadline deadline) {
  absl::StatusOr<std::string> m =
      ConnectionIo::RecvBytesUntil(c, kMaxUnauthenticated, deadline);
  if (m.ok() || IsTimeout(m.status()) || IsEof(m.status())) return m;
  if (m.status().code() == absl::StatusCode::kResourceExhausted ||
      m.status().code() == absl::StatusCode::kDataLoss) {
    return AuthenticationError(absl::StrCat(
        "unauthenticated peer sent a bad message: ", m.status().message()));
  }
  return m;
}

struct DigestAndPayload {
  std::optional<Digest> digest;  // nullopt: legacy, bare HMAC-MD5
  absl::string_view payload;
};

// Python's _get_digest_name_and_payload.
absl::StatusOr<DigestAndPayload> SplitDigest(absl::string_view message) {
  if (message.size() == kLegacyChallengeLength ||
      message.size() == kMd5DigestLength) {
    return DigestAndPayload{std::nullopt, message};
  }
  if (absl::StartsWith(message, "{")) {
    size_t curly = message.substr(0, kMaxDigestNameLength + 2).find('}', 1);
    if (curly != absl::string_view::npos) {
      std::optional<Digest> d = DigestFromName(message.substr(1, curly - 1));
      if (d.has_value()) return DigestAndPayload{d, message.substr(curly + 1)};
    }
  }
  return AuthenticationError(
      absl::StrCat("unsupported message length, missing digest prefix, or "
                   "unsupported digest (a message of ",
                   message.size(), " bytes)"));
}

// Python's _verify_challenge.
absl::Status Verify(absl::string_view authkey, absl::string_view message,
                    absl::string_view response) {
  absl::StatusOr<DigestAndPayload> r = SplitDigest(response);
  if (!r.ok()) return r.status();
  Digest digest = r->digest.value_or(Digest::kMd5);
  absl::StatusOr<std::string> expected = Hmac(digest, authkey, message);
  if (!expected.ok()) {
    return AuthenticationError(
        absl::StrCat("response digest '", DigestName(digest),
                     "' unsupported: ", expected.status().message()));
  }
  if (expected->size() != r->payload.size()) {
    return AuthenticationError(absl::StrCat("expected '", DigestName(digest),
                                            "' of length ", expected->size(),
                                            " got ", r->payload.size()));
  }
  if (!ConstantTimeEquals(*expected, r->payload)) {
    return AuthenticationError("digest received was wrong");
  }
  return absl::OkStatus();
}

// Python's _create_response.
absl::StatusOr<std::string> Respond(absl::string_view authkey,
                                    absl::string_view message) {
  absl::StatusOr<DigestAndPayload> m = SplitDigest(message);
  if (!m.ok()) return m.status();
  if (!m->digest.has_value()) {
    absl::StatusOr<std::string> md5 = Hmac(Digest::kMd5, authkey, message);
    if (md5.ok()) return md5;
    // No MD5 here (a FIPS build): answer with SHA-256 as Python does; a
    // legacy peer will refuse it.
    m->digest = Digest::kSha256;
  }
  absl::StatusOr<std::string> mac = Hmac(*m->digest, authkey, message);
  if (!mac.ok()) {
    return AuthenticationError(
        absl::StrCat("cannot answer the challenge: ", mac.status().message()));
  }
  return absl::StrCat("{", DigestName(*m->digest), "}", *mac);
}

}  // namespace

absl::Status DeliverChallenge(Connection& c, absl::string_view authkey,
                              Deadline deadline) {
  absl::StatusOr<std::string> random = RandomBytes(kMessageLength);
  if (!random.ok()) return random.status();
  const std::string message = absl::StrCat("{sha256}", *random);
  absl::Status s = c.SendBytes(absl::StrCat(kChallenge, message));
  if (!s.ok()) return s;
  absl::StatusOr<std::string> response = RecvCapped(c, deadline);
  if (!response.ok()) return response.status();
  absl::Status verdict = Verify(authkey, message, *response);
  s = c.SendBytes(verdict.ok() ? kWelcome : kFailure);
  if (!verdict.ok()) return verdict;
  return s;
}

absl::Status AnswerChallenge(Connection& c, absl::string_view authkey,
                             Deadline deadline) {
  absl::StatusOr<std::string> challenge = RecvCapped(c, deadline);
  if (!challenge.ok()) return challenge.status();
  absl::string_view message = *challenge;
  if (!absl::ConsumePrefix(&message, kChallenge)) {
    return AuthenticationError("protocol error, expected a challenge");
  }
  if (message.size() < kLegacyChallengeLength) {
    return AuthenticationError(
        absl::StrCat("challenge too short: ", message.size(), " bytes"));
  }
  absl::StatusOr<std::string> digest = Respond(authkey, message);
  if (!digest.ok()) return digest.status();
  absl::Status s = c.SendBytes(*digest);
  if (!s.ok()) return s;
  absl::StatusOr<std::string> verdict = RecvCapped(c, deadline);
  if (!verdict.ok()) return verdict.status();
  if (*verdict != kWelcome) {
    return AuthenticationError("digest sent was rejected");
  }
  return absl::OkStatus();
}

}  // namespace pipe_internal
}  // namespace mp
