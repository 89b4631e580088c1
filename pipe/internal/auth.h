// The authkey handshake of Python's multiprocessing.connection
// (deliver_challenge / answer_challenge), both protocol generations:
//
//   server: "#CHALLENGE#" + "{sha256}" + 40 random bytes
//   client: "{sha256}" + HMAC-SHA256(authkey, "{sha256}" + random)
//           (Python <= 3.11: a bare 16-byte HMAC-MD5 of the same message)
//   server: "#WELCOME#" or "#FAILURE#"
//
// and then the same with the roles swapped. A challenge of 20 bytes without
// a prefix comes from Python <= 3.11 and gets a bare HMAC-MD5 answer. Every
// message read before the peer has proven the key is capped at 256 bytes,
// and digests are compared in constant time.
//
// DeliverChallenge and AnswerChallenge block on one connection. The
// Listener instead runs many clients' handshakes in one loop that must not
// block on any of them: ServerHandshake is its side as steps, fed by
// CappedReader a piece at a time.

#ifndef MP_PIPE_INTERNAL_AUTH_H_
#define MP_PIPE_INTERNAL_AUTH_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/deadline.h"
#include "pipe/internal/framing.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_internal {

// Poses the challenge and checks the answer; tells the peer the verdict.
absl::Status DeliverChallenge(Connection& c, absl::string_view authkey,
                              Deadline deadline);

// Answers the peer's challenge and reads its verdict.
absl::Status AnswerChallenge(Connection& c, absl::string_view authkey,
                             Deadline deadline);

// The Listener's side, DeliverChallenge and then AnswerChallenge, one
// message at a time. How the messages travel is the caller's.
class ServerHandshake {
 public:
  // The first message to send: the challenge. Call once.
  absl::StatusOr<std::string> Start();

  // Takes the peer's next message. `*reply` is set to what goes back, if
  // anything -- also when the returned error ends the handshake: the peer
  // is told #FAILURE#, as Python tells it.
  absl::Status Receive(absl::string_view authkey, absl::string_view message,
                       std::optional<std::string>* reply);

  // Both sides have proven the key; nothing of what follows was read.
  bool done() const { return step_ == Step::kDone; }

 private:
  enum class Step { kStart, kResponse, kChallenge, kVerdict, kDone, kFailed };
  Step step_ = Step::kStart;
  // The challenge posed, without "#CHALLENGE#".
  std::string message_;
};

// One message in Python's stream framing from a peer that has not proven
// the key, read in whatever pieces arrive. It asks for exactly the bytes the
// message still lacks, so what the peer sends after it stays unread, and
// refuses a length over 256 bytes before reading any payload.
class CappedReader {
 public:
  // Where the next bytes go; never empty.
  absl::Span<char> Room();

  // Records that `n` bytes (at least one) arrived at Room(). An error
  // (AuthenticationError) for a length Python's recv_bytes(256) refuses.
  absl::Status Got(size_t n);

  // What end of file now means: EofError between messages, an
  // AuthenticationError inside one.
  absl::Status Eof() const;

  // A whole message is there, for Take().
  bool complete() const { return complete_; }

  // The message, once complete(); the reader then starts on the next.
  std::string Take();

 private:
  absl::Status StartPayload(uint64_t length);

  unsigned char header_[kLongHeader];
  size_t header_got_ = 0;
  // kShortHeader, or kLongHeader once the first four bytes say so.
  size_t header_size_ = kShortHeader;
  bool in_payload_ = false;
  std::string payload_;
  size_t payload_got_ = 0;
  bool complete_ = false;
};

}  // namespace pipe_internal
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_AUTH_H_
