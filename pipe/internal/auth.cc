#include "pipe/internal/auth.h"

#include <optional>
#include <string>
#include <utility>

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

// A message refused unread, or cut short, in authentication terms.
absl::Status BadMessage(absl::string_view why) {
  return AuthenticationError(
      absl::StrCat("unauthenticated peer sent a bad message: ", why));
}

// A received message, with any failure put in authentication terms: a
// peer that has not proven the key gets no benefit of the doubt.
absl::StatusOr<std::string> RecvCapped(Connection& c, Deadline deadline) {
  absl::StatusOr<std::string> m =
      ConnectionIo::RecvBytesUntil(c, kMaxUnauthenticated, deadline);
  if (m.ok() || IsTimeout(m.status()) || IsEof(m.status())) return m;
  if (m.status().code() == absl::StatusCode::kResourceExhausted ||
      m.status().code() == absl::StatusCode::kDataLoss) {
    return BadMessage(m.status().message());
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
  MP_ASSIGN_OR_RETURN(DigestAndPayload r, SplitDigest(response));
  Digest digest = r.digest.value_or(Digest::kMd5);
  absl::StatusOr<std::string> expected = Hmac(digest, authkey, message);
  if (!expected.ok()) {
    return AuthenticationError(
        absl::StrCat("response digest '", DigestName(digest),
                     "' unsupported: ", expected.status().message()));
  }
  if (expected->size() != r.payload.size()) {
    return AuthenticationError(absl::StrCat("expected '", DigestName(digest),
                                            "' of length ", expected->size(),
                                            " got ", r.payload.size()));
  }
  if (!ConstantTimeEquals(*expected, r.payload)) {
    return AuthenticationError("digest received was wrong");
  }
  return absl::OkStatus();
}

// Python's _create_response.
absl::StatusOr<std::string> Respond(absl::string_view authkey,
                                    absl::string_view message) {
  MP_ASSIGN_OR_RETURN(DigestAndPayload m, SplitDigest(message));
  if (!m.digest.has_value()) {
    absl::StatusOr<std::string> md5 = Hmac(Digest::kMd5, authkey, message);
    if (md5.ok()) return md5;
    // No MD5 here (a FIPS build): answer with SHA-256 as Python does; a
    // legacy peer will refuse it.
    m.digest = Digest::kSha256;
  }
  absl::StatusOr<std::string> mac = Hmac(*m.digest, authkey, message);
  if (!mac.ok()) {
    return AuthenticationError(
        absl::StrCat("cannot answer the challenge: ", mac.status().message()));
  }
  return absl::StrCat("{", DigestName(*m.digest), "}", *mac);
}

// The challenge to pose, without "#CHALLENGE#": Python's, in SHA-256.
absl::StatusOr<std::string> NewChallenge() {
  MP_ASSIGN_OR_RETURN(std::string random, RandomBytes(kMessageLength));
  return absl::StrCat("{sha256}", random);
}

// The answer to `challenge`, a whole "#CHALLENGE#..." message.
absl::StatusOr<std::string> AnswerTo(absl::string_view authkey,
                                     absl::string_view challenge) {
  absl::string_view message = challenge;
  if (!absl::ConsumePrefix(&message, kChallenge)) {
    return AuthenticationError("protocol error, expected a challenge");
  }
  if (message.size() < kLegacyChallengeLength) {
    return AuthenticationError(
        absl::StrCat("challenge too short: ", message.size(), " bytes"));
  }
  return Respond(authkey, message);
}

absl::Status CheckVerdict(absl::string_view verdict) {
  if (verdict != kWelcome) {
    return AuthenticationError("digest sent was rejected");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DeliverChallenge(Connection& c, absl::string_view authkey,
                              Deadline deadline) {
  MP_ASSIGN_OR_RETURN(std::string message, NewChallenge());
  MP_RETURN_IF_ERROR(c.SendBytes(absl::StrCat(kChallenge, message)));
  MP_ASSIGN_OR_RETURN(std::string response, RecvCapped(c, deadline));
  absl::Status verdict = Verify(authkey, message, response);
  absl::Status s = c.SendBytes(verdict.ok() ? kWelcome : kFailure);
  if (!verdict.ok()) return verdict;
  return s;
}

absl::Status AnswerChallenge(Connection& c, absl::string_view authkey,
                             Deadline deadline) {
  MP_ASSIGN_OR_RETURN(std::string challenge, RecvCapped(c, deadline));
  MP_ASSIGN_OR_RETURN(std::string digest, AnswerTo(authkey, challenge));
  MP_RETURN_IF_ERROR(c.SendBytes(digest));
  MP_ASSIGN_OR_RETURN(std::string verdict, RecvCapped(c, deadline));
  return CheckVerdict(verdict);
}

absl::StatusOr<std::string> ServerHandshake::Start() {
  if (step_ != Step::kStart) {
    return absl::FailedPreconditionError("handshake already started");
  }
  MP_ASSIGN_OR_RETURN(std::string message, NewChallenge());
  message_ = std::move(message);
  step_ = Step::kResponse;
  return absl::StrCat(kChallenge, message_);
}

absl::Status ServerHandshake::Receive(absl::string_view authkey,
                                      absl::string_view message,
                                      std::optional<std::string>* reply) {
  reply->reset();
  absl::Status s;
  Step next = Step::kFailed;
  switch (step_) {
    case Step::kResponse:
      s = Verify(authkey, message_, message);
      *reply = std::string(s.ok() ? kWelcome : kFailure);
      next = Step::kChallenge;
      break;
    case Step::kChallenge: {
      absl::StatusOr<std::string> digest = AnswerTo(authkey, message);
      if (digest.ok()) *reply = *std::move(digest);
      s = digest.status();
      next = Step::kVerdict;
      break;
    }
    case Step::kVerdict:
      s = CheckVerdict(message);
      next = Step::kDone;
      break;
    case Step::kStart:
    case Step::kDone:
    case Step::kFailed:
      return absl::FailedPreconditionError("handshake is not under way");
  }
  step_ = s.ok() ? next : Step::kFailed;
  return s;
}

absl::Span<char> CappedReader::Room() {
  if (in_payload_) {
    return absl::MakeSpan(payload_.data() + payload_got_,
                          payload_.size() - payload_got_);
  }
  return absl::MakeSpan(reinterpret_cast<char*>(header_) + header_got_,
                        header_size_ - header_got_);
}

absl::Status CappedReader::Got(size_t n) {
  if (in_payload_) {
    payload_got_ += n;
    complete_ = payload_got_ == payload_.size();
    return absl::OkStatus();
  }
  header_got_ += n;
  if (header_got_ < header_size_) return absl::OkStatus();
  if (header_size_ == kLongHeader) {
    return StartPayload(DecodeLongLength(header_ + kShortHeader));
  }
  uint64_t length = 0;
  switch (DecodeShortHeader(header_, &length)) {
    case ShortHeader::kLength:
      return StartPayload(length);
    case ShortHeader::kLongFollows:
      // Python reads the long length before it compares it with the cap.
      header_size_ = kLongHeader;
      return absl::OkStatus();
    case ShortHeader::kNegative:
      break;
  }
  return BadMessage("bad message length: negative length prefix");
}

absl::Status CappedReader::StartPayload(uint64_t length) {
  if (length > kMaxUnauthenticated) {
    return BadMessage(absl::StrCat("bad message length: the message has ",
                                   length, " bytes, maxlength is ",
                                   kMaxUnauthenticated));
  }
  payload_.resize(static_cast<size_t>(length));
  payload_got_ = 0;
  in_payload_ = true;
  complete_ = length == 0;
  return absl::OkStatus();
}

absl::Status CappedReader::Eof() const {
  if (!in_payload_ && header_got_ == 0) return EofError();
  return BadMessage("got end of file during message");
}

std::string CappedReader::Take() {
  std::string out = std::move(payload_);
  payload_.clear();
  header_got_ = 0;
  header_size_ = kShortHeader;
  in_payload_ = false;
  payload_got_ = 0;
  complete_ = false;
  return out;
}

}  // namespace pipe_internal
}  // namespace mp
