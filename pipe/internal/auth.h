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

#ifndef MP_PIPE_INTERNAL_AUTH_H_
#define MP_PIPE_INTERNAL_AUTH_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "base/deadline.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_internal {

// Poses the challenge and checks the answer; tells the peer the verdict.
absl::Status DeliverChallenge(Connection& c, absl::string_view authkey,
                              Deadline deadline);

// Answers the peer's challenge and reads its verdict.
absl::Status AnswerChallenge(Connection& c, absl::string_view authkey,
                             Deadline deadline);

}  // namespace pipe_internal
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_AUTH_H_
