// Listener and Client in one process, the client in a thread: every address
// family of the platform, with and without an authkey.
#include "pipe/listener.h"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/internal/test_util.h"
#include "pipe/pipe.h"

namespace mp {
namespace {

using pipe_test::AddressKind;
using pipe_test::FreshAddress;

#ifdef _WIN32
constexpr AddressKind kKinds[] = {AddressKind::kTcp, AddressKind::kNamedPipe};
#else
constexpr AddressKind kKinds[] = {AddressKind::kTcp, AddressKind::kUnixPath,
                                  AddressKind::kAbstract};
#endif

class ListenerTest : public testing::TestWithParam<AddressKind> {
 protected:
  Listener Listen(std::optional<std::string> authkey = std::nullopt) {
    absl::StatusOr<Listener> l =
        Listener::Create(FreshAddress(GetParam()), /*backlog=*/4, authkey);
    EXPECT_TRUE(l.ok()) << l.status();
    return *std::move(l);
  }
};

INSTANTIATE_TEST_SUITE_P(Families, ListenerTest, testing::ValuesIn(kKinds),
                         [](const testing::TestParamInfo<AddressKind>& info) {
                           return pipe_test::KindName(info.param);
                         });

// Runs a client in a thread: connects with `authkey`, sends "ping", expects
// "pong". Its status is in `result` after join.
std::thread PingClient(const Address& address,
                       std::optional<std::string> authkey,
                       absl::Status* result) {
  return std::thread([=] {
    absl::StatusOr<Connection> c = Client(address, authkey);
    if (!c.ok()) {
      *result = c.status();
      return;
    }
    absl::Status s = c->SendBytes("ping");
    absl::StatusOr<std::string> reply = c->RecvBytes();
    if (s.ok() && !reply.ok()) s = reply.status();
    if (s.ok() && *reply != "pong") s = absl::InternalError(*reply);
    *result = s;
  });
}

// Accepts one connection and answers its "ping".
absl::Status ServePing(Listener& listener) {
  MP_ASSIGN_OR_RETURN(Connection c, listener.Accept());
  MP_ASSIGN_OR_RETURN(std::string m, c.RecvBytes());
  if (m != "ping") return absl::InternalError(m);
  return c.SendBytes("pong");
}

// A client with `authkey` pings and the listener serves it: both succeed.
void ExpectPingServed(Listener& listener, std::optional<std::string> authkey) {
  absl::Status client;
  std::thread t = PingClient(listener.address(), std::move(authkey), &client);
  absl::Status server = ServePing(listener);
  t.join();
  EXPECT_TRUE(server.ok()) << server;
  EXPECT_TRUE(client.ok()) << client;
}

TEST_P(ListenerTest, ClientAndListenerExchangeMessages) {
  Listener listener = Listen();
  absl::Status client;
  std::thread t = PingClient(listener.address(), std::nullopt, &client);
  EXPECT_TRUE(ServePing(listener).ok());
  t.join();
  EXPECT_TRUE(client.ok()) << client;
}

TEST_P(ListenerTest, RightAuthkeyIsWelcome) {
  Listener listener = Listen("secret password");
  ExpectPingServed(listener, "secret password");
}

// bpo-43952: an empty authkey is a key like any other.
TEST_P(ListenerTest, EmptyAuthkeyWorks) {
  Listener listener = Listen("");
  ExpectPingServed(listener, "");
}

TEST_P(ListenerTest, WrongAuthkeyFailsBothSidesAndTheListenerGoesOn) {
  Listener listener = Listen("right");
  absl::Status client;
  std::thread t = PingClient(listener.address(), "wrong", &client);
  absl::StatusOr<Connection> refused = listener.Accept();
  t.join();
  EXPECT_TRUE(IsAuthenticationError(refused.status())) << refused.status();
  EXPECT_EQ(refused.status().message(), "digest received was wrong");
  EXPECT_TRUE(IsAuthenticationError(client)) << client;
  EXPECT_EQ(client.message(), "digest sent was rejected");
  // The next client, with the right key, is served.
  std::thread t2 = PingClient(listener.address(), "right", &client);
  absl::Status server = ServePing(listener);
  t2.join();
  EXPECT_TRUE(server.ok()) << server;
  EXPECT_TRUE(client.ok()) << client;
}

TEST_P(ListenerTest, ClientWithoutAKeyIsRefused) {
  Listener listener = Listen("right");
  absl::Status client;
  // The keyless client's "ping" arrives where the digest should.
  std::thread t = PingClient(listener.address(), std::nullopt, &client);
  absl::StatusOr<Connection> refused = listener.Accept();
  t.join();
  EXPECT_TRUE(IsAuthenticationError(refused.status())) << refused.status();
  // What the client got back was the challenge, not "pong".
  EXPECT_FALSE(client.ok());
}

TEST_P(ListenerTest, ClientWithAKeyRefusesAListenerThatPosesNoChallenge) {
  Listener listener = Listen();
  absl::Status client;
  std::thread t = PingClient(listener.address(), "key", &client);
  absl::StatusOr<Connection> c = listener.Accept();
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->SendBytes("not a challenge").ok());
  t.join();
  EXPECT_TRUE(IsAuthenticationError(client)) << client;
}

TEST_P(ListenerTest, OversizedMessageBeforeAuthenticationIsRefused) {
  Listener listener = Listen("key");
  std::thread t([address = listener.address()] {
    absl::StatusOr<Connection> c = Client(address);
    if (!c.ok()) return;
    // 257 bytes where at most 256 are read from a stranger.
    c->SendBytes(std::string(257, 'x')).IgnoreError();
    c->RecvBytes().IgnoreError();              // the challenge
    c->Poll(absl::Seconds(30)).IgnoreError();  // until the listener hangs up
  });
  absl::StatusOr<Connection> refused = listener.Accept();
  EXPECT_TRUE(IsAuthenticationError(refused.status())) << refused.status();
  t.join();
}

TEST_P(ListenerTest, SilentClientTimesOutAndTheListenerGoesOn) {
  Listener listener = Listen("key");
  listener.set_handshake_timeout(absl::Milliseconds(200));
  absl::StatusOr<Connection> silent = Client(listener.address());
  ASSERT_TRUE(silent.ok()) << silent.status();
  absl::Time start = absl::Now();
  absl::StatusOr<Connection> refused = listener.Accept();
  EXPECT_TRUE(IsTimeout(refused.status())) << refused.status();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  ExpectPingServed(listener, "key");
}

// The handshake timeout is long, and a client that connects and says
// nothing comes first: Accept() still returns the good client that follows
// as soon as it has answered, not after the silent one's time is up.
TEST_P(ListenerTest, SilentClientDoesNotDelayAGoodOne) {
  Listener listener = Listen("key");
  const absl::Duration timeout = absl::Seconds(60);
  listener.set_handshake_timeout(timeout);
  absl::StatusOr<Connection> silent = Client(listener.address());
  ASSERT_TRUE(silent.ok()) << silent.status();
  absl::Time start = absl::Now();
  ExpectPingServed(listener, "key");
  EXPECT_LT(absl::Now() - start, timeout / 2);
}

// A handshake left under way by one Accept() goes on in the next, and
// Wait() sees it move.
TEST_P(ListenerTest, WaitSeesAHandshakeThatMovedOn) {
  Listener listener = Listen("key");
  listener.set_handshake_timeout(absl::Seconds(60));
  absl::StatusOr<Connection> slow = Client(listener.address());
  ASSERT_TRUE(slow.ok()) << slow.status();
  absl::Status client;
  std::thread t = PingClient(listener.address(), "key", &client);
  absl::Status server = ServePing(listener);
  t.join();
  ASSERT_TRUE(server.ok()) << server;
  ASSERT_TRUE(client.ok()) << client;
  // The slow client has its challenge and has said nothing yet.
  absl::StatusOr<std::vector<size_t>> ready =
      Wait({listener}, absl::Milliseconds(50));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->empty());
  absl::StatusOr<std::string> challenge = slow->RecvBytes();
  ASSERT_TRUE(challenge.ok()) << challenge.status();
  EXPECT_EQ(challenge->substr(0, 11), "#CHALLENGE#");
  ASSERT_TRUE(slow->SendBytes("not the digest").ok());
  ready = Wait({listener}, absl::Seconds(60));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
  absl::StatusOr<Connection> refused = listener.Accept();
  EXPECT_TRUE(IsAuthenticationError(refused.status())) << refused.status();
}

TEST_P(ListenerTest, ClientTimesOutOnAListenerThatNeverAnswers) {
  Listener listener = Listen("key");
  const absl::Duration timeout = absl::Milliseconds(200);
  absl::Time start = absl::Now();
  absl::StatusOr<Connection> c = Client(listener.address(), "key", timeout);
  EXPECT_TRUE(IsTimeout(c.status())) << c.status();
  EXPECT_GE(absl::Now() - start, timeout);
}

TEST_P(ListenerTest, SecondListenerOnTheSameAddressFails) {
  Listener first = Listen();
  absl::StatusOr<Listener> second = Listener::Create(first.address());
  EXPECT_FALSE(second.ok());
  // The failed attempt did not take the first one's address away.
  absl::Status client;
  std::thread t = PingClient(first.address(), std::nullopt, &client);
  EXPECT_TRUE(ServePing(first).ok());
  t.join();
  EXPECT_TRUE(client.ok()) << client;
}

TEST_P(ListenerTest, AcceptAfterCloseFails) {
  Listener listener = Listen();
  ASSERT_TRUE(listener.Close().ok());
  EXPECT_TRUE(listener.closed());
  absl::StatusOr<Connection> c = listener.Accept();
  EXPECT_TRUE(IsClosed(c.status())) << c.status();
  EXPECT_EQ(c.status().message(), "listener is closed");
  ASSERT_TRUE(listener.Close().ok());  // twice is fine
  // And nobody can connect any more.
  EXPECT_FALSE(Client(listener.address()).ok());
}

TEST_P(ListenerTest, WaitSeesAWaitingClient) {
  Listener listener = Listen();
  absl::StatusOr<std::vector<size_t>> ready =
      Wait({listener}, absl::Milliseconds(50));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->empty());
  absl::Status client;
  std::thread t = PingClient(listener.address(), std::nullopt, &client);
  ready = Wait({listener}, absl::Seconds(60));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
  EXPECT_TRUE(ServePing(listener).ok());
  t.join();
  EXPECT_TRUE(client.ok()) << client;
}

TEST_P(ListenerTest, ManyClientsOneAfterAnother) {
  Listener listener = Listen("k");
  for (int i = 0; i < 5; ++i) {
    absl::Status client;
    std::thread t = PingClient(listener.address(), "k", &client);
    EXPECT_TRUE(ServePing(listener).ok());
    t.join();
    EXPECT_TRUE(client.ok()) << client;
  }
}

TEST_P(ListenerTest, LargeMessagesAfterAuthentication) {
  Listener listener = Listen("k");
  const std::string big(8 << 20, 'b');
  std::thread t([&] {
    absl::StatusOr<Connection> c = Client(listener.address(), "k");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(c->SendBytes(big).ok());
  });
  absl::StatusOr<Connection> c = listener.Accept();
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<std::string> m = c->RecvBytes();
  t.join();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(*m == big);
}

TEST(ListenerTest, TcpPortZeroGetsARealPort) {
  absl::StatusOr<Listener> l = Listener::Create(Address::Inet("127.0.0.1", 0));
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->address().family(), Address::Family::kInet);
  EXPECT_EQ(l->address().host(), "127.0.0.1");
  EXPECT_NE(l->address().port(), 0);
  EXPECT_FALSE(l->last_accepted().has_value());
  absl::Status client;
  std::thread t = PingClient(l->address(), std::nullopt, &client);
  EXPECT_TRUE(ServePing(*l).ok());
  t.join();
  ASSERT_TRUE(l->last_accepted().has_value());
  EXPECT_EQ(l->last_accepted()->host(), "127.0.0.1");
  EXPECT_NE(l->last_accepted()->port(), 0);
}

TEST(ListenerTest, DefaultAddressWorks) {
  absl::StatusOr<Listener> l = Listener::Create();
  ASSERT_TRUE(l.ok()) << l.status();
  absl::Status client;
  std::thread t = PingClient(l->address(), std::nullopt, &client);
  EXPECT_TRUE(ServePing(*l).ok());
  t.join();
  EXPECT_TRUE(client.ok()) << client;
}

TEST(ListenerTest, ClientToNowhereFails) {
  absl::StatusOr<Listener> l = Listener::Create(FreshAddress(kKinds[1]));
  ASSERT_TRUE(l.ok()) << l.status();
  Address gone = l->address();
  ASSERT_TRUE(l->Close().ok());
  absl::StatusOr<Connection> c = Client(gone);
  EXPECT_FALSE(c.ok());
}

TEST(ListenerTest, NegativeBacklogIsRefused) {
  EXPECT_EQ(Listener::Create(Address::Inet("127.0.0.1", 0), -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AddressTest, Accessors) {
  Address tcp = Address::Inet("localhost", 80);
  EXPECT_EQ(tcp.family(), Address::Family::kInet);
  EXPECT_EQ(tcp.ToString(), "localhost:80");
  Address abstract = Address::Abstract("name");
  EXPECT_TRUE(abstract.abstract());
  EXPECT_EQ(abstract.path(), std::string("\0name", 5));
  EXPECT_EQ(abstract.ToString(), "@name");
  EXPECT_EQ(abstract, Address::Unix(std::string("\0name", 5)));
  Address path = Address::Unix("/tmp/x");
  EXPECT_FALSE(path.abstract());
  EXPECT_NE(path, abstract);
  Address pipe = Address::NamedPipe("\\\\.\\pipe\\x");
  EXPECT_EQ(pipe.family(), Address::Family::kPipe);
  EXPECT_EQ(pipe.ToString(), "\\\\.\\pipe\\x");
}

}  // namespace
}  // namespace mp
