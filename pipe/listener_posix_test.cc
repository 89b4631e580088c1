// POSIX specifics of Listener: socket files, address checks, and raw bytes
// from a peer that does not speak the protocol.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/internal/test_util.h"
#include "pipe/listener.h"
#include "pipe/pipe.h"

namespace mp {
namespace {

std::string SocketPath(absl::string_view tag) {
  return pipe_test::SocketPath(pipe_test::UniqueName(absl::StrCat("mp-", tag)));
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Type and permission bits, or 0 when `path` is not there.
mode_t Mode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_mode & (S_IFMT | 0777) : 0;
}

// A client with the right key ("key") gets in and its message arrives.
void ExpectAGoodClientServed(Listener& l, const Address& a) {
  std::thread good([a] {
    absl::StatusOr<Connection> c = Client(a, "key");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(c->SendBytes("fine").ok());
  });
  absl::StatusOr<Connection> c = l.Accept();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c->RecvBytes(), "fine");
  good.join();
}

TEST(ListenerPosixTest, SocketFileIsRemovedOnClose) {
  std::string path = SocketPath("close");
  absl::StatusOr<Listener> l = Listener::Create(Address::Unix(path));
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->address(), Address::Unix(path));
  EXPECT_TRUE(Exists(path));
  ASSERT_TRUE(l->Close().ok());
  EXPECT_FALSE(Exists(path));
}

TEST(ListenerPosixTest, SocketFileIsRemovedByTheDestructor) {
  std::string path = SocketPath("dtor");
  {
    absl::StatusOr<Listener> l = Listener::Create(Address::Unix(path));
    ASSERT_TRUE(l.ok()) << l.status();
    EXPECT_TRUE(Exists(path));
  }
  EXPECT_FALSE(Exists(path));
}

TEST(ListenerPosixTest, ForkedChildDoesNotRemoveTheParentsSocketFile) {
  std::string path = SocketPath("fork");
  absl::StatusOr<Listener> l = Listener::Create(Address::Unix(path));
  ASSERT_TRUE(l.ok()) << l.status();
  pid_t pid = fork();
  if (pid == 0) _exit(l->Close().ok() ? 0 : 2);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(Exists(path));
}

TEST(ListenerPosixTest, DefaultAddressIsASocketFileInAPrivateTempDir) {
  absl::StatusOr<Listener> l = Listener::Create();
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->address().family(), Address::Family::kUnix);
  EXPECT_FALSE(l->address().abstract());
  std::string path = l->address().path();
  std::string dir = path.substr(0, path.rfind('/'));
  EXPECT_EQ(Mode(dir), S_IFDIR | 0700);
  EXPECT_TRUE(Exists(path));
  ASSERT_TRUE(l->Close().ok());
  EXPECT_FALSE(Exists(path));
  EXPECT_FALSE(Exists(dir));
}

// The umask may let anyone in; the socket file does not.
TEST(ListenerPosixTest, SocketFileIsOwnerOnlyWhateverTheUmask) {
  mode_t old = umask(0);
  std::string path = SocketPath("mode");
  absl::StatusOr<Listener> given = Listener::Create(Address::Unix(path));
  absl::StatusOr<Listener> fresh = Listener::Create();
  umask(old);
  ASSERT_TRUE(given.ok()) << given.status();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(Mode(path), S_IFSOCK | 0600);
  EXPECT_EQ(Mode(fresh->address().path()), S_IFSOCK | 0600);
  // Its owner still connects.
  absl::StatusOr<Connection> c = Client(given->address());
  EXPECT_TRUE(c.ok()) << c.status();
}

// A connect that waits for room in a full backlog gives up at the timeout.
TEST(ListenerPosixTest, ClientTimesOutOnAFullBacklog) {
  absl::StatusOr<Listener> l = Listener::Create(
      Address::Abstract(pipe_test::UniqueName("mp-backlog")), /*backlog=*/0);
  ASSERT_TRUE(l.ok()) << l.status();
  const absl::Duration timeout = absl::Milliseconds(200);
  std::vector<Connection> waiting;
  absl::Status last;
  absl::Duration took;
  // Linux lets backlog + 1 connections wait; no more than a few, anyway.
  for (int i = 0; i < 8 && last.ok(); ++i) {
    absl::Time start = absl::Now();
    absl::StatusOr<Connection> c = Client(l->address(), std::nullopt, timeout);
    took = absl::Now() - start;
    last = c.status();
    if (c.ok()) waiting.push_back(*std::move(c));
  }
  EXPECT_TRUE(IsTimeout(last)) << last;
  EXPECT_GE(took, timeout);
  // The bound was for the connect only: one let in sends without one.
  ASSERT_FALSE(waiting.empty());
  absl::StatusOr<Connection> s = l->Accept();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(waiting[0].SendBytes("in").ok());
  EXPECT_EQ(*s->RecvBytes(), "in");
}

// More strangers than the Listener holds mid-handshake: the earliest is
// dropped to make room, and a good client is still served.
TEST(ListenerPosixTest, AFloodOfSilentClientsCannotCrowdOutAGoodOne) {
  Address a = Address::Abstract(pipe_test::UniqueName("mp-flood"));
  absl::StatusOr<Listener> l =
      Listener::Create(a, /*backlog=*/2 * Listener::kMaxHandshakes, "key");
  ASSERT_TRUE(l.ok()) << l.status();
  l->set_handshake_timeout(absl::Seconds(60));
  std::vector<Connection> silent;
  for (int i = 0; i <= Listener::kMaxHandshakes; ++i) {
    absl::StatusOr<Connection> c = Client(a);
    ASSERT_TRUE(c.ok()) << c.status();
    silent.push_back(*std::move(c));
  }
  ExpectAGoodClientServed(*l, a);
  // The first was challenged, then hung up on.
  absl::StatusOr<std::string> challenge = silent.front().RecvBytes();
  ASSERT_TRUE(challenge.ok()) << challenge.status();
  EXPECT_TRUE(IsEof(silent.front().RecvBytes().status()));
  // The last is still waiting for its answer to be read.
  ASSERT_TRUE(silent.back().RecvBytes().ok());
  EXPECT_FALSE(*silent.back().Poll());
}

TEST(ListenerPosixTest, AbstractListenerLeavesNoFile) {
  Address a = Address::Abstract(pipe_test::UniqueName("mp-abstract"));
  absl::StatusOr<Listener> l = Listener::Create(a);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->address(), a);
  absl::StatusOr<Connection> c = Client(a);
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<Connection> s = l->Accept();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(c->SendBytes("abstract").ok());
  EXPECT_EQ(*s->RecvBytes(), "abstract");
}

TEST(ListenerPosixTest, BadAddressesAreRefused) {
  absl::StatusOr<Listener> l =
      Listener::Create(Address::Unix(std::string(200, 'x')));
  EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(l.status().message().find("AF_UNIX path too long"),
            absl::string_view::npos);
  l = Listener::Create(Address::Unix(""));
  EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
  l = Listener::Create(Address::Unix(std::string("a\0b", 3)));
  EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
  l = Listener::Create(Address::NamedPipe("\\\\.\\pipe\\x"));
  EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Client(Address::NamedPipe("\\\\.\\pipe\\x")).status().code(),
            absl::StatusCode::kInvalidArgument);
  l = Listener::Create(Address::Inet("no-such-host.invalid", 0));
  EXPECT_FALSE(l.ok());
}

// A client that writes `raw` bytes (no framing of ours) and then waits for
// the listener to hang up.
std::thread RawClient(const Address& a, std::string raw) {
  return std::thread([a, raw = std::move(raw)] {
    absl::StatusOr<Connection> c = Client(a);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_EQ(write(c->handle(), raw.data(), raw.size()),
              static_cast<ssize_t>(raw.size()));
    char buf[256];
    while (read(c->handle(), buf, sizeof buf) > 0) {
    }
  });
}

// Garbage that reads as a length prefix: refused unread, whatever it claims.
TEST(ListenerPosixTest, GarbageAndHugeLengthPrefixesAreRefused) {
  Address a = Address::Abstract(pipe_test::UniqueName("mp-garbage"));
  absl::StatusOr<Listener> l = Listener::Create(a, 1, "key");
  ASSERT_TRUE(l.ok()) << l.status();
  const std::string attacks[] = {
      "GET / HTTP/1.1\r\n\r\n",            // 1.2 GB "length"
      std::string("\x7f\xff\xff\xff", 4),  // 2 GiB - 1
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12),
      std::string("\x80\x00\x00\x00", 4),  // negative
  };
  for (const std::string& raw : attacks) {
    std::thread t = RawClient(a, raw);
    absl::StatusOr<Connection> c = l->Accept();
    EXPECT_TRUE(IsAuthenticationError(c.status())) << c.status();
    t.join();
  }
  // Still serving.
  ExpectAGoodClientServed(*l, a);
}

// Framing that only a Python peer would send: an 8-byte length for a short
// message still parses (Python sends it from 2 GiB up).
TEST(ListenerPosixTest, LongHeaderIsUnderstoodAtAnySize) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  absl::StatusOr<Connection> c = Connection::FromHandle(OwnedHandle(sv[0]));
  ASSERT_TRUE(c.ok());
  OwnedHandle peer(sv[1]);
  const std::string framed("\xff\xff\xff\xff\0\0\0\0\0\0\0\x05hello", 17);
  ASSERT_EQ(write(peer.get(), framed.data(), framed.size()), 17);
  EXPECT_EQ(*c->RecvBytes(), "hello");
  // And what we send is Python's short header.
  ASSERT_TRUE(c->SendBytes("abc").ok());
  char buf[7];
  ASSERT_EQ(read(peer.get(), buf, sizeof buf), 7);
  EXPECT_EQ(std::string(buf, 7), std::string("\0\0\0\x03"
                                             "abc",
                                             7));
}

}  // namespace
}  // namespace mp
