// The handshake against scripted peers: Python 3.11's legacy HMAC-MD5,
// Python 3.12's "{digest}" messages, and peers that break the protocol.
#include "pipe/internal/auth.h"

#include <optional>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/deadline.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/internal/crypto.h"
#include "pipe/internal/test_util.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_internal {
namespace {

constexpr absl::string_view kKey = "authkey";

using pipe_test::MakePipe;

std::string Mac(Digest d, absl::string_view key, absl::string_view msg) {
  absl::StatusOr<std::string> m = Hmac(d, key, msg);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : "";
}

// Runs DeliverChallenge on `ours` in a thread while `peer` (the test) reads
// the challenge and answers with `answer(message)`. Returns our status and
// what the peer was told.
struct Delivered {
  absl::Status status;
  std::string challenge;
  std::string verdict;
};

template <typename AnswerFn>
Delivered Deliver(AnswerFn answer) {
  auto [ours, peer] = MakePipe();
  Delivered d;
  std::thread t([&, &ours = ours] {
    d.status = DeliverChallenge(ours, kKey, Deadline::Never());
  });
  d.challenge = *peer.RecvBytes();
  EXPECT_TRUE(absl::StartsWith(d.challenge, "#CHALLENGE#"));
  std::string message = d.challenge.substr(11);
  EXPECT_TRUE(peer.SendBytes(answer(message)).ok());
  absl::StatusOr<std::string> verdict = peer.RecvBytes();
  t.join();
  d.verdict = verdict.ok() ? *verdict : "";
  return d;
}

TEST(DeliverChallengeTest, ChallengeIsSha256PrefixedAndFresh) {
  Delivered a = Deliver([](absl::string_view m) {
    return absl::StrCat("{sha256}", Mac(Digest::kSha256, kKey, m));
  });
  Delivered b = Deliver([](absl::string_view m) {
    return absl::StrCat("{sha256}", Mac(Digest::kSha256, kKey, m));
  });
  EXPECT_TRUE(a.status.ok()) << a.status;
  EXPECT_EQ(a.verdict, "#WELCOME#");
  EXPECT_TRUE(absl::StartsWith(a.challenge, "#CHALLENGE#{sha256}"));
  EXPECT_EQ(a.challenge.size(), 11u + 8u + 40u);
  EXPECT_NE(a.challenge, b.challenge);
}

// Python <= 3.11 answers any challenge with a bare HMAC-MD5 of it, prefix
// and all.
TEST(DeliverChallengeTest, AcceptsALegacyMd5Answer) {
  Delivered d =
      Deliver([](absl::string_view m) { return Mac(Digest::kMd5, kKey, m); });
  EXPECT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.verdict, "#WELCOME#");
}

// Python 3.12 lets the answer name any digest it allows.
TEST(DeliverChallengeTest, AcceptsAnotherAllowedDigest) {
  Delivered d = Deliver([](absl::string_view m) {
    return absl::StrCat("{sha384}", Mac(Digest::kSha384, kKey, m));
  });
  EXPECT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.verdict, "#WELCOME#");
}

TEST(DeliverChallengeTest, RefusesAWrongKey) {
  Delivered d = Deliver([](absl::string_view m) {
    return absl::StrCat("{sha256}", Mac(Digest::kSha256, "not it", m));
  });
  EXPECT_TRUE(IsAuthenticationError(d.status)) << d.status;
  EXPECT_EQ(d.status.message(), "digest received was wrong");
  EXPECT_EQ(d.verdict, "#FAILURE#");
}

TEST(DeliverChallengeTest, RefusesAnUnknownDigest) {
  Delivered d = Deliver([](absl::string_view m) {
    return absl::StrCat("{sha1}", std::string(20, 'x'));
  });
  EXPECT_TRUE(IsAuthenticationError(d.status)) << d.status;
  EXPECT_EQ(d.verdict, "#FAILURE#");
}

TEST(DeliverChallengeTest, RefusesADigestOfTheWrongLength) {
  Delivered d = Deliver([](absl::string_view m) {
    return absl::StrCat("{sha256}", Mac(Digest::kSha256, kKey, m).substr(1));
  });
  EXPECT_TRUE(IsAuthenticationError(d.status)) << d.status;
  EXPECT_EQ(d.status.message(), "expected 'sha256' of length 32 got 31");
  EXPECT_EQ(d.verdict, "#FAILURE#");
}

TEST(DeliverChallengeTest, RefusesAnAnswerWithoutPrefixOrLegacyLength) {
  Delivered d = Deliver([](absl::string_view m) {
    return Mac(Digest::kSha256, kKey, m);  // 32 bytes, no "{sha256}"
  });
  EXPECT_TRUE(IsAuthenticationError(d.status)) << d.status;
  EXPECT_EQ(d.verdict, "#FAILURE#");
}

TEST(DeliverChallengeTest, TimesOutOnASilentPeer) {
  auto [ours, peer] = MakePipe();
  absl::Status s =
      DeliverChallenge(ours, kKey, Deadline::After(absl::Milliseconds(50)));
  EXPECT_TRUE(IsTimeout(s)) << s;
}

TEST(DeliverChallengeTest, EofFromAPeerThatLeft) {
  auto [ours, peer] = MakePipe();
  ASSERT_TRUE(peer.Close().ok());
  absl::Status s = DeliverChallenge(ours, kKey, Deadline::Never());
  EXPECT_FALSE(s.ok());
}

// Runs AnswerChallenge on `ours` in a thread; the test poses `challenge`,
// checks the answer with `check`, and sends the verdict it returns.
template <typename CheckFn>
absl::Status Answer(absl::string_view challenge, CheckFn check) {
  auto [ours, peer] = MakePipe();
  absl::Status status;
  std::thread t([&, &ours = ours] {
    status = AnswerChallenge(ours, kKey, Deadline::Never());
  });
  EXPECT_TRUE(peer.SendBytes(challenge).ok());
  absl::StatusOr<std::string> answer = peer.RecvBytes();
  if (answer.ok()) {
    EXPECT_TRUE(peer.SendBytes(check(*answer)).ok());
  }
  t.join();
  return status;
}

// What Python 3.11's deliver_challenge sends: 20 random bytes, no prefix.
TEST(AnswerChallengeTest, AnswersALegacyChallengeWithBareMd5) {
  const std::string message(20, '\x07');
  std::string got;
  absl::Status s = Answer(absl::StrCat("#CHALLENGE#", message),
                          [&](const std::string& answer) {
                            got = answer;
                            return std::string("#WELCOME#");
                          });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(got, Mac(Digest::kMd5, kKey, message));
}

TEST(AnswerChallengeTest, AnswersAModernChallengeInItsDigest) {
  for (Digest d : {Digest::kSha256, Digest::kSha384, Digest::kMd5}) {
    const std::string message =
        absl::StrCat("{", DigestName(d), "}", std::string(40, 'r'));
    std::string got;
    absl::Status s = Answer(absl::StrCat("#CHALLENGE#", message),
                            [&](const std::string& answer) {
                              got = answer;
                              return std::string("#WELCOME#");
                            });
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(got,
              absl::StrCat("{", DigestName(d), "}", Mac(d, kKey, message)));
  }
}

TEST(AnswerChallengeTest, FailureVerdictIsAnAuthenticationError) {
  absl::Status s =
      Answer(absl::StrCat("#CHALLENGE#{sha256}", std::string(40, 'r')),
             [](const std::string&) { return std::string("#FAILURE#"); });
  EXPECT_TRUE(IsAuthenticationError(s)) << s;
  EXPECT_EQ(s.message(), "digest sent was rejected");
}

TEST(AnswerChallengeTest, RefusesSomethingThatIsNotAChallenge) {
  auto [ours, peer] = MakePipe();
  ASSERT_TRUE(peer.SendBytes("#HELLO#").ok());
  absl::Status s = AnswerChallenge(ours, kKey, Deadline::Never());
  EXPECT_TRUE(IsAuthenticationError(s)) << s;
}

TEST(AnswerChallengeTest, RefusesAShortChallenge) {
  auto [ours, peer] = MakePipe();
  ASSERT_TRUE(peer.SendBytes("#CHALLENGE#short").ok());
  absl::Status s = AnswerChallenge(ours, kKey, Deadline::Never());
  EXPECT_TRUE(IsAuthenticationError(s)) << s;
  EXPECT_EQ(s.message(), "challenge too short: 5 bytes");
}

TEST(AnswerChallengeTest, RefusesAChallengeInAnUnknownDigest) {
  auto [ours, peer] = MakePipe();
  ASSERT_TRUE(
      peer.SendBytes(absl::StrCat("#CHALLENGE#{sha1}", std::string(40, 'r')))
          .ok());
  absl::Status s = AnswerChallenge(ours, kKey, Deadline::Never());
  EXPECT_TRUE(IsAuthenticationError(s)) << s;
}

TEST(AnswerChallengeTest, RefusesAnOversizedChallenge) {
  auto [ours, peer] = MakePipe();
  ASSERT_TRUE(
      peer.SendBytes(absl::StrCat("#CHALLENGE#", std::string(300, 'r'))).ok());
  absl::Status s = AnswerChallenge(ours, kKey, Deadline::Never());
  EXPECT_TRUE(IsAuthenticationError(s)) << s;
}

// Both halves against each other, as Listener and Client run them.
TEST(HandshakeTest, BothDirectionsWithTheSameKey) {
  for (absl::string_view key : {absl::string_view(""), kKey}) {
    auto [server, client] = MakePipe();
    absl::Status client_status;
    std::thread t([&, &client = client] {
      client_status = AnswerChallenge(client, key, Deadline::Never());
      if (client_status.ok()) {
        client_status = DeliverChallenge(client, key, Deadline::Never());
      }
    });
    absl::Status s = DeliverChallenge(server, key, Deadline::Never());
    if (s.ok()) s = AnswerChallenge(server, key, Deadline::Never());
    t.join();
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_TRUE(client_status.ok()) << client_status;
  }
}

// ServerHandshake, the Listener's side in steps, against the blocking
// client side: the messages go over a pipe, one Receive() each.
absl::Status ServeInSteps(Connection& server, absl::string_view key,
                          bool* done) {
  ServerHandshake h;
  MP_ASSIGN_OR_RETURN(std::string challenge, h.Start());
  absl::Status s = server.SendBytes(challenge);
  while (s.ok() && !h.done()) {
    MP_ASSIGN_OR_RETURN(std::string m, server.RecvBytes());
    std::optional<std::string> reply;
    s = h.Receive(key, m, &reply);
    if (reply.has_value()) server.SendBytes(*reply).IgnoreError();
  }
  *done = h.done();
  return s;
}

TEST(ServerHandshakeTest, CompletesAgainstTheClientSide) {
  auto [server, client] = MakePipe();
  absl::Status client_status;
  std::thread t([&, &client = client] {
    client_status = AnswerChallenge(client, kKey, Deadline::Never());
    if (client_status.ok()) {
      client_status = DeliverChallenge(client, kKey, Deadline::Never());
    }
    // What follows the handshake is not the handshake's.
    if (client_status.ok()) client_status = client.SendBytes("after");
  });
  bool done = false;
  absl::Status s = ServeInSteps(server, kKey, &done);
  t.join();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(done);
  EXPECT_TRUE(client_status.ok()) << client_status;
  EXPECT_EQ(*server.RecvBytes(), "after");
}

TEST(ServerHandshakeTest, WrongKeyIsToldFailure) {
  auto [server, client] = MakePipe();
  absl::Status client_status;
  std::thread t([&, &client = client] {
    client_status = AnswerChallenge(client, "other key", Deadline::Never());
  });
  bool done = true;
  absl::Status s = ServeInSteps(server, kKey, &done);
  t.join();
  EXPECT_TRUE(IsAuthenticationError(s)) << s;
  EXPECT_EQ(s.message(), "digest received was wrong");
  EXPECT_FALSE(done);
  EXPECT_TRUE(IsAuthenticationError(client_status)) << client_status;
  EXPECT_EQ(client_status.message(), "digest sent was rejected");
}

TEST(ServerHandshakeTest, NoStepsOutsideTheHandshake) {
  ServerHandshake h;
  std::optional<std::string> reply;
  EXPECT_EQ(h.Receive(kKey, "x", &reply).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(h.Start().ok());
  EXPECT_EQ(h.Start().status().code(), absl::StatusCode::kFailedPrecondition);
}

// Feeds `bytes` to `r` as slowly as a peer can, one byte each time: the
// reader never asks for more than the message still lacks.
absl::Status FeedByteByByte(CappedReader& r, absl::string_view bytes,
                            size_t* used) {
  *used = 0;
  while (!r.complete() && *used < bytes.size()) {
    absl::Span<char> room = r.Room();
    EXPECT_FALSE(room.empty());
    room[0] = bytes[*used];
    ++*used;
    MP_RETURN_IF_ERROR(r.Got(1));
  }
  return absl::OkStatus();
}

TEST(CappedReaderTest, TakesExactlyOneMessageInPieces) {
  CappedReader r;
  const std::string wire("\0\0\0\x05hello\0\0\0\x00\0\0\0\x01!", 19);
  size_t used = 0;
  ASSERT_TRUE(FeedByteByByte(r, wire, &used).ok());
  EXPECT_EQ(used, 9u);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.Take(), "hello");
  // An empty message is whole at its header.
  size_t more = 0;
  ASSERT_TRUE(FeedByteByByte(r, absl::string_view(wire).substr(9), &more).ok());
  EXPECT_EQ(more, 4u);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.Take(), "");
  ASSERT_TRUE(
      FeedByteByByte(r, absl::string_view(wire).substr(13), &more).ok());
  EXPECT_EQ(r.Take(), "!");
  EXPECT_TRUE(IsEof(r.Eof()));
}

TEST(CappedReaderTest, LongHeaderForAShortMessage) {
  CappedReader r;
  const std::string wire("\xff\xff\xff\xff\0\0\0\0\0\0\0\x02ok", 14);
  size_t used = 0;
  ASSERT_TRUE(FeedByteByByte(r, wire, &used).ok());
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.Take(), "ok");
}

TEST(CappedReaderTest, RefusesLengthsPythonRefuses) {
  const std::string refused[] = {
      std::string("\0\0\x01\x01", 4),  // 257 bytes
      std::string("\x80\0\0\0", 4),    // negative
      std::string("\xff\xff\xff\xff\0\0\0\x01\0\0\0\0", 12),
  };
  for (const std::string& wire : refused) {
    CappedReader r;
    size_t used = 0;
    absl::Status s = FeedByteByByte(r, wire, &used);
    EXPECT_TRUE(IsAuthenticationError(s)) << s;
    EXPECT_EQ(used, wire.size());  // refused before any payload
  }
  CappedReader r;
  size_t used = 0;
  ASSERT_TRUE(FeedByteByByte(r, std::string("\0\0\x01\0", 4), &used).ok());
  EXPECT_FALSE(r.complete());  // 256 bytes are allowed
}

TEST(CappedReaderTest, EndOfFileInsideAMessageIsRefused) {
  CappedReader r;
  size_t used = 0;
  ASSERT_TRUE(FeedByteByByte(r, std::string("\0\0", 2), &used).ok());
  EXPECT_TRUE(IsAuthenticationError(r.Eof())) << r.Eof();
}

}  // namespace
}  // namespace pipe_internal
}  // namespace mp
