// Listener and Client: Connections between processes that did not inherit
// one, optionally authenticated with a shared key.
//
// Python's multiprocessing.connection.Listener and Client. Addresses are a
// Unix socket path, a Linux abstract socket name, a TCP host and port, or a
// Windows named pipe. With an authkey, both sides prove they know it by
// Python's challenge/response (HMAC-SHA256, named in the messages as
// "{sha256}", and the HMAC-MD5 of Python 3.11 and older when the peer speaks
// only that) before the Connection is handed out; nothing longer than 256
// bytes is read from a peer before it has authenticated. The framing and the
// handshake are Python's, so a Python Listener or Client is a valid peer.
//
// Accept() lets in every client that is waiting and runs their handshakes
// side by side, each against its own clock, so a client that is slow or
// says nothing holds up nobody but itself. A failed handshake fails one
// Accept() or the Client() with AuthenticationError; the Listener goes on
// serving other clients. A Unix socket's file is the owner's only (0600).
//
// Example:
//
//   absl::StatusOr<mp::Listener> listener = mp::Listener::Create(
//       mp::Address::Inet("127.0.0.1", 6000), /*backlog=*/1,
//       std::string("secret password"));
//   absl::StatusOr<mp::Connection> conn = listener->Accept();
//   absl::StatusOr<std::string> msg = conn->RecvBytes();
//
//   // elsewhere:
//   absl::StatusOr<mp::Connection> c = mp::Client(
//       mp::Address::Inet("127.0.0.1", 6000), std::string("secret password"));
//   c->SendBytes("hello");

#ifndef MP_PIPE_LISTENER_H_
#define MP_PIPE_LISTENER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "pipe/pipe.h"

namespace mp {

// Where a Listener listens. Python spells these as a str path, a str
// starting with "\0" (abstract), a (host, port) tuple, or r"\\.\pipe\name".
class Address {
 public:
  enum class Family { kUnix, kInet, kPipe };

  // A filesystem socket path; a leading '\0' puts the name in Linux's
  // abstract namespace, as in Python.
  static Address Unix(absl::string_view path);
  // Linux's abstract namespace: Unix("\0" + name).
  static Address Abstract(absl::string_view name);
  // TCP. Port 0 lets the Listener pick one; its address() tells which.
  static Address Inet(absl::string_view host, uint16_t port);
  // A Windows named pipe, r"\\.\pipe\name".
  static Address NamedPipe(absl::string_view name);

  Family family() const { return family_; }
  // The Unix path (with its leading '\0' when abstract) or the pipe name.
  const std::string& path() const { return path_; }
  bool abstract() const {
    return family_ == Family::kUnix && !path_.empty() && path_[0] == '\0';
  }
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }

  // For messages: the path, "@name" for an abstract socket (as ss(8) shows
  // it), "host:port", or the pipe name.
  std::string ToString() const;

  friend bool operator==(const Address& a, const Address& b) {
    return a.family_ == b.family_ && a.path_ == b.path_ && a.host_ == b.host_ &&
           a.port_ == b.port_;
  }
  friend bool operator!=(const Address& a, const Address& b) {
    return !(a == b);
  }

 private:
  Address(Family family, std::string path, std::string host, uint16_t port)
      : family_(family),
        path_(std::move(path)),
        host_(std::move(host)),
        port_(port) {}

  Family family_;
  std::string path_;
  std::string host_;
  uint16_t port_ = 0;
};

class Listener {
 public:
  // How long Accept() gives a connected client by default to finish the
  // authkey handshake before dropping it (Python's CONNECTION_TIMEOUT).
  static constexpr absl::Duration kHandshakeTimeout = absl::Seconds(20);
  // The most clients held mid-handshake at once (see Accept()), so that
  // strangers cannot take all of the process's descriptors or handles.
  static constexpr int kMaxHandshakes = 64;

  // Binds and listens. Without an address: a fresh Unix socket in a new
  // private directory (mode 0700) under $TMPDIR or /tmp, as Python makes
  // its default addresses (a named pipe on Windows). An authkey, even an
  // empty one, makes every Accept() authenticate.
  //
  // A Unix socket file, given or not, is made owner-only (0600) whatever
  // the umask. That happens after bind() and before listen(), when nobody
  // can connect yet, so no other user ever can; but where other users may
  // rename files in the socket's directory, they can still replace the
  // file itself. An abstract name has no mode: anyone in the network
  // namespace can connect, as over TCP, and only an authkey keeps them out.
  static absl::StatusOr<Listener> Create(
      std::optional<Address> address = std::nullopt, int backlog = 1,
      std::optional<std::string> authkey = std::nullopt);

  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  // Closes, removing a Unix socket's file (and the directory made for it).
  ~Listener();

  // Waits for a client and returns the connection, after the handshake when
  // there is an authkey.
  //
  // With an authkey, every client waiting is let in and challenged at once,
  // and their handshakes go on side by side, each with handshake_timeout()
  // from when it was let in. Accept() returns the first to end; the others
  // stay in the Listener and go on in the next Accept(). A handshake that
  // ends badly is that Accept()'s result, and the connection is closed:
  // AuthenticationError (a wrong key, or a message Python would refuse),
  // TimeoutError (the client ran out of time), EofError (it hung up). When
  // a client comes while kMaxHandshakes are under way, the one let in
  // earliest is closed, unreported, to make room: an honest client answers
  // within a round trip, so only a flood of strangers loses one that way.
  //
  // Wait() sees the Listener ready when a client is waiting to be let in or
  // one under way has sent something; a handshake that runs out of time
  // wakes no Wait() and is reported by the next Accept().
  absl::StatusOr<Connection> Accept();

  // Stops listening, closing the clients mid-handshake; a Unix socket's file
  // is removed. Accept() then fails with ClosedError. Closing twice is OK.
  absl::Status Close();

  // The time Accept() gives a client for the handshake (kHandshakeTimeout
  // unless set; InfiniteDuration() waits forever, as Python does). Applies
  // to clients let in after the call.
  void set_handshake_timeout(absl::Duration timeout) {
    handshake_timeout_ = timeout;
  }
  absl::Duration handshake_timeout() const { return handshake_timeout_; }

  bool closed() const { return state_ == nullptr; }
  // The bound address (with the actual port when 0 was asked for).
  const Address& address() const { return address_; }
  // The peer address of the client whose outcome the last Accept()
  // returned, when the system names one (TCP: host and port; Unix: the
  // client's path, usually empty).
  const std::optional<Address>& last_accepted() const { return last_accepted_; }

 private:
  friend class pipe_internal::ConnectionIo;
  friend absl::StatusOr<Connection> Client(const Address& address,
                                           std::optional<std::string> authkey,
                                           absl::Duration timeout);
  // The OS side: a listening socket, or on Windows the next named pipe
  // instance with a connect pending; and the clients mid-handshake.
  // Defined by listener_posix.cc / listener_win.cc; null once closed.
  struct State;

  Listener();

  // Platform parts. Bind sets address_: `address`, or a fresh one.
  absl::Status Bind(std::optional<Address> address, int backlog);
  absl::StatusOr<Connection> AcceptRaw();
  absl::StatusOr<Connection> AcceptAuthenticated();
  // What Wait() watches: readable (POSIX) or signalled (Windows) when
  // Accept() has something to take.
  absl::StatusOr<NativeHandle> WaitHandle();
  // Client()'s connect, without the handshake; TimeoutError at `deadline`.
  static absl::StatusOr<Connection> Connect(const Address& address,
                                            Deadline deadline);

  Address address_ = Address::Unix("");
  std::optional<std::string> authkey_;
  std::optional<Address> last_accepted_;
  absl::Duration handshake_timeout_ = kHandshakeTimeout;
  std::unique_ptr<State> state_;
};

// Connects to a Listener at `address`, answering and then posing the
// authkey challenge when `authkey` is given. `timeout` bounds both the
// connect and the handshake; when it passes first, Client returns
// TimeoutError. InfiniteDuration(), the default, waits as long as the
// system lets a connect wait, and then as long as the Listener takes, as
// Python's Client does; but a busy Windows named pipe is given up after
// Python's 20 s unless a timeout is set.
absl::StatusOr<Connection> Client(
    const Address& address, std::optional<std::string> authkey = std::nullopt,
    absl::Duration timeout = absl::InfiniteDuration());

}  // namespace mp

#endif  // MP_PIPE_LISTENER_H_
