// Windows: Listener and Client over named pipes (Python's AF_PIPE) and TCP.
#include <winsock2.h>
#include <ws2tcpip.h>
// winsock2.h must come before windows.h.
#include <windows.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/deadline.h"
#include "base/os_error.h"
#include "base/status.h"
#include "pipe/internal/auth.h"
#include "pipe/internal/crypto.h"
#include "pipe/internal/win_io.h"
#include "pipe/listener.h"

namespace mp {
namespace {

constexpr DWORD kPipeBuffer = 64 << 10;
// How long Client keeps trying a busy pipe (Python's CONNECTION_TIMEOUT)
// when it was given no timeout.
constexpr absl::Duration kConnectTimeout = absl::Seconds(20);
// The longest message read from a client before it has proven the key
// (Python's recv_bytes(256)).
constexpr DWORD kMaxUnauthenticated = 256;

SOCKET AsSocket(NativeHandle h) { return reinterpret_cast<SOCKET>(h); }

absl::Status CheckPipeName(const Address& address) {
  if (!absl::StartsWith(address.path(), "\\\\")) {
    return absl::InvalidArgumentError(
        absl::StrCat("a named pipe address looks like \\\\.\\pipe\\name, not ",
                     address.path()));
  }
  return absl::OkStatus();
}

// A new instance of the pipe for the next client (Python's PipeListener).
absl::StatusOr<OwnedHandle> NewPipeInstance(const std::wstring& name,
                                            bool first) {
  DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
  if (first) open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
  OwnedHandle h(CreateNamedPipeW(
      name.c_str(), open_mode,
      PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
      PIPE_UNLIMITED_INSTANCES, kPipeBuffer, kPipeBuffer, 0, nullptr));
  if (!h.valid()) return LastOsError("CreateNamedPipe");
  return h;
}

absl::StatusOr<struct sockaddr_in> ResolveInet(const Address& address) {
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
    return absl::NotFoundError(
        absl::StrCat("cannot resolve ", address.ToString()));
  }
  struct sockaddr_in out;
  std::memcpy(&out, info->ai_addr, sizeof out);
  freeaddrinfo(info);
  return out;
}

Address FromSockAddr(const struct sockaddr_in& in) {
  char host[INET_ADDRSTRLEN] = {0};
  inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
  return Address::Inet(host, ntohs(in.sin_port));
}

// A TCP socket that child processes do not inherit.
absl::StatusOr<SOCKET> NewTcpSocket() {
  MP_RETURN_IF_ERROR(pipe_internal::EnsureWinsock());
  SOCKET sock = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0,
                           WSA_FLAG_OVERLAPPED);
  if (sock == INVALID_SOCKET) return Win32Error(WSAGetLastError(), "socket");
  SetHandleInformation(reinterpret_cast<HANDLE>(sock), HANDLE_FLAG_INHERIT, 0);
  return sock;
}

absl::StatusOr<Connection> TcpConnection(SOCKET sock) {
  // Each message leaves in one send; don't let Nagle hold it back.
  BOOL one = TRUE;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<char*>(&one),
             sizeof one);
  return Connection::FromHandle(OwnedHandle(reinterpret_cast<HANDLE>(sock)));
}

// connect(), bounded by `deadline`: without blocking, then select() for
// the outcome.
absl::Status ConnectSocket(SOCKET sock, const struct sockaddr_in& sa,
                           Deadline deadline, const std::string& what) {
  const auto* addr = reinterpret_cast<const struct sockaddr*>(&sa);
  if (deadline.IsNever()) {
    if (connect(sock, addr, sizeof sa) != 0) {
      return Win32Error(WSAGetLastError(), what);
    }
    return absl::OkStatus();
  }
  u_long on = 1;
  if (ioctlsocket(sock, FIONBIO, &on) != 0) {
    return Win32Error(WSAGetLastError(), "ioctlsocket");
  }
  if (connect(sock, addr, sizeof sa) != 0) {
    int error = WSAGetLastError();
    if (error != WSAEWOULDBLOCK) return Win32Error(error, what);
    while (true) {
      fd_set writable, failed;
      FD_ZERO(&writable);
      FD_ZERO(&failed);
      FD_SET(sock, &writable);
      FD_SET(sock, &failed);
      // select() takes a timeval; a long wait is taken in parts.
      struct timeval tv =
          absl::ToTimeval(std::min(deadline.Remaining(), absl::Hours(1)));
      int n = select(0, nullptr, &writable, &failed, &tv);
      if (n == SOCKET_ERROR) return Win32Error(WSAGetLastError(), "select");
      if (n > 0) break;
      if (deadline.Expired()) {
        return TimeoutError(absl::StrCat(what, ": timed out"));
      }
    }
    int err = 0;
    int len = sizeof err;
    if (getsockopt(sock, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err),
                   &len) != 0) {
      return Win32Error(WSAGetLastError(), "getsockopt(SO_ERROR)");
    }
    if (err != 0) return Win32Error(err, what);
  }
  u_long off = 0;
  if (ioctlsocket(sock, FIONBIO, &off) != 0) {
    return Win32Error(WSAGetLastError(), "ioctlsocket");
  }
  return absl::OkStatus();
}

Address ArbitraryAddress() {
  static std::atomic<unsigned> counter{0};
  absl::StatusOr<std::string> random = pipe_internal::RandomBytes(6);
  return Address::NamedPipe(absl::StrCat(
      "\\\\.\\pipe\\mp-listener-", GetCurrentProcessId(), "-", counter++, "-",
      random.ok() ? absl::BytesToHexString(*random) : "0"));
}

// A client let in but not yet through the handshake, with a read pending
// on its connection (`reading`) whose OVERLAPPED signals the Listener's
// event.
struct Handshaking {
  // First, so it is closed only once the read below is over.
  Connection connection;
  bool socket = false;
  std::optional<Address> peer;
  Deadline deadline = Deadline::Never();
  pipe_internal::ServerHandshake handshake;
  // A socket's messages come framed, in pieces; a pipe's whole, one pipe
  // message each, into `message`.
  pipe_internal::CappedReader reader;
  char message[kMaxUnauthenticated];
  OVERLAPPED ov = {};
  bool reading = false;

  Handshaking() = default;
  Handshaking(const Handshaking&) = delete;
  Handshaking& operator=(const Handshaking&) = delete;
  ~Handshaking() {
    if (!reading) return;
    HANDLE h = connection.handle();
    CancelIoEx(h, &ov);
    DWORD unused;
    GetOverlappedResult(h, &ov, &unused, TRUE);
  }

  // Starts reading what the client sends next.
  absl::Status StartRead(HANDLE event) {
    ov = {};
    ov.hEvent = event;
    if (socket) {
      absl::Span<char> room = reader.Room();
      WSABUF buf = {static_cast<ULONG>(room.size()), room.data()};
      DWORD got = 0, flags = 0;
      if (WSARecv(AsSocket(connection.handle()), &buf, 1, &got, &flags, &ov,
                  nullptr) != 0 &&
          WSAGetLastError() != WSA_IO_PENDING) {
        return Win32Error(WSAGetLastError(), "Listener.Accept: WSARecv");
      }
      reading = true;
      return absl::OkStatus();
    }
    if (!ReadFile(connection.handle(), message, sizeof message, nullptr, &ov)) {
      DWORD error = GetLastError();
      // An oversized message ends the read at once; its result says so.
      if (error != ERROR_IO_PENDING && error != ERROR_MORE_DATA) {
        if (pipe_internal::IsPipeGone(error)) return EofError();
        return Win32Error(error, "Listener.Accept: ReadFile");
      }
    }
    reading = true;
    return absl::OkStatus();
  }

  // Takes the read that completed, and the handshake as far as it goes:
  // true once it is through.
  absl::StatusOr<bool> FinishRead(absl::string_view authkey) {
    reading = false;
    DWORD n = 0;
    std::string got;
    if (socket) {
      DWORD flags = 0;
      if (!WSAGetOverlappedResult(AsSocket(connection.handle()), &ov, &n, FALSE,
                                  &flags)) {
        return Win32Error(WSAGetLastError(), "Listener.Accept: WSARecv");
      }
      if (n == 0) return reader.Eof();
      MP_RETURN_IF_ERROR(reader.Got(n));
      if (!reader.complete()) return false;
      got = reader.Take();
    } else {
      // Waiting only for the completion to have signalled the event, so that
      // the caller's next reset clears it.
      if (!GetOverlappedResult(connection.handle(), &ov, &n, TRUE)) {
        DWORD error = GetLastError();
        if (error == ERROR_MORE_DATA) {
          return AuthenticationError(absl::StrCat(
              "unauthenticated peer sent a bad message: bad message length: "
              "the message has more than ",
              kMaxUnauthenticated, " bytes"));
        }
        if (pipe_internal::IsPipeGone(error)) return EofError();
        return Win32Error(error, "Listener.Accept: ReadFile");
      }
      got.assign(message, n);
    }
    std::optional<std::string> reply;
    absl::Status s = handshake.Receive(authkey, got, &reply);
    // A few short messages to a connection that had nothing in it: they
    // fit in its buffer, so this send does not wait on the client.
    if (reply.has_value()) {
      absl::Status sent = connection.SendBytes(*reply);
      if (s.ok()) s = sent;
    }
    if (!s.ok()) return s;
    return handshake.done();
  }
};

// A client's handshake that ended, for an Accept() to return.
struct Outcome {
  std::optional<Address> peer;
  absl::StatusOr<Connection> result;
};

}  // namespace

struct Listener::State {
  // Named pipes: the instance the next client connects to, with a
  // ConnectNamedPipe pending on it (`pending`) or done (`connected`); the
  // event is signalled once a client is there.
  std::wstring pipe_name;
  OwnedHandle pipe;
  OwnedHandle event;
  OVERLAPPED ov = {};
  bool pending = false;
  bool connected = false;
  // TCP: the listening socket, and the event WSAEventSelect signals when a
  // client is waiting.
  SOCKET socket = INVALID_SOCKET;
  // Clients mid-handshake, earliest let in first; their reads signal
  // `event` too, so one handle tells Wait() that Accept() has work. And
  // handshakes that ended, not yet returned by an Accept().
  std::vector<std::unique_ptr<Handshaking>> handshakes;
  std::deque<Outcome> finished;

  ~State() {
    handshakes.clear();
    if (pending) {
      CancelIoEx(pipe.get(), &ov);
      DWORD unused;
      GetOverlappedResult(pipe.get(), &ov, &unused, TRUE);
    }
    if (socket != INVALID_SOCKET) closesocket(socket);
  }

  // Starts waiting for a client on `pipe`.
  absl::Status StartConnect() {
    ResetEvent(event.get());
    ov = {};
    ov.hEvent = event.get();
    pending = connected = false;
    if (ConnectNamedPipe(pipe.get(), &ov)) {
      connected = true;
    } else {
      DWORD error = GetLastError();
      if (error == ERROR_IO_PENDING) {
        pending = true;
        return absl::OkStatus();
      }
      // ERROR_NO_DATA: a client came and already left (Python issue 14725);
      // it is accepted, and its connection reads EOF.
      if (error != ERROR_PIPE_CONNECTED && error != ERROR_NO_DATA) {
        return Win32Error(error, "ConnectNamedPipe");
      }
      connected = true;
    }
    SetEvent(event.get());
    return absl::OkStatus();
  }

  // Whether a client is on `pipe` (or its connect failed) without waiting.
  bool PipeReady() const {
    return connected || (pending && HasOverlappedIoCompleted(&ov));
  }

  // The instance a client connected to, once one has (waiting for it when
  // the connect is pending), with the next instance up before it is handed
  // out, so a client never finds the name gone.
  absl::StatusOr<OwnedHandle> TakePipe() {
    if (pending) {
      DWORD unused = 0;
      BOOL ok = GetOverlappedResult(pipe.get(), &ov, &unused, TRUE);
      pending = false;
      if (!ok && GetLastError() != ERROR_PIPE_CONNECTED &&
          GetLastError() != ERROR_NO_DATA) {
        absl::Status s = LastOsError("ConnectNamedPipe");
        // This instance is spoilt; put up a fresh one for the next client.
        absl::StatusOr<OwnedHandle> next =
            NewPipeInstance(pipe_name, /*first=*/false);
        if (next.ok()) {
          pipe = *std::move(next);
          StartConnect().IgnoreError();
        }
        return s;
      }
      connected = true;
    }
    MP_ASSIGN_OR_RETURN(OwnedHandle next,
                        NewPipeInstance(pipe_name, /*first=*/false));
    OwnedHandle taken = std::exchange(pipe, std::move(next));
    MP_RETURN_IF_ERROR(StartConnect());
    return taken;
  }

  // The next TCP client, or nullopt when none is waiting.
  absl::StatusOr<std::optional<std::pair<SOCKET, Address>>> TakeSocket() {
    struct sockaddr_in peer;
    int len = sizeof peer;
    SOCKET sock =
        accept(socket, reinterpret_cast<struct sockaddr*>(&peer), &len);
    if (sock == INVALID_SOCKET) {
      int error = WSAGetLastError();
      if (error == WSAEWOULDBLOCK) return std::nullopt;
      return Win32Error(error, "accept");
    }
    // The new socket inherits the listener's event selection and
    // non-blocking mode; a Connection wants neither.
    WSAEventSelect(sock, nullptr, 0);
    u_long blocking = 0;
    ioctlsocket(sock, FIONBIO, &blocking);
    SetHandleInformation(reinterpret_cast<HANDLE>(sock), HANDLE_FLAG_INHERIT,
                         0);
    return std::make_pair(sock, FromSockAddr(peer));
  }
};

Listener::Listener() = default;
Listener::Listener(Listener&& other) noexcept = default;
Listener& Listener::operator=(Listener&& other) noexcept = default;
Listener::~Listener() = default;

absl::Status Listener::Close() {
  state_.reset();
  return absl::OkStatus();
}

absl::Status Listener::Bind(std::optional<Address> address, int backlog) {
  address_ = address.has_value() ? *std::move(address) : ArbitraryAddress();
  auto state = std::make_unique<State>();
  state->event.reset(CreateEventW(nullptr, TRUE, FALSE, nullptr));
  if (!state->event.valid()) return LastOsError("CreateEvent");
  switch (address_.family()) {
    case Address::Family::kPipe: {
      MP_RETURN_IF_ERROR(CheckPipeName(address_));
      state->pipe_name = pipe_internal::Widen(address_.path());
      // FILE_FLAG_FIRST_PIPE_INSTANCE refuses a name in use on Windows but
      // not under Wine: ask first whether any instance exists.
      if (WaitNamedPipeW(state->pipe_name.c_str(), 1) ||
          GetLastError() != ERROR_FILE_NOT_FOUND) {
        return absl::AlreadyExistsError(absl::StrCat(
            "bind ", address_.ToString(), ": a pipe of that name exists"));
      }
      MP_ASSIGN_OR_RETURN(state->pipe,
                          NewPipeInstance(state->pipe_name, /*first=*/true));
      MP_RETURN_IF_ERROR(state->StartConnect());
      break;
    }
    case Address::Family::kInet: {
      MP_ASSIGN_OR_RETURN(SOCKET sock, NewTcpSocket());
      state->socket = sock;
      MP_ASSIGN_OR_RETURN(struct sockaddr_in sa, ResolveInet(address_));
      // Without SO_REUSEADDR (whose Windows meaning lets another socket
      // take the port over) a second bind of the address fails.
      if (bind(sock, reinterpret_cast<const struct sockaddr*>(&sa),
               sizeof sa) != 0) {
        return Win32Error(WSAGetLastError(),
                          absl::StrCat("bind ", address_.ToString()));
      }
      if (listen(sock, backlog) != 0) {
        return Win32Error(WSAGetLastError(), "listen");
      }
      struct sockaddr_in bound;
      int len = sizeof bound;
      if (getsockname(sock, reinterpret_cast<struct sockaddr*>(&bound), &len) !=
          0) {
        return Win32Error(WSAGetLastError(), "getsockname");
      }
      address_ = FromSockAddr(bound);
      if (WSAEventSelect(sock, state->event.get(), FD_ACCEPT) != 0) {
        return Win32Error(WSAGetLastError(), "WSAEventSelect");
      }
      break;
    }
    case Address::Family::kUnix:
      return absl::InvalidArgumentError(
          "Family AF_UNIX is not recognized on Windows");
  }
  state_ = std::move(state);
  return absl::OkStatus();
}

absl::StatusOr<Connection> Listener::AcceptRaw() {
  State& st = *state_;
  if (st.socket != INVALID_SOCKET) {
    while (true) {
      // Clear the event first: accept() signals it again if more clients
      // are waiting.
      WSANETWORKEVENTS events;
      WSAEnumNetworkEvents(st.socket, st.event.get(), &events);
      MP_ASSIGN_OR_RETURN(auto client, st.TakeSocket());
      if (client.has_value()) {
        last_accepted_ = client->second;
        return TcpConnection(client->first);
      }
      if (WaitForSingleObject(st.event.get(), INFINITE) != WAIT_OBJECT_0) {
        return LastOsError("WaitForSingleObject");
      }
    }
  }
  MP_ASSIGN_OR_RETURN(OwnedHandle taken, st.TakePipe());
  last_accepted_.reset();  // Python: None for pipes
  return Connection::FromHandle(std::move(taken));
}

absl::StatusOr<Connection> Listener::AcceptAuthenticated() {
  State& st = *state_;
  const HANDLE event = st.event.get();
  // Lets in a client: challenges it and starts reading its answer.
  auto admit = [&](absl::StatusOr<Connection> c, bool socket,
                   std::optional<Address> peer) {
    auto h = std::make_unique<Handshaking>();
    h->socket = socket;
    h->peer = std::move(peer);
    h->deadline = Deadline::After(handshake_timeout_);
    absl::Status s = c.status();
    if (s.ok()) {
      h->connection = *std::move(c);
      absl::StatusOr<std::string> challenge = h->handshake.Start();
      s = challenge.ok() ? h->connection.SendBytes(*challenge)
                         : challenge.status();
    }
    if (s.ok()) s = h->StartRead(event);
    if (!s.ok()) {
      st.finished.push_back(Outcome{std::move(h->peer), s});
      return;
    }
    if (st.handshakes.size() >= static_cast<size_t>(kMaxHandshakes)) {
      st.handshakes.erase(st.handshakes.begin());
    }
    st.handshakes.push_back(std::move(h));
  };
  // One look at everything without waiting: new clients let in, reads that
  // completed taken, handshakes out of time ended. Starting a read or a
  // connect resets the event (Windows does so for the event of any
  // overlapped call), which may wipe another's signal; so the caller looks
  // again until a look starts nothing. Returns whether this one did.
  auto look = [&]() -> bool {
    bool started = false;
    if (st.socket != INVALID_SOCKET) {
      while (true) {
        absl::StatusOr<std::optional<std::pair<SOCKET, Address>>> client =
            st.TakeSocket();
        if (!client.ok()) {
          st.finished.push_back(Outcome{std::nullopt, client.status()});
          break;
        }
        if (!client->has_value()) break;
        admit(TcpConnection((*client)->first), /*socket=*/true,
              (*client)->second);
        started = true;
      }
    } else {
      while (st.PipeReady()) {
        absl::StatusOr<OwnedHandle> taken = st.TakePipe();
        if (!taken.ok()) {
          // Not counted as a start, so a failure that stays cannot keep
          // the caller looking; the Accept() reports it.
          st.finished.push_back(Outcome{std::nullopt, taken.status()});
          break;
        }
        started = true;
        admit(Connection::FromHandle(*std::move(taken)), /*socket=*/false,
              std::nullopt);
      }
    }
    for (size_t i = 0; i < st.handshakes.size();) {
      Handshaking& h = *st.handshakes[i];
      absl::Status ended;
      bool through = false;
      if (h.reading && HasOverlappedIoCompleted(&h.ov)) {
        absl::StatusOr<bool> r = h.FinishRead(*authkey_);
        if (r.ok() && !*r) {
          ended = h.StartRead(event);
          started = true;
        } else {
          ended = r.status();
          through = r.ok();
        }
      }
      if (ended.ok() && !through && h.deadline.Expired()) {
        ended = TimeoutError(
            "Listener.Accept: the client did not finish the handshake in "
            "time");
      }
      if (ended.ok() && !through) {
        ++i;
        continue;
      }
      absl::StatusOr<Connection> result =
          through ? absl::StatusOr<Connection>(std::move(h.connection))
                  : absl::StatusOr<Connection>(ended);
      st.finished.push_back(Outcome{std::move(h.peer), std::move(result)});
      st.handshakes.erase(st.handshakes.begin() + i);
    }
    return started;
  };
  while (true) {
    bool started = true;
    while (started) {
      ResetEvent(event);
      started = look();
    }
    if (!st.finished.empty()) {
      Outcome o = std::move(st.finished.front());
      st.finished.pop_front();
      if (st.socket == INVALID_SOCKET) {
        // A read taken in the last look may have signalled the event after
        // that look reset it: Wait() is told only of what is there.
        ResetEvent(event);
        bool ready = !st.finished.empty() || st.PipeReady();
        for (const std::unique_ptr<Handshaking>& h : st.handshakes) {
          ready = ready || (h->reading && HasOverlappedIoCompleted(&h->ov));
        }
        if (ready) SetEvent(event);
      } else if (!st.finished.empty()) {
        // What is left is ready for the next Accept(): Wait() should say so.
        SetEvent(event);
      }
      last_accepted_ = std::move(o.peer);
      return std::move(o.result);
    }
    Deadline next = Deadline::Never();
    for (const std::unique_ptr<Handshaking>& h : st.handshakes) {
      next = Earlier(next, h->deadline);
    }
    if (WaitForSingleObject(event, pipe_internal::WaitMillis(next)) ==
        WAIT_FAILED) {
      return LastOsError("WaitForSingleObject");
    }
  }
}

absl::StatusOr<NativeHandle> Listener::WaitHandle() {
  if (closed()) return ClosedError("listener is closed");
  return state_->event.get();
}

absl::StatusOr<Connection> Listener::Connect(const Address& address,
                                             Deadline deadline) {
  const std::string what = absl::StrCat("connect ", address.ToString());
  switch (address.family()) {
    case Address::Family::kPipe: {
      MP_RETURN_IF_ERROR(CheckPipeName(address));
      std::wstring name = pipe_internal::Widen(address.path());
      Deadline busy =
          deadline.IsNever() ? Deadline::After(kConnectTimeout) : deadline;
      while (true) {
        // A wait of 0 would mean the pipe's default; at least 1 ms.
        WaitNamedPipeW(
            name.c_str(),
            std::max<DWORD>(1,
                            std::min<DWORD>(1000, busy.RemainingMillis(1000))));
        HANDLE h =
            CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                        OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
        if (h != INVALID_HANDLE_VALUE) {
          return Connection::FromHandle(OwnedHandle(h));
        }
        DWORD error = GetLastError();
        if (error != ERROR_PIPE_BUSY && error != ERROR_SEM_TIMEOUT) {
          return Win32Error(error, what);
        }
        if (busy.Expired()) {
          if (!deadline.IsNever()) {
            return TimeoutError(absl::StrCat(what, ": timed out"));
          }
          return Win32Error(error, what);
        }
      }
    }
    case Address::Family::kInet: {
      MP_ASSIGN_OR_RETURN(SOCKET sock, NewTcpSocket());
      // Closed on every way out until the Connection takes it.
      std::unique_ptr<void, void (*)(void*)> guard(
          reinterpret_cast<void*>(sock),
          [](void* s) { closesocket(reinterpret_cast<SOCKET>(s)); });
      MP_ASSIGN_OR_RETURN(struct sockaddr_in sa, ResolveInet(address));
      MP_RETURN_IF_ERROR(ConnectSocket(sock, sa, deadline, what));
      guard.release();
      return TcpConnection(sock);
    }
    case Address::Family::kUnix:
      break;
  }
  return absl::InvalidArgumentError(
      "Family AF_UNIX is not recognized on Windows");
}

}  // namespace mp
