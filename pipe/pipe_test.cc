// Connection and Pipe within one process (threads stand in for the other
// side where a send must not block the test). Multi-process behaviour is in
// pipe_fork_test.cc and the Process-argument tests.
#include "pipe/pipe.h"

#ifndef _WIN32
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#endif

#include <cstddef>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/internal/test_util.h"

namespace mp {
namespace {

using pipe_test::MakePipe;

class PipeTest : public testing::TestWithParam<bool> {
 protected:
  bool duplex() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(DuplexAndOneWay, PipeTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Duplex" : "OneWay";
                         });

TEST_P(PipeTest, EndsHaveTheRightDirections) {
  auto [a, b] = MakePipe(duplex());
  EXPECT_TRUE(a.readable());
  EXPECT_EQ(a.writable(), duplex());
  EXPECT_EQ(b.readable(), duplex());
  EXPECT_TRUE(b.writable());
  EXPECT_FALSE(a.closed());
  EXPECT_TRUE(IsValidHandle(a.handle()));
}

TEST_P(PipeTest, MessageBoundariesAreKept) {
  auto [reader, writer] = MakePipe(duplex());
  for (const char* m : {"a", "b", "cd", ""}) {
    ASSERT_TRUE(writer.SendBytes(m).ok());
  }
  ASSERT_TRUE(writer.SendBytes("").ok());
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<std::string> m = reader.RecvBytes();
    ASSERT_TRUE(m.ok()) << m.status();
    got.push_back(*m);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "cd", "", ""}));
  EXPECT_FALSE(*reader.Poll());
}

TEST_P(PipeTest, BinaryPayloadSurvives) {
  auto [reader, writer] = MakePipe(duplex());
  std::string payload;
  for (int i = 0; i < 256; ++i) payload.push_back(static_cast<char>(i));
  ASSERT_TRUE(writer.SendBytes(payload).ok());
  EXPECT_EQ(*reader.RecvBytes(), payload);
}

TEST_P(PipeTest, SixtyFourMebibyteMessage) {
  auto [reader, writer] = MakePipe(duplex());
  std::string big(64 << 20, '\0');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i);
  big.back() = 'z';
  std::thread sender([&] { EXPECT_TRUE(writer.SendBytes(big).ok()); });
  absl::StatusOr<std::string> got = reader.RecvBytes();
  sender.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == big);
}

TEST_P(PipeTest, SendBytesOffsetAndSize) {
  auto [reader, writer] = MakePipe(duplex());
  ASSERT_TRUE(writer.SendBytes("0123456789", 2).ok());
  ASSERT_TRUE(writer.SendBytes("0123456789", 2, 3).ok());
  ASSERT_TRUE(writer.SendBytes("0123456789", 10).ok());
  EXPECT_EQ(*reader.RecvBytes(), "23456789");
  EXPECT_EQ(*reader.RecvBytes(), "234");
  EXPECT_EQ(*reader.RecvBytes(), "");
}

TEST_P(PipeTest, SendBytesRejectsBadOffsetAndSize) {
  auto [reader, writer] = MakePipe(duplex());
  absl::Status s = writer.SendBytes("abc", 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "buffer length < offset");
  s = writer.SendBytes("abc", 1, 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "buffer length < offset + size");
  // Nothing was sent by the refused calls.
  EXPECT_FALSE(*reader.Poll());
}

TEST_P(PipeTest, RecvBytesIntoReturnsTheByteCount) {
  auto [reader, writer] = MakePipe(duplex());
  ASSERT_TRUE(writer.SendBytes("hello").ok());
  ASSERT_TRUE(writer.SendBytes("world").ok());
  char buf[16] = {0};
  absl::StatusOr<size_t> n = reader.RecvBytesInto(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(std::string(buf, 5), "hello");
  n = reader.RecvBytesInto(absl::MakeSpan(buf), 8);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(std::string(buf, 13), std::string("hello\0\0\0world", 13));
}

TEST_P(PipeTest, RecvBytesIntoRejectsAnOffsetPastTheBuffer) {
  auto [reader, writer] = MakePipe(duplex());
  ASSERT_TRUE(writer.SendBytes("x").ok());
  char buf[4];
  absl::StatusOr<size_t> n = reader.RecvBytesInto(absl::MakeSpan(buf), 5);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(n.status().message(), "offset too large");
  // The message was not touched.
  n = reader.RecvBytesInto(absl::MakeSpan(buf), 4 - 1);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(buf[3], 'x');
}

// CPython's test_connection: a 40-byte buffer for a longer message.
TEST_P(PipeTest, BufferTooShortReportsTheLengthAndKeepsTheMessage) {
  auto [reader, writer] = MakePipe(duplex());
  const std::string msg(110, 'm');
  ASSERT_TRUE(writer.SendBytes(msg).ok());
  ASSERT_TRUE(writer.SendBytes("next").ok());
  char small[40];
  absl::StatusOr<size_t> n = reader.RecvBytesInto(absl::MakeSpan(small));
  ASSERT_TRUE(IsBufferTooShort(n.status())) << n.status();
  EXPECT_EQ(MessageLength(n.status()), 110u);
  // Too short by the offset alone counts too.
  char exact[110];
  n = reader.RecvBytesInto(absl::MakeSpan(exact), 1);
  ASSERT_TRUE(IsBufferTooShort(n.status())) << n.status();
  // Still there and still first: the connection reports input waiting.
  EXPECT_TRUE(*reader.Poll());
  n = reader.RecvBytesInto(absl::MakeSpan(exact));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 110u);
  EXPECT_EQ(std::string(exact, 110), msg);
  EXPECT_EQ(*reader.RecvBytes(), "next");
}

TEST_P(PipeTest, MaxlengthExceededIsRefusedAndTheMessageKept) {
  auto [reader, writer] = MakePipe(duplex());
  ASSERT_TRUE(writer.SendBytes("0123456789").ok());
  absl::StatusOr<std::string> m = reader.RecvBytes(9);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(IsBufferTooShort(m.status()));
  EXPECT_NE(m.status().message().find("bad message length"),
            absl::string_view::npos);
  m = reader.RecvBytes(10);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "0123456789");
}

// CPython's test_connection: poll() with and without a timeout.
TEST_P(PipeTest, PollWaitsAtLeastTheTimeoutAndSeesASend) {
  auto [reader, writer] = MakePipe(duplex());
  EXPECT_FALSE(*reader.Poll());
  EXPECT_FALSE(*reader.Poll(absl::ZeroDuration()));
  absl::Time start = absl::Now();
  EXPECT_FALSE(*reader.Poll(absl::Milliseconds(100)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  ASSERT_TRUE(writer.SendBytes("x").ok());
  EXPECT_TRUE(*reader.Poll());
  EXPECT_TRUE(*reader.Poll(absl::InfiniteDuration()));
  EXPECT_EQ(*reader.RecvBytes(), "x");
  EXPECT_FALSE(*reader.Poll());
}

TEST_P(PipeTest, PollWithoutTimeoutWaitsForTheMessage) {
  auto [reader, writer] = MakePipe(duplex());
  std::thread sender([&] {
    absl::SleepFor(absl::Milliseconds(20));  // the other side's work
    EXPECT_TRUE(writer.SendBytes("late").ok());
  });
  EXPECT_TRUE(*reader.Poll(absl::InfiniteDuration()));
  sender.join();
  EXPECT_EQ(*reader.RecvBytes(), "late");
}

TEST_P(PipeTest, EofAfterThePeerClosesAndTheMessagesAreDrained) {
  auto [reader, writer] = MakePipe(duplex());
  ASSERT_TRUE(writer.SendBytes("one").ok());
  ASSERT_TRUE(writer.SendBytes("two").ok());
  ASSERT_TRUE(writer.Close().ok());
  EXPECT_TRUE(*reader.Poll());
  EXPECT_EQ(*reader.RecvBytes(), "one");
  EXPECT_EQ(*reader.RecvBytes(), "two");
  // EOF is input too: Poll says so rather than blocking.
  EXPECT_TRUE(*reader.Poll(absl::InfiniteDuration()));
  absl::StatusOr<std::string> m = reader.RecvBytes();
  EXPECT_TRUE(IsEof(m.status())) << m.status();
  char buf[4];
  EXPECT_TRUE(IsEof(reader.RecvBytesInto(absl::MakeSpan(buf)).status()));
  // And it stays EOF.
  EXPECT_TRUE(IsEof(reader.RecvBytes().status()));
}

TEST_P(PipeTest, EofWakesABlockedReceiver) {
  auto [reader, writer] = MakePipe(duplex());
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(20));  // the other side's work
    EXPECT_TRUE(writer.Close().ok());
  });
  absl::StatusOr<std::string> m = reader.RecvBytes();
  closer.join();
  EXPECT_TRUE(IsEof(m.status())) << m.status();
}

TEST_P(PipeTest, SendToAClosedPeerFailsWithoutKillingTheProcess) {
  auto [reader, writer] = MakePipe(duplex());
  ASSERT_TRUE(reader.Close().ok());
  // A pipe would raise SIGPIPE here, whose default action ends the process.
  absl::Status s = writer.SendBytes("nobody listens");
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(IsClosed(s));
  s = writer.SendBytes(std::string(1 << 20, 'x'));
  EXPECT_FALSE(s.ok());
}

TEST_P(PipeTest, ClosedEndRefusesEverything) {
  auto [a, b] = MakePipe(duplex());
  ASSERT_TRUE(a.Close().ok());
  EXPECT_TRUE(a.closed());
  EXPECT_FALSE(IsValidHandle(a.handle()));
  ASSERT_TRUE(a.Close().ok());  // twice is fine
  char buf[4];
  EXPECT_TRUE(IsClosed(a.SendBytes("x")));
  EXPECT_TRUE(IsClosed(a.RecvBytes().status()));
  EXPECT_TRUE(IsClosed(a.RecvBytesInto(absl::MakeSpan(buf)).status()));
  EXPECT_TRUE(IsClosed(a.Poll().status()));
  EXPECT_EQ(a.SendBytes("x").message(), "handle is closed");
  Connection never_opened;
  EXPECT_TRUE(never_opened.closed());
  EXPECT_TRUE(IsClosed(never_opened.RecvBytes().status()));
}

TEST(PipeTest, OneWayEndsRefuseTheWrongDirection) {
  auto [reader, writer] = MakePipe(/*duplex=*/false);
  absl::Status s = reader.SendBytes("x");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsClosed(s));
  EXPECT_EQ(s.message(), "connection is read-only");
  absl::StatusOr<std::string> m = writer.RecvBytes();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m.status().message(), "connection is write-only");
  char buf[4];
  EXPECT_EQ(writer.RecvBytesInto(absl::MakeSpan(buf)).status().message(),
            "connection is write-only");
  EXPECT_EQ(writer.Poll().status().message(), "connection is write-only");
  // The refusals did not disturb the pipe.
  ASSERT_TRUE(writer.SendBytes("ok").ok());
  EXPECT_EQ(*reader.RecvBytes(), "ok");
}

TEST(PipeTest, DuplexCarriesBothWays) {
  auto [a, b] = MakePipe(/*duplex=*/true);
  ASSERT_TRUE(a.SendBytes("ping").ok());
  EXPECT_EQ(*b.RecvBytes(), "ping");
  ASSERT_TRUE(b.SendBytes("pong").ok());
  EXPECT_EQ(*a.RecvBytes(), "pong");
}

TEST(PipeTest, EchoRoundTripsInAThread) {
  auto [a, b] = MakePipe(/*duplex=*/true);
  std::thread echo([&b = b] {
    while (true) {
      absl::StatusOr<std::string> m = b.RecvBytes();
      if (!m.ok()) break;
      if (!b.SendBytes(*m).ok()) break;
    }
  });
  for (size_t size : {0, 1, 64, 4096, 70000, 1 << 20}) {
    std::string msg(size, static_cast<char>('a' + size % 26));
    ASSERT_TRUE(a.SendBytes(msg).ok());
    absl::StatusOr<std::string> back = a.RecvBytes();
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->size(), size);
    EXPECT_TRUE(*back == msg);
  }
  ASSERT_TRUE(a.Close().ok());
  echo.join();
}

TEST(PipeTest, MovedConnectionKeepsWorking) {
  auto [a, b] = MakePipe(/*duplex=*/true);
  Connection moved = std::move(a);
  ASSERT_TRUE(moved.SendBytes("x").ok());
  EXPECT_EQ(*b.RecvBytes(), "x");
  EXPECT_TRUE(a.closed());  // NOLINT: checking the moved-from state
}

#ifndef _WIN32
// The most memory this process has held at once so far.
size_t PeakMemory() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
}

// Writes all of `data` to `fd`.
void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << "write: errno " << errno;
    done += static_cast<size_t>(n);
  }
}

// A peer that sends a header claiming 2 GiB, some of the payload, and then
// closes: the receive fails as Python's does, having held memory for what
// came rather than for the claim.
TEST(PipeTest, AClaimedLengthCostsOnlyWhatArrives) {
  constexpr size_t kClaim = 0x7fffffff;  // the largest short header
  constexpr size_t kHeld = size_t{256} << 20;
  for (size_t sent : {size_t{0}, size_t{3} << 20}) {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    OwnedHandle peer(fds[1]);
    absl::StatusOr<Connection> reader =
        Connection::FromHandle(OwnedHandle(fds[0]));
    ASSERT_TRUE(reader.ok()) << reader.status();
    std::thread writer([&] {
      WriteAll(peer.get(), std::string("\x7f\xff\xff\xff", 4));
      WriteAll(peer.get(), std::string(sent, 'p'));
      peer.reset();
    });
    const size_t before = PeakMemory();
    absl::StatusOr<std::string> got = reader->RecvBytes();
    writer.join();
    EXPECT_EQ(got.status(),
              absl::DataLossError("got end of file during message"))
        << "after " << sent << " bytes";
    EXPECT_LT(PeakMemory() - before, kHeld) << "claimed " << kClaim;
  }

  // A long header's claim, a terabyte.
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  absl::StatusOr<Connection> reader =
      Connection::FromHandle(OwnedHandle(fds[0]));
  ASSERT_TRUE(reader.ok()) << reader.status();
  WriteAll(fds[1], std::string("\xff\xff\xff\xff\0\0\1\0\0\0\0\0", 12));
  close(fds[1]);
  EXPECT_EQ(reader->RecvBytes().status(),
            absl::DataLossError("got end of file during message"));

  // Pipe()'s announcement of a payload on its bulk socket, the same way.
  auto [in, out] = MakePipe(/*duplex=*/false);
  WriteAll(out.handle(), std::string("b\0\0\0\0\x7f\xff\xff\xff", 9));
  ASSERT_TRUE(out.Close().ok());
  const size_t before = PeakMemory();
  EXPECT_EQ(in.RecvBytes().status(),
            absl::DataLossError("got end of file during message"));
  EXPECT_LT(PeakMemory() - before, kHeld);
}
#endif

TEST(PipeTest, FromHandleRejectsBadArguments) {
  EXPECT_EQ(Connection::FromHandle(OwnedHandle()).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto [a, b] = MakePipe(/*duplex=*/true);
  OwnedHandle borrowed(a.handle());
  absl::StatusOr<OwnedHandle> dup = borrowed.Duplicate();
  borrowed.release();  // still `a`'s
  ASSERT_TRUE(dup.ok());
  absl::StatusOr<Connection> neither =
      Connection::FromHandle(*std::move(dup), false, false);
  EXPECT_EQ(neither.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WaitTest, TimesOutWithAnEmptyList) {
  auto [a, b] = MakePipe(/*duplex=*/true);
  auto [r, w] = MakePipe(/*duplex=*/false);
  absl::Time start = absl::Now();
  absl::StatusOr<std::vector<size_t>> ready =
      Wait({a, r}, absl::Milliseconds(100));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  ready = Wait({a, r}, absl::ZeroDuration());
  ASSERT_TRUE(ready.ok());
  EXPECT_TRUE(ready->empty());
}

TEST(WaitTest, ReturnsTheReadySubsetInOrder) {
  auto [a, b] = MakePipe(/*duplex=*/true);
  auto [r, w] = MakePipe(/*duplex=*/false);
  auto [x, y] = MakePipe(/*duplex=*/true);
  ASSERT_TRUE(w.SendBytes("1").ok());
  ASSERT_TRUE(y.SendBytes("2").ok());
  absl::StatusOr<std::vector<size_t>> ready = Wait({a, r, x});
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(*r.RecvBytes(), "1");
  ready = Wait({a, r, x});
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, (std::vector<size_t>{2}));
}

TEST(WaitTest, EofCountsAsReady) {
  auto [r, w] = MakePipe(/*duplex=*/false);
  ASSERT_TRUE(w.Close().ok());
  absl::StatusOr<std::vector<size_t>> ready = Wait({r}, absl::Seconds(10));
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
  EXPECT_TRUE(IsEof(r.RecvBytes().status()));
}

TEST(WaitTest, WakesWhenAMessageArrives) {
  auto [a, b] = MakePipe(/*duplex=*/true);
  std::thread sender([&b = b] {
    absl::SleepFor(absl::Milliseconds(20));  // the other side's work
    EXPECT_TRUE(b.SendBytes("hi").ok());
  });
  absl::StatusOr<std::vector<size_t>> ready = Wait({a});
  sender.join();
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
  EXPECT_EQ(*a.RecvBytes(), "hi");
}

TEST(WaitTest, AMessageKeptByBufferTooShortIsReady) {
  auto [r, w] = MakePipe(/*duplex=*/false);
  ASSERT_TRUE(w.SendBytes("longer than four").ok());
  char buf[4];
  ASSERT_TRUE(IsBufferTooShort(r.RecvBytesInto(absl::MakeSpan(buf)).status()));
  absl::StatusOr<std::vector<size_t>> ready = Wait({r}, absl::ZeroDuration());
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
}

// Windows' zero-byte probe takes an empty message off the pipe; the
// connection must still deliver it, once.
TEST(WaitTest, EmptyMessageSeenByWaitOrPollIsStillReceived) {
  auto [r, w] = MakePipe(/*duplex=*/false);
  ASSERT_TRUE(w.SendBytes("").ok());
  ASSERT_TRUE(w.SendBytes("").ok());
  ASSERT_TRUE(w.SendBytes("after").ok());
  absl::StatusOr<std::vector<size_t>> ready = Wait({r}, absl::Seconds(10));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
  ready = Wait({r}, absl::Seconds(10));  // again: still the same message
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
  EXPECT_TRUE(*r.Poll());
  EXPECT_EQ(*r.RecvBytes(), "");
  EXPECT_TRUE(*r.Poll(absl::Seconds(10)));
  char buf[8];
  absl::StatusOr<size_t> n = r.RecvBytesInto(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(*r.RecvBytes(), "after");
  EXPECT_FALSE(*r.Poll());
}

TEST(WaitTest, RejectsAClosedConnection) {
  auto [a, b] = MakePipe(/*duplex=*/true);
  ASSERT_TRUE(a.Close().ok());
  EXPECT_TRUE(IsClosed(Wait({a, b}, absl::ZeroDuration()).status()));
}

}  // namespace
}  // namespace mp
