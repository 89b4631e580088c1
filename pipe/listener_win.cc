// Windows: Listener and Client over named pipes (Python's AF_PIPE) and TCP.
#include <winsock2.h>
#include <ws2tcpip.h>
// winsock2.h must come before windows.h.
#include <windows.h>

#include <atomic>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/deadline.h"
#include "base/os_error.h"
#include "base/status.h"
#include "pipe/internal/connection_io.h"
#include "pipe/internal/crypto.h"
#include "pipe/internal/win_io.h"
#include "pipe/listener.h"

namespace mp {
namespace {

constexpr DWORD kPipeBuffer = 64 << 10;
// How long Client keeps trying a busy pipe (Python's CONNECTION_TIMEOUT).
constexpr absl::Duration kConnectTimeout = absl::Seconds(20);

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
  absl::Status s = pipe_internal::EnsureWinsock();
  if (!s.ok()) return s;
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

  ~State() {
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
};

Listener::Listener(Address address) : address_(std::move(address)) {}
Listener::Listener(Listener&& other) noexcept = default;
Listener& Listener::operator=(Listener&& other) noexcept = default;
Listener::~Listener() = default;

absl::Status Listener::Close() {
  state_.reset();
  return absl::OkStatus();
}

Address Listener::ArbitraryAddress() {
  static std::atomic<unsigned> counter{0};
  absl::StatusOr<std::string> random = pipe_internal::RandomBytes(6);
  return Address::NamedPipe(absl::StrCat(
      "\\\\.\\pipe\\mp-listener-", GetCurrentProcessId(), "-", counter++, "-",
      random.ok() ? absl::BytesToHexString(*random) : "0"));
}

absl::Status Listener::Bind(int backlog) {
  auto state = std::make_unique<State>();
  state->event.reset(CreateEventW(nullptr, TRUE, FALSE, nullptr));
  if (!state->event.valid()) return LastOsError("CreateEvent");
  switch (address_.family()) {
    case Address::Family::kPipe: {
      absl::Status s = CheckPipeName(address_);
      if (!s.ok()) return s;
      state->pipe_name = pipe_internal::Widen(address_.path());
      // FILE_FLAG_FIRST_PIPE_INSTANCE refuses a name in use on Windows but
      // not under Wine: ask first whether any instance exists.
      if (WaitNamedPipeW(state->pipe_name.c_str(), 1) ||
          GetLastError() != ERROR_FILE_NOT_FOUND) {
        return absl::AlreadyExistsError(absl::StrCat(
            "bind ", address_.ToString(), ": a pipe of that name exists"));
      }
      absl::StatusOr<OwnedHandle> h =
          NewPipeInstance(state->pipe_name, /*first=*/true);
      if (!h.ok()) return h.status();
      state->pipe = *std::move(h);
      s = state->StartConnect();
      if (!s.ok()) return s;
      break;
    }
    case Address::Family::kInet: {
      absl::StatusOr<SOCKET> sock = NewTcpSocket();
      if (!sock.ok()) return sock.status();
      state->socket = *sock;
      absl::StatusOr<struct sockaddr_in> sa = ResolveInet(address_);
      if (!sa.ok()) return sa.status();
      // Without SO_REUSEADDR (whose Windows meaning lets another socket
      // take the port over) a second bind of the address fails.
      if (bind(*sock, reinterpret_cast<const struct sockaddr*>(&*sa),
               sizeof *sa) != 0) {
        return Win32Error(WSAGetLastError(),
                          absl::StrCat("bind ", address_.ToString()));
      }
      if (listen(*sock, backlog) != 0) {
        return Win32Error(WSAGetLastError(), "listen");
      }
      struct sockaddr_in bound;
      int len = sizeof bound;
      if (getsockname(*sock, reinterpret_cast<struct sockaddr*>(&bound),
                      &len) != 0) {
        return Win32Error(WSAGetLastError(), "getsockname");
      }
      address_ = FromSockAddr(bound);
      if (WSAEventSelect(*sock, state->event.get(), FD_ACCEPT) != 0) {
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
      struct sockaddr_in peer;
      int len = sizeof peer;
      SOCKET sock =
          accept(st.socket, reinterpret_cast<struct sockaddr*>(&peer), &len);
      if (sock != INVALID_SOCKET) {
        // The new socket inherits the listener's event selection and
        // non-blocking mode; a Connection wants neither.
        WSAEventSelect(sock, nullptr, 0);
        u_long blocking = 0;
        ioctlsocket(sock, FIONBIO, &blocking);
        SetHandleInformation(reinterpret_cast<HANDLE>(sock),
                             HANDLE_FLAG_INHERIT, 0);
        last_accepted_ = FromSockAddr(peer);
        return TcpConnection(sock);
      }
      int error = WSAGetLastError();
      if (error != WSAEWOULDBLOCK) return Win32Error(error, "accept");
      if (WaitForSingleObject(st.event.get(), INFINITE) != WAIT_OBJECT_0) {
        return LastOsError("WaitForSingleObject");
      }
    }
  }
  if (st.pending) {
    DWORD unused = 0;
    BOOL ok = GetOverlappedResult(st.pipe.get(), &st.ov, &unused, TRUE);
    st.pending = false;
    if (!ok && GetLastError() != ERROR_PIPE_CONNECTED &&
        GetLastError() != ERROR_NO_DATA) {
      absl::Status s = LastOsError("ConnectNamedPipe");
      // This instance is spoilt; put up a fresh one for the next client.
      absl::StatusOr<OwnedHandle> next =
          NewPipeInstance(st.pipe_name, /*first=*/false);
      if (next.ok()) {
        st.pipe = *std::move(next);
        st.StartConnect().IgnoreError();
      }
      return s;
    }
    st.connected = true;
  }
  // The next instance is up before this one is handed out, so a client
  // never finds the name gone.
  absl::StatusOr<OwnedHandle> next =
      NewPipeInstance(st.pipe_name, /*first=*/false);
  if (!next.ok()) return next.status();
  OwnedHandle connected = std::exchange(st.pipe, *std::move(next));
  absl::Status s = st.StartConnect();
  if (!s.ok()) return s;
  last_accepted_.reset();  // Python: None for pipes
  return Connection::FromHandle(std::move(connected));
}

absl::StatusOr<NativeHandle> Listener::WaitHandle() {
  if (closed()) return ClosedError("listener is closed");
  return state_->event.get();
}

namespace pipe_internal {

absl::StatusOr<Connection> ConnectionIo::Connect(const Address& address) {
  switch (address.family()) {
    case Address::Family::kPipe: {
      absl::Status s = CheckPipeName(address);
      if (!s.ok()) return s;
      std::wstring name = Widen(address.path());
      Deadline deadline = Deadline::After(kConnectTimeout);
      while (true) {
        WaitNamedPipeW(name.c_str(), 1000);
        HANDLE h =
            CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                        OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
        if (h != INVALID_HANDLE_VALUE) {
          return Connection::FromHandle(OwnedHandle(h));
        }
        DWORD error = GetLastError();
        if ((error != ERROR_PIPE_BUSY && error != ERROR_SEM_TIMEOUT) ||
            deadline.Expired()) {
          return Win32Error(error,
                            absl::StrCat("connect ", address.ToString()));
        }
      }
    }
    case Address::Family::kInet: {
      absl::StatusOr<SOCKET> sock = NewTcpSocket();
      if (!sock.ok()) return sock.status();
      OwnedHandle guard(reinterpret_cast<HANDLE>(*sock));
      absl::StatusOr<struct sockaddr_in> sa = ResolveInet(address);
      if (!sa.ok()) {
        closesocket(AsSocket(guard.release()));
        return sa.status();
      }
      if (connect(*sock, reinterpret_cast<const struct sockaddr*>(&*sa),
                  sizeof *sa) != 0) {
        int error = WSAGetLastError();
        closesocket(AsSocket(guard.release()));
        return Win32Error(error, absl::StrCat("connect ", address.ToString()));
      }
      return TcpConnection(AsSocket(guard.release()));
    }
    case Address::Family::kUnix:
      break;
  }
  return absl::InvalidArgumentError(
      "Family AF_UNIX is not recognized on Windows");
}

}  // namespace pipe_internal
}  // namespace mp
