// POSIX: Listener and Client over Unix (path or abstract) and TCP sockets.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/os_error.h"
#include "base/status.h"
#include "pipe/internal/auth.h"
#include "pipe/internal/fd_wait.h"
#include "pipe/internal/framing.h"
#include "pipe/listener.h"

namespace mp {

namespace {

// A client let in but not yet through the handshake.
struct Handshaking {
  OwnedHandle socket;
  std::optional<Address> peer;
  Deadline deadline = Deadline::Never();
  pipe_internal::ServerHandshake handshake;
  pipe_internal::CappedReader reader;
};

}  // namespace

struct Listener::State {
  OwnedHandle socket;
  // A socket file to remove on close, and the private directory made for
  // it, by the process that created them only (a forked child that inherits
  // the Listener must not remove them).
  std::string unlink_path;
  std::string private_dir;
  pid_t owner = 0;
  // Clients mid-handshake, earliest let in first.
  std::vector<std::unique_ptr<Handshaking>> handshakes;
  // What Accept() waits on and Wait() watches once there are handshakes:
  // the listening socket and every handshake's socket (its epoll data the
  // Handshaking, null for the listening socket). A forked child shares the
  // parent's epoll set, so it makes its own (`epoll_owner`) rather than
  // change the parent's.
  OwnedHandle epoll;
  pid_t epoll_owner = 0;

  ~State() {
    // The epoll set goes before the sockets in it.
    epoll.reset();
    handshakes.clear();
    socket.reset();
    if (getpid() == owner) {
      if (!unlink_path.empty()) ::unlink(unlink_path.c_str());
      if (!private_dir.empty()) ::rmdir(private_dir.c_str());
    }
  }

  absl::Status Watch(int fd, Handshaking* h) {
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.ptr = h;
    if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      return LastOsError("epoll_ctl");
    }
    return absl::OkStatus();
  }

  // This process's epoll set, made when missing.
  absl::Status EnsureEpoll() {
    if (epoll.valid() && epoll_owner == getpid()) return absl::OkStatus();
    epoll.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll.valid()) return LastOsError("epoll_create1");
    epoll_owner = getpid();
    absl::Status s = Watch(socket.get(), nullptr);
    for (size_t i = 0; s.ok() && i < handshakes.size(); ++i) {
      s = Watch(handshakes[i]->socket.get(), handshakes[i].get());
    }
    if (!s.ok()) epoll.reset();
    return s;
  }

  absl::Status Add(std::unique_ptr<Handshaking> h) {
    MP_RETURN_IF_ERROR(Watch(h->socket.get(), h.get()));
    handshakes.push_back(std::move(h));
    return absl::OkStatus();
  }

  // Takes `h` out of the set. Out of epoll first: a registration lasts as
  // long as the socket is open anywhere (a forked child, the Connection it
  // becomes), and would go on reporting a Handshaking that is gone.
  std::unique_ptr<Handshaking> Remove(Handshaking* h) {
    if (epoll_owner == getpid()) {
      epoll_ctl(epoll.get(), EPOLL_CTL_DEL, h->socket.get(), nullptr);
    }
    auto it = std::find_if(
        handshakes.begin(), handshakes.end(),
        [h](const std::unique_ptr<Handshaking>& p) { return p.get() == h; });
    std::unique_ptr<Handshaking> out = std::move(*it);
    handshakes.erase(it);
    return out;
  }
};

namespace {

// A sockaddr for `address`, or an error saying what is wrong with it.
struct SockAddr {
  struct sockaddr_storage storage;
  socklen_t length = 0;
  int family = AF_UNSPEC;
  const struct sockaddr* get() const {
    return reinterpret_cast<const struct sockaddr*>(&storage);
  }
};

absl::StatusOr<SockAddr> ToSockAddr(const Address& address) {
  SockAddr out;
  std::memset(&out.storage, 0, sizeof out.storage);
  switch (address.family()) {
    case Address::Family::kUnix: {
      auto* un = reinterpret_cast<struct sockaddr_un*>(&out.storage);
      const std::string& path = address.path();
      // A filesystem path needs room for its terminating NUL; an abstract
      // name is exactly its bytes.
      size_t room =
          address.abstract() ? sizeof un->sun_path : sizeof un->sun_path - 1;
      if (path.empty()) {
        return absl::InvalidArgumentError("AF_UNIX address is empty");
      }
      if (path.size() > room) {
        return absl::InvalidArgumentError(
            absl::StrCat("AF_UNIX path too long: ", path.size(), " bytes, at ",
                         "most ", room));
      }
      if (!address.abstract() && path.find('\0') != std::string::npos) {
        return absl::InvalidArgumentError("AF_UNIX path contains a NUL byte");
      }
      un->sun_family = AF_UNIX;
      std::memcpy(un->sun_path, path.data(), path.size());
      out.length =
          static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) +
                                 path.size() + (address.abstract() ? 0 : 1));
      out.family = AF_UNIX;
      return out;
    }
    case Address::Family::kInet: {
      // Python's AF_INET family: IPv4, host names resolved.
      struct addrinfo hints;
      std::memset(&hints, 0, sizeof hints);
      hints.ai_family = AF_INET;
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_flags = address.host().empty() ? AI_PASSIVE : 0;
      struct addrinfo* info = nullptr;
      std::string port = absl::StrCat(address.port());
      int rc =
          getaddrinfo(address.host().empty() ? nullptr : address.host().c_str(),
                      port.c_str(), &hints, &info);
      if (rc != 0 || info == nullptr) {
        return absl::NotFoundError(absl::StrCat(
            "cannot resolve ", address.ToString(), ": ", gai_strerror(rc)));
      }
      std::memcpy(&out.storage, info->ai_addr, info->ai_addrlen);
      out.length = info->ai_addrlen;
      out.family = AF_INET;
      freeaddrinfo(info);
      return out;
    }
    case Address::Family::kPipe:
      break;
  }
  return absl::InvalidArgumentError(
      "Family AF_PIPE is not recognized: named pipes are Windows only");
}

Address FromSockAddr(const struct sockaddr_storage& ss, socklen_t length) {
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const struct sockaddr_in*>(&ss);
    char host[INET_ADDRSTRLEN] = {0};
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return Address::Inet(host, ntohs(in->sin_port));
  }
  const auto* un = reinterpret_cast<const struct sockaddr_un*>(&ss);
  size_t offset = offsetof(struct sockaddr_un, sun_path);
  size_t n = length > offset ? length - offset : 0;
  std::string path(un->sun_path, n);
  // A filesystem path comes back with its NUL; an abstract name without.
  if (!path.empty() && path[0] != '\0') path = path.c_str();
  return Address::Unix(path);
}

std::string TempDir() {
  const char* dir = std::getenv("TMPDIR");
  return dir == nullptr || *dir == '\0' ? "/tmp" : dir;
}

// Sends one handshake message without blocking. A handshake sends a few
// short messages to a socket that had nothing in it, so they always fit in
// its buffer; one that does not comes from a peer playing games, and is
// refused rather than waited for.
absl::Status SendNow(int fd, absl::string_view payload) {
  unsigned char header[pipe_internal::kLongHeader];
  size_t header_size = pipe_internal::EncodeHeader(payload.size(), header);
  struct iovec iov[2] = {{header, header_size},
                         {const_cast<char*>(payload.data()), payload.size()}};
  struct msghdr msg = {};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  while (true) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return LastOsError("Listener.Accept: send");
    }
    if (n != static_cast<ssize_t>(header_size + payload.size())) {
      return AuthenticationError("the client does not take the handshake");
    }
    return absl::OkStatus();
  }
}

// Reads what `h`'s client has sent, without blocking, and takes the
// handshake as far as it goes: true once it is through.
absl::StatusOr<bool> Advance(Handshaking& h, absl::string_view authkey) {
  const int fd = h.socket.get();
  while (true) {
    absl::Span<char> room = h.reader.Room();
    ssize_t n = recv(fd, room.data(), room.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      return LastOsError("Listener.Accept: recv");
    }
    if (n == 0) return h.reader.Eof();
    MP_RETURN_IF_ERROR(h.reader.Got(static_cast<size_t>(n)));
    if (!h.reader.complete()) continue;
    std::optional<std::string> reply;
    absl::Status s = h.handshake.Receive(authkey, h.reader.Take(), &reply);
    if (reply.has_value()) {
      absl::Status sent = SendNow(fd, *reply);
      if (s.ok()) s = sent;
    }
    if (!s.ok()) return s;
    if (h.handshake.done()) return true;
  }
}

// Bounds a blocking connect(): Linux ends one that waits (for room in a
// Unix socket's backlog, or for TCP's handshake) after SO_SNDTIMEO, with
// EAGAIN or EINPROGRESS. Zero takes the bound away.
absl::Status SetSendTimeout(int fd, absl::Duration timeout) {
  struct timeval tv = absl::ToTimeval(timeout);
  // A zero timeval would mean no bound at all.
  if (timeout > absl::ZeroDuration() && tv.tv_sec == 0 && tv.tv_usec == 0) {
    tv.tv_usec = 1;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return LastOsError("setsockopt(SO_SNDTIMEO)");
  }
  return absl::OkStatus();
}

absl::Status TuneTcp(int fd, int family) {
  if (family != AF_INET) return absl::OkStatus();
  // Each message leaves in one write; don't let Nagle hold it back.
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    return LastOsError("setsockopt(TCP_NODELAY)");
  }
  return absl::OkStatus();
}

}  // namespace

Listener::Listener() = default;
Listener::Listener(Listener&& other) noexcept = default;
Listener& Listener::operator=(Listener&& other) noexcept = default;
Listener::~Listener() = default;

absl::Status Listener::Close() {
  state_.reset();
  return absl::OkStatus();
}

absl::Status Listener::Bind(std::optional<Address> address, int backlog) {
  auto state = std::make_unique<State>();
  state->owner = getpid();
  if (!address.has_value()) {
    // Python's arbitrary_address: a name in a directory of its own that only
    // this user can enter, so nobody else can reach the socket or take its
    // name first.
    std::string dir = absl::StrCat(TempDir(), "/mp-XXXXXX");
    if (mkdtemp(dir.data()) == nullptr) return LastOsError("mkdtemp");
    state->private_dir = dir;
    address = Address::Unix(absl::StrCat(dir, "/listener"));
  }
  address_ = *std::move(address);
  MP_ASSIGN_OR_RETURN(SockAddr sa, ToSockAddr(address_));
  // Non-blocking, so that AcceptAuthenticated() can let in every waiting
  // client and stop when there are no more.
  int fd = socket(sa.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return LastOsError("socket");
  state->socket.reset(fd);
  if (sa.family == AF_INET) {
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
      return LastOsError("setsockopt(SO_REUSEADDR)");
    }
  }
  if (bind(fd, sa.get(), sa.length) != 0) {
    return LastOsError(absl::StrCat("bind ", address_.ToString()));
  }
  if (address_.family() == Address::Family::kUnix && !address_.abstract()) {
    // From here the file is ours to remove, even if what follows fails.
    state->unlink_path = address_.path();
    // bind() made it by the umask. Nobody can connect before listen(), so
    // narrowing it here leaves no moment when another user could.
    if (chmod(address_.path().c_str(), S_IRUSR | S_IWUSR) != 0) {
      return LastOsError(absl::StrCat("chmod ", address_.ToString()));
    }
  }
  if (listen(fd, backlog) != 0) return LastOsError("listen");
  if (sa.family == AF_INET) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) != 0) {
      return LastOsError("getsockname");
    }
    address_ = FromSockAddr(ss, len);
  }
  state_ = std::move(state);
  return absl::OkStatus();
}

absl::StatusOr<Connection> Listener::AcceptRaw() {
  struct sockaddr_storage ss;
  while (true) {
    socklen_t len = sizeof ss;
    int fd =
        accept4(state_->socket.get(), reinterpret_cast<struct sockaddr*>(&ss),
                &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        MP_RETURN_IF_ERROR(pipe_internal::WaitFd(state_->socket.get(), POLLIN,
                                                 Deadline::Never())
                               .status());
        continue;
      }
      return LastOsError("accept");
    }
    OwnedHandle h(fd);
    MP_RETURN_IF_ERROR(TuneTcp(fd, ss.ss_family));
    last_accepted_ = FromSockAddr(ss, len);
    return Connection::FromHandle(std::move(h));
  }
}

absl::StatusOr<Connection> Listener::AcceptAuthenticated() {
  State& st = *state_;
  MP_RETURN_IF_ERROR(st.EnsureEpoll());
  // One client's outcome: it leaves the Listener either way.
  auto finish = [&](Handshaking* h,
                    absl::Status outcome) -> absl::StatusOr<Connection> {
    std::unique_ptr<Handshaking> done = st.Remove(h);
    last_accepted_ = std::move(done->peer);
    if (!outcome.ok()) return outcome;
    return Connection::FromHandle(std::move(done->socket));
  };
  while (true) {
    // Every client waiting is let in and challenged now, so that none
    // waits behind another's handshake.
    while (true) {
      struct sockaddr_storage ss;
      socklen_t len = sizeof ss;
      int fd = accept4(st.socket.get(), reinterpret_cast<struct sockaddr*>(&ss),
                       &len, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return LastOsError("accept");
      }
      auto h = std::make_unique<Handshaking>();
      h->socket.reset(fd);
      h->peer = FromSockAddr(ss, len);
      h->deadline = Deadline::After(handshake_timeout_);
      absl::StatusOr<std::string> challenge = h->handshake.Start();
      absl::Status s =
          challenge.ok() ? TuneTcp(fd, ss.ss_family) : challenge.status();
      if (s.ok()) s = SendNow(fd, *challenge);
      if (!s.ok()) {
        last_accepted_ = std::move(h->peer);
        return s;
      }
      if (st.handshakes.size() >= static_cast<size_t>(kMaxHandshakes)) {
        st.Remove(st.handshakes.front().get());
      }
      MP_RETURN_IF_ERROR(st.Add(std::move(h)));
    }
    struct epoll_event events[kMaxHandshakes + 1];
    int n = epoll_wait(st.epoll.get(), events, kMaxHandshakes + 1, 0);
    if (n < 0 && errno != EINTR) return LastOsError("epoll_wait");
    for (int i = 0; i < n; ++i) {
      auto* h = static_cast<Handshaking*>(events[i].data.ptr);
      if (h == nullptr) continue;  // the listening socket: taken above
      absl::StatusOr<bool> through = Advance(*h, *authkey_);
      if (!through.ok()) return finish(h, through.status());
      if (*through) return finish(h, absl::OkStatus());
    }
    Deadline next = Deadline::Never();
    for (const std::unique_ptr<Handshaking>& h : st.handshakes) {
      if (h->deadline.Expired()) {
        return finish(h.get(),
                      TimeoutError("Listener.Accept: the client did not "
                                   "finish the handshake in time"));
      }
      next = Earlier(next, h->deadline);
    }
    MP_RETURN_IF_ERROR(
        pipe_internal::WaitFd(st.epoll.get(), POLLIN, next).status());
  }
}

absl::StatusOr<NativeHandle> Listener::WaitHandle() {
  if (closed()) return ClosedError("listener is closed");
  State& st = *state_;
  if (st.handshakes.empty()) return st.socket.get();
  MP_RETURN_IF_ERROR(st.EnsureEpoll());
  return st.epoll.get();
}

absl::StatusOr<Connection> Listener::Connect(const Address& address,
                                             Deadline deadline) {
  MP_ASSIGN_OR_RETURN(SockAddr sa, ToSockAddr(address));
  int fd = socket(sa.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastOsError("socket");
  OwnedHandle h(fd);
  const std::string what = absl::StrCat("connect ", address.ToString());
  const absl::Status timed_out =
      TimeoutError(absl::StrCat(what, ": timed out"));
  while (true) {
    if (!deadline.IsNever()) {
      if (deadline.Expired()) return timed_out;
      MP_RETURN_IF_ERROR(SetSendTimeout(fd, deadline.Remaining()));
    }
    if (connect(fd, sa.get(), sa.length) == 0) break;
    int e = errno;
    if (e == EAGAIN || e == EINPROGRESS) return timed_out;
    if (e != EINTR) return ErrnoError(e, what);
    // A Unix connect interrupted while it waited for room has not begun:
    // try again.
    if (sa.family == AF_UNIX) continue;
    // TCP's goes on in the background: wait for it.
    MP_ASSIGN_OR_RETURN(bool ready,
                        pipe_internal::WaitFd(fd, POLLOUT, deadline));
    if (!ready) return timed_out;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      return LastOsError("getsockopt(SO_ERROR)");
    }
    if (err != 0) return ErrnoError(err, what);
    break;
  }
  if (!deadline.IsNever()) {
    // The bound was for the connect; the Connection's sends have none.
    MP_RETURN_IF_ERROR(SetSendTimeout(fd, absl::ZeroDuration()));
  }
  MP_RETURN_IF_ERROR(TuneTcp(fd, sa.family));
  return Connection::FromHandle(std::move(h));
}

}  // namespace mp
