// Connections shared with forked children: the producer and consumer of
// examples/tour_pipe.cc, EOF only once every copy of the writing end is
// closed, an echo child, and Wait() over several children and their
// sentinels.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/internal/test_util.h"
#include "pipe/pipe.h"

namespace mp {
namespace {

using pipe_test::CollectUntilEof;
using pipe_test::MakePipe;

// Runs `body` in a forked child, which ends with _exit(body()).
pid_t Fork(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  EXPECT_GT(pid, 0);
  return pid;
}

// The child's exit status, or 100 + signal when a signal ended it.
int Reap(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

// The consumer closes its copy of the input end and receives
// until EOFError; the producer closes the output end, sends, and closes.
TEST(PipeForkTest, SeedProducerConsumerWithUnusedEndsClosed) {
  auto [output_p, input_p] = MakePipe(/*duplex=*/true);
  auto [report_r, report_w] = MakePipe(/*duplex=*/false);
  pid_t consumer =
      Fork([&, &output_p = output_p, &input_p = input_p, &report_w = report_w] {
        if (!input_p.Close().ok()) return 2;
        std::string got;
        while (true) {
          absl::StatusOr<std::string> item = output_p.RecvBytes();
          if (IsEof(item.status())) break;
          if (!item.ok()) return 3;
          absl::StrAppend(&got, *item, " ");
        }
        return report_w.SendBytes(got).ok() ? 0 : 4;
      });
  ASSERT_TRUE(report_w.Close().ok());
  ASSERT_TRUE(output_p.Close().ok());
  for (const char* item : {"1", "2", "3", "4"}) {
    ASSERT_TRUE(input_p.SendBytes(item).ok());
  }
  ASSERT_TRUE(input_p.Close().ok());
  EXPECT_EQ(*report_r.RecvBytes(), "1 2 3 4 ");
  EXPECT_EQ(Reap(consumer), 0);
}

// Closing the writing end in the producer has no effect unless the consumer
// closes its copy of the same end too: a copy left open holds EOF back.
TEST(PipeForkTest, EofWaitsForEveryCopyOfTheWriter) {
  auto [reader, writer] = MakePipe(/*duplex=*/false);
  auto [go_r, go_w] = MakePipe(/*duplex=*/false);
  // The child holds a copy of `writer` until told to let go.
  pid_t child = Fork([&, &reader = reader, &go_r = go_r] {
    reader.Close().IgnoreError();
    absl::StatusOr<std::string> go = go_r.RecvBytes();
    return go.ok() ? 0 : 2;
  });
  ASSERT_TRUE(go_r.Close().ok());
  ASSERT_TRUE(writer.SendBytes("last").ok());
  ASSERT_TRUE(writer.Close().ok());
  EXPECT_EQ(*reader.RecvBytes(), "last");
  // The child's copy is open: no EOF, just nothing to read.
  EXPECT_FALSE(*reader.Poll(absl::Milliseconds(100)));
  ASSERT_TRUE(go_w.SendBytes("go").ok());
  EXPECT_TRUE(IsEof(reader.RecvBytes().status()));
  EXPECT_EQ(Reap(child), 0);
}

// A one-way pipe shared by a writer child and a reader child.
TEST(PipeForkTest, OneWayPipeBetweenTwoChildren) {
  auto [reader, writer] = MakePipe(/*duplex=*/false);
  auto [report_r, report_w] = MakePipe(/*duplex=*/false);
  pid_t put = Fork([&, &reader = reader, &writer = writer] {
    reader.Close().IgnoreError();
    for (const char* v : {"A", "B", "C"}) {
      if (!writer.SendBytes(v).ok()) return 2;
    }
    return 0;
  });
  pid_t get =
      Fork([&, &reader = reader, &writer = writer, &report_w = report_w] {
        writer.Close().IgnoreError();
        std::string got;
        while (true) {
          absl::StatusOr<std::string> v = reader.RecvBytes();
          if (IsEof(v.status())) break;
          if (!v.ok()) return 3;
          got += *v;
        }
        return report_w.SendBytes(got).ok() ? 0 : 4;
      });
  ASSERT_TRUE(reader.Close().ok());
  ASSERT_TRUE(writer.Close().ok());
  ASSERT_TRUE(report_w.Close().ok());
  EXPECT_EQ(*report_r.RecvBytes(), "ABC");
  EXPECT_EQ(Reap(put), 0);
  EXPECT_EQ(Reap(get), 0);
}

// CPython's test_connection: an echo child and round trips of all sizes.
TEST(PipeForkTest, EchoChildRoundTrips) {
  auto [conn, child_conn] = MakePipe(/*duplex=*/true);
  pid_t echo = Fork([&, &conn = conn, &child_conn = child_conn] {
    conn.Close().IgnoreError();
    while (true) {
      absl::StatusOr<std::string> m = child_conn.RecvBytes();
      if (IsEof(m.status())) return 0;
      if (!m.ok() || !child_conn.SendBytes(*m).ok()) return 2;
    }
  });
  ASSERT_TRUE(child_conn.Close().ok());
  for (size_t size : {0, 1, 100, 65536, 1 << 22}) {
    std::string msg(size, static_cast<char>('0' + size % 10));
    ASSERT_TRUE(conn.SendBytes(msg).ok());
    absl::StatusOr<std::string> back = conn.RecvBytes();
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == msg) << "size " << size;
  }
  // Bytes into a buffer, at an offset, as test_connection does.
  ASSERT_TRUE(conn.SendBytes("0123456789", 3, 4).ok());
  char buf[16] = {0};
  absl::StatusOr<size_t> n = conn.RecvBytesInto(absl::MakeSpan(buf), 2);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(std::string(buf + 2, 4), "3456");
  ASSERT_TRUE(conn.Close().ok());
  EXPECT_EQ(Reap(echo), 0);
}

// A process sentinel as process/ hands them out on POSIX: the read end of a
// pipe whose only write end the child holds, readable (EOF) once it exits.
struct FakeProcess {
  pid_t pid = -1;
  OwnedHandle sentinel_fd;
  NativeHandle sentinel() const { return sentinel_fd.get(); }
};

FakeProcess StartWithSentinel(const std::function<int()>& body) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  FakeProcess p;
  p.pid = Fork([&] {
    close(fds[0]);
    return body();
  });
  close(fds[1]);
  p.sentinel_fd.reset(fds[0]);
  return p;
}

// CPython's test_wait: 4 children each send 10 messages and exit; wait()
// collects all 40 and then each child's EOF.
TEST(PipeForkTest, WaitCollectsMessagesAndEofsFromFourChildren) {
  constexpr int kChildren = 4, kMessages = 10;
  std::vector<Connection> readers;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    auto [r, w] = MakePipe(/*duplex=*/false);
    pid_t pid = Fork([&, c, &r = r, &w = w] {
      r.Close().IgnoreError();
      for (Connection& other : readers) other.Close().IgnoreError();
      for (int i = 0; i < kMessages; ++i) {
        if (!w.SendBytes(absl::StrCat(c, ":", i)).ok()) return 2;
        absl::SleepFor(absl::Milliseconds(1));  // the child's work
      }
      return 0;
    });
    ASSERT_TRUE(w.Close().ok());
    readers.push_back(std::move(r));
    pids.push_back(pid);
  }
  std::map<int, std::vector<int>> got;
  ASSERT_NO_FATAL_FAILURE(CollectUntilEof(
      readers,
      [](Connection& r) -> absl::StatusOr<std::pair<int, int>> {
        MP_ASSIGN_OR_RETURN(std::string m, r.RecvBytes());
        std::pair<std::string, std::string> parts = absl::StrSplit(m, ':');
        std::pair<int, int> sent;
        if (!absl::SimpleAtoi(parts.first, &sent.first) ||
            !absl::SimpleAtoi(parts.second, &sent.second)) {
          return absl::DataLossError(absl::StrCat("not \"c:i\": ", m));
        }
        return sent;
      },
      &got));
  for (int c = 0; c < kChildren; ++c) {
    std::vector<int> want;
    for (int i = 0; i < kMessages; ++i) want.push_back(i);
    EXPECT_EQ(got[c], want) << "child " << c;
  }
  for (pid_t pid : pids) EXPECT_EQ(Reap(pid), 0);
}

// CPython's test_wait_sentinel: a sentinel is ready once its process ended.
TEST(PipeForkTest, WaitOnAProcessSentinel) {
  auto [go_r, go_w] = MakePipe(/*duplex=*/false);
  FakeProcess p = StartWithSentinel(
      [&go_r = go_r] { return go_r.RecvBytes().ok() ? 0 : 2; });
  ASSERT_TRUE(go_r.Close().ok());
  absl::StatusOr<std::vector<size_t>> ready = Wait({p}, absl::Milliseconds(50));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->empty());
  ASSERT_TRUE(go_w.SendBytes("exit").ok());
  ready = Wait({p}, absl::Seconds(60));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
  // The sentinel as a raw handle works the same.
  ready = Wait({p.sentinel()}, absl::ZeroDuration());
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
  EXPECT_EQ(Reap(p.pid), 0);
}

// Mixed: a message from one child, the end of another.
TEST(PipeForkTest, WaitOnConnectionsAndSentinelsTogether) {
  auto [a, b] = MakePipe(/*duplex=*/true);
  FakeProcess quick = StartWithSentinel([] { return 0; });
  absl::StatusOr<std::vector<size_t>> ready =
      Wait({a, quick}, absl::Seconds(60));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, (std::vector<size_t>{1}));
  ASSERT_TRUE(b.SendBytes("x").ok());
  ready = Wait({a, quick}, absl::Seconds(60));
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(Reap(quick.pid), 0);
}

// A child that dies mid-message: the reader gets an error, not a hang.
TEST(PipeForkTest, WriterDyingMidMessageIsReported) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  OwnedHandle read_end(fds[0]);
  pid_t child = Fork([&] {
    // A header promising 10 bytes, then only 3.
    const char partial[] = {0, 0, 0, 10, 'a', 'b', 'c'};
    return write(fds[1], partial, sizeof partial) == sizeof partial ? 0 : 2;
  });
  close(fds[1]);
  absl::StatusOr<Connection> c =
      Connection::FromHandle(std::move(read_end), true, false);
  ASSERT_TRUE(c.ok());
  absl::StatusOr<std::string> m = c->RecvBytes();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kDataLoss) << m.status();
  EXPECT_FALSE(IsEof(m.status()));
  EXPECT_EQ(Reap(child), 0);
}

// A receive takes exactly one message, so two processes that take turns on
// one end (as Queue's readers do under a lock) each get whole messages and
// lose none -- small ones and large ones.
TEST(PipeForkTest, ReadersTakingTurnsGetWholeMessagesInOrder) {
  auto [reader, writer] = MakePipe(/*duplex=*/false);
  const std::string big(100000, 'B');
  ASSERT_TRUE(writer.SendBytes("1").ok());
  ASSERT_TRUE(writer.SendBytes("2").ok());
  // A third process sends the rest; the big send blocks until a reader
  // takes it.
  pid_t sender = Fork([&writer = writer, &big] {
    return writer.SendBytes(big).ok() && writer.SendBytes("4").ok() ? 0 : 2;
  });
  // The child takes one message and reports it.
  auto [report_r, report_w] = MakePipe(/*duplex=*/false);
  pid_t child = Fork([&reader = reader, &report_w = report_w] {
    absl::StatusOr<std::string> m = reader.RecvBytes();
    return m.ok() && report_w.SendBytes(*m).ok() ? 0 : 2;
  });
  EXPECT_EQ(Reap(child), 0);
  EXPECT_EQ(*report_r.RecvBytes(), "1");
  EXPECT_EQ(*reader.RecvBytes(), "2");
  child = Fork([&reader = reader, &report_w = report_w] {
    absl::StatusOr<std::string> m = reader.RecvBytes();
    return m.ok() && report_w.SendBytes(*m).ok() ? 0 : 2;
  });
  absl::StatusOr<std::string> from_child = report_r.RecvBytes();
  EXPECT_EQ(Reap(child), 0);
  ASSERT_TRUE(from_child.ok()) << from_child.status();
  EXPECT_TRUE(*from_child == big);
  EXPECT_EQ(*reader.RecvBytes(), "4");
  EXPECT_EQ(Reap(sender), 0);
}

// Small messages from several processes at once never interleave.
TEST(PipeForkTest, ConcurrentSmallSendsArriveWhole) {
  constexpr int kWriters = 4, kEach = 200;
  auto [reader, writer] = MakePipe(/*duplex=*/false);
  std::vector<pid_t> pids;
  for (int w = 0; w < kWriters; ++w) {
    pids.push_back(Fork([w, &reader = reader, &writer = writer] {
      reader.Close().IgnoreError();
      for (int i = 0; i < kEach; ++i) {
        std::string m(100 + w * 500, static_cast<char>('a' + w));
        absl::StrAppend(&m, ":", i);
        if (!writer.SendBytes(m).ok()) return 2;
      }
      return 0;
    }));
  }
  ASSERT_TRUE(writer.Close().ok());
  std::vector<int> next(kWriters, 0);
  while (true) {
    absl::StatusOr<std::string> m = reader.RecvBytes();
    if (IsEof(m.status())) break;
    ASSERT_TRUE(m.ok()) << m.status();
    int w = (*m)[0] - 'a';
    ASSERT_GE(w, 0);
    ASSERT_LT(w, kWriters);
    EXPECT_EQ(*m,
              absl::StrCat(std::string(100 + w * 500, 'a' + w), ":", next[w]));
    ++next[w];
  }
  for (int w = 0; w < kWriters; ++w) EXPECT_EQ(next[w], kEach);
  for (pid_t pid : pids) EXPECT_EQ(Reap(pid), 0);
}

// Sends do not block while a modest number of messages wait unread.
TEST(PipeForkTest, SixtyFourMessagesWaitWithoutAReader) {
  auto [reader, writer] = MakePipe(/*duplex=*/true);
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(writer.SendBytes(absl::StrCat("message ", i)).ok());
  }
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(*reader.RecvBytes(), absl::StrCat("message ", i));
  }
}

// A 256 KiB message is more than a socketpair holds by default (208 KiB of
// send buffer, less the kernel's overhead); Pipe() asks for a larger buffer,
// so the send completes before the reader reads.
TEST(PipeForkTest, QuarterMebibyteMessageWaitsWithoutAReader) {
  auto [reader, writer] = MakePipe(/*duplex=*/true);
  auto [sent_r, sent_w] = MakePipe(/*duplex=*/false);
  const std::string message(256 << 10, 'q');
  pid_t child = Fork([&, &reader = reader, &writer = writer, &sent_w = sent_w] {
    reader.Close().IgnoreError();
    if (!writer.SendBytes(message).ok()) return 2;
    return sent_w.SendBytes("sent").ok() ? 0 : 3;
  });
  ASSERT_TRUE(writer.Close().ok());
  ASSERT_TRUE(sent_w.Close().ok());
  // A send that needs the reader never reports. One that does not takes
  // microseconds; 20 s is ample slack and ends within the test's timeout.
  absl::StatusOr<bool> sent = sent_r.Poll(absl::Seconds(20));
  ASSERT_TRUE(sent.ok()) << sent.status();
  if (!*sent) {
    kill(child, SIGKILL);
    Reap(child);
    FAIL() << "the send waited for the reader";
  }
  EXPECT_EQ(*reader.RecvBytes(), message);
  EXPECT_EQ(Reap(child), 0);
}

// SIGPIPE, in children so each starts from a known disposition.
volatile sig_atomic_t user_handler_calls = 0;
void CountingHandler(int) { user_handler_calls = user_handler_calls + 1; }

void (*CurrentSigpipeHandler())(int) {
  struct sigaction sa;
  sigaction(SIGPIPE, nullptr, &sa);
  return sa.sa_handler;
}

// Sends to a one-way pipe whose reader is closed; true if that failed with
// the broken-pipe status (and the process lives on to tell).
bool SendToClosedReaderFails() {
  absl::StatusOr<std::pair<Connection, Connection>> p = Pipe(false);
  if (!p.ok() || !p->first.Close().ok()) return false;
  absl::Status s = p->second.SendBytes("nobody reads this");
  return !s.ok() && !IsClosed(s);
}

TEST(PipeForkTest, DefaultSigpipeGetsAHandlerThatDoesNothing) {
  pid_t child = Fork([] {
    signal(SIGPIPE, SIG_DFL);
    if (!SendToClosedReaderFails()) return 2;
    void (*h)(int) = CurrentSigpipeHandler();
    return h != SIG_DFL && h != SIG_IGN ? 0 : 3;
  });
  EXPECT_EQ(Reap(child), 0);  // not 100 + SIGPIPE
}

TEST(PipeForkTest, TheProgramsOwnSigpipeHandlerStays) {
  pid_t child = Fork([] {
    signal(SIGPIPE, CountingHandler);
    if (!SendToClosedReaderFails()) return 2;
    if (CurrentSigpipeHandler() != CountingHandler) return 3;
    return user_handler_calls == 1 ? 0 : 4;
  });
  EXPECT_EQ(Reap(child), 0);
}

TEST(PipeForkTest, IgnoredSigpipeStaysIgnored) {
  pid_t child = Fork([] {
    signal(SIGPIPE, SIG_IGN);
    if (!SendToClosedReaderFails()) return 2;
    return CurrentSigpipeHandler() == SIG_IGN ? 0 : 3;
  });
  EXPECT_EQ(Reap(child), 0);
}

}  // namespace
}  // namespace mp
