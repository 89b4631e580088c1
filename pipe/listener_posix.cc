// POSIX: Listener and Client over Unix (path or abstract) and TCP sockets.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/os_error.h"
#include "base/status.h"
#include "pipe/internal/connection_io.h"
#include "pipe/internal/crypto.h"
#include "pipe/internal/fd_wait.h"
#include "pipe/listener.h"

namespace mp {

struct Listener::State {
  OwnedHandle socket;
  // A socket file to remove on close, by the process that created it only
  // (a forked child that inherits the Listener must not remove it).
  std::string unlink_path;
  pid_t owner = 0;

  ~State() {
    socket.reset();
    if (!unlink_path.empty() && getpid() == owner) {
      ::unlink(unlink_path.c_str());
    }
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

Listener::Listener(Address address) : address_(std::move(address)) {}
Listener::Listener(Listener&& other) noexcept = default;
Listener& Listener::operator=(Listener&& other) noexcept = default;
Listener::~Listener() = default;

absl::Status Listener::Close() {
  state_.reset();
  return absl::OkStatus();
}

Address Listener::ArbitraryAddress() {
  const char* dir = std::getenv("TMPDIR");
  if (dir == nullptr || *dir == '\0') dir = "/tmp";
  absl::StatusOr<std::string> random = pipe_internal::RandomBytes(6);
  std::string tag = random.ok() ? absl::BytesToHexString(*random) : "0";
  return Address::Unix(absl::StrCat(dir, "/mp-listener-", getpid(), "-", tag));
}

absl::Status Listener::Bind(int backlog) {
  absl::StatusOr<SockAddr> sa = ToSockAddr(address_);
  if (!sa.ok()) return sa.status();
  int fd = socket(sa->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastOsError("socket");
  auto state = std::make_unique<State>();
  state->socket.reset(fd);
  if (sa->family == AF_INET) {
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
      return LastOsError("setsockopt(SO_REUSEADDR)");
    }
  }
  if (bind(fd, sa->get(), sa->length) != 0) {
    return LastOsError(absl::StrCat("bind ", address_.ToString()));
  }
  // From here the file is ours to remove, even if listen() fails.
  if (address_.family() == Address::Family::kUnix && !address_.abstract()) {
    state->unlink_path = address_.path();
    state->owner = getpid();
  }
  if (listen(fd, backlog) != 0) return LastOsError("listen");
  if (sa->family == AF_INET) {
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
      return LastOsError("accept");
    }
    OwnedHandle h(fd);
    absl::Status s = TuneTcp(fd, ss.ss_family);
    if (!s.ok()) return s;
    last_accepted_ = FromSockAddr(ss, len);
    return Connection::FromHandle(std::move(h));
  }
}

absl::StatusOr<NativeHandle> Listener::WaitHandle() {
  if (closed()) return ClosedError("listener is closed");
  return state_->socket.get();
}

namespace pipe_internal {

absl::StatusOr<Connection> ConnectionIo::Connect(const Address& address) {
  absl::StatusOr<SockAddr> sa = ToSockAddr(address);
  if (!sa.ok()) return sa.status();
  int fd = socket(sa->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastOsError("socket");
  OwnedHandle h(fd);
  if (connect(fd, sa->get(), sa->length) != 0) {
    if (errno != EINTR) {
      return LastOsError(absl::StrCat("connect ", address.ToString()));
    }
    // An interrupted connect goes on in the background: wait for it.
    absl::StatusOr<bool> ready = WaitFd(fd, POLLOUT, Deadline::Never());
    if (!ready.ok()) return ready.status();
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      return LastOsError("getsockopt(SO_ERROR)");
    }
    if (err != 0) {
      return ErrnoError(err, absl::StrCat("connect ", address.ToString()));
    }
  }
  absl::Status s = TuneTcp(fd, sa->family);
  if (!s.ok()) return s;
  return Connection::FromHandle(std::move(h));
}

}  // namespace pipe_internal
}  // namespace mp
