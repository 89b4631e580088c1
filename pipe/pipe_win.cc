// Windows: a Connection is an overlapped message-mode named pipe (Pipe(),
// named-pipe Listener and Client; one message per pipe message, as Python's
// PipeConnection), or a socket carrying Python's framing (TCP).
#include <windows.h>
#include <winsock2.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/codec.h"
#include "base/os_error.h"
#include "base/status.h"
#include "pipe/internal/connection_io.h"
#include "pipe/internal/crypto.h"
#include "pipe/internal/framing.h"
#include "pipe/internal/win_io.h"
#include "pipe/pipe.h"

namespace mp {
namespace {

using pipe_internal::AtStart;
using pipe_internal::Probe;

// Each pipe's buffer, each way; Python uses 8 KiB.
constexpr DWORD kPipeBuffer = 64 << 10;
// The most a single send or recv takes.
constexpr size_t kMaxChunk = size_t{1} << 30;
// Up to this size a socket message is framed in a copy and sent whole.
constexpr size_t kConcatenateUpTo = 16384;

SOCKET AsSocket(NativeHandle h) { return reinterpret_cast<SOCKET>(h); }

// ---- sockets: Python's framing ----

absl::Status SocketWaitReadable(SOCKET s, Deadline deadline) {
  while (true) {
    WSAPOLLFD p = {s, POLLRDNORM, 0};
    int n =
        WSAPoll(&p, 1, static_cast<INT>(pipe_internal::WaitMillis(deadline)));
    if (n > 0) return absl::OkStatus();
    if (n < 0) return Win32Error(WSAGetLastError(), "WSAPoll");
    if (deadline.Expired()) {
      return TimeoutError("Connection.RecvBytes: timed out");
    }
  }
}

absl::Status SocketReadExact(SOCKET s, char* out, size_t size,
                             Deadline deadline, AtStart at_start) {
  size_t done = 0;
  while (done < size) {
    if (!deadline.IsNever()) {
      MP_RETURN_IF_ERROR(SocketWaitReadable(s, deadline));
    }
    int want = static_cast<int>(std::min(size - done, kMaxChunk));
    int n = recv(s, out + done, want, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return pipe_internal::EndOfFile(done, at_start);
    int error = WSAGetLastError();
    if (error == WSAEINTR) continue;
    if (error == WSAEWOULDBLOCK) {
      MP_RETURN_IF_ERROR(SocketWaitReadable(s, deadline));
      continue;
    }
    return Win32Error(error, "Connection.RecvBytes");
  }
  return absl::OkStatus();
}

absl::Status SocketSendAll(SOCKET s, const char* data, size_t size) {
  while (size > 0) {
    int n = send(s, data, static_cast<int>(std::min(size, kMaxChunk)), 0);
    if (n == SOCKET_ERROR) {
      int error = WSAGetLastError();
      if (error == WSAEINTR) continue;
      if (error == WSAEWOULDBLOCK) {
        WSAPOLLFD p = {s, POLLWRNORM, 0};
        if (WSAPoll(&p, 1, -1) < 0) {
          return Win32Error(WSAGetLastError(), "WSAPoll");
        }
        continue;
      }
      if (error == WSAECONNRESET || error == WSAECONNABORTED ||
          error == WSAESHUTDOWN) {
        return pipe_internal::BrokenPipe("Connection.SendBytes");
      }
      return Win32Error(error, "Connection.SendBytes");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WaitEvent(HANDLE event, Deadline deadline, bool* timed_out) {
  DWORD w = WaitForSingleObject(event, pipe_internal::WaitMillis(deadline));
  *timed_out = (w == WAIT_TIMEOUT);
  if (w == WAIT_OBJECT_0 || w == WAIT_TIMEOUT) return absl::OkStatus();
  return LastOsError("WaitForSingleObject");
}

// Probes pipe `h` and waits on `event` (the probe's) until the probe ends
// or `deadline` passes; kPending then.
absl::StatusOr<Probe> ProbePipeUntil(HANDLE h, HANDLE event,
                                     Deadline deadline) {
  OVERLAPPED ov = {};
  ov.hEvent = event;
  absl::StatusOr<Probe> p = pipe_internal::StartPipeProbe(h, &ov);
  if (p.ok() && *p == Probe::kPending) {
    bool timed_out = false;
    absl::Status w = WaitEvent(event, deadline, &timed_out);
    p = pipe_internal::FinishPipeProbe(h, &ov,
                                       /*cancel=*/timed_out || !w.ok());
    if (!w.ok()) return w;
  }
  return p;
}

}  // namespace

absl::Status Connection::Init() {
  HANDLE h = handle_.get();
  MP_RETURN_IF_ERROR(pipe_internal::EnsureWinsock());
  int type = 0;
  int len = sizeof type;
  if (getsockopt(AsSocket(h), SOL_SOCKET, SO_TYPE,
                 reinterpret_cast<char*>(&type), &len) == 0) {
    if (type != SOCK_STREAM) {
      return absl::InvalidArgumentError("Connection: not a stream socket");
    }
    handle_.set_socket(true);
  } else {
    DWORD flags = 0;
    if (GetNamedPipeInfo(h, &flags, nullptr, nullptr, nullptr) &&
        (flags & PIPE_TYPE_MESSAGE) == 0) {
      return absl::InvalidArgumentError(
          "Connection: not a message-mode pipe or a socket");
    }
    // Reads must return whole messages. A server end is created that way
    // (and an inbound one may not change its state); a client end is not.
    DWORD state = 0;
    bool message_reads = GetNamedPipeHandleStateW(h, &state, nullptr, nullptr,
                                                  nullptr, nullptr, 0) &&
                         (state & PIPE_READMODE_MESSAGE) != 0;
    if (readable_ && !message_reads) {
      DWORD mode = PIPE_READMODE_MESSAGE;
      if (!SetNamedPipeHandleState(h, &mode, nullptr, nullptr)) {
        return LastOsError("SetNamedPipeHandleState");
      }
    }
  }
  event_.reset(CreateEventW(nullptr, TRUE, FALSE, nullptr));
  if (!event_.valid()) return LastOsError("CreateEvent");
  return absl::OkStatus();
}

void Connection::ResetState() {
  pending_length_.reset();
  got_empty_message_ = false;
  event_.reset();
}

absl::Status Connection::WriteMessage(absl::string_view payload) {
  if (handle_.socket()) {
    const SOCKET sock = AsSocket(handle_.get());
    unsigned char header[pipe_internal::kLongHeader];
    size_t header_size = pipe_internal::EncodeHeader(payload.size(), header);
    const char* h = reinterpret_cast<const char*>(header);
    if (payload.size() > kConcatenateUpTo) {
      MP_RETURN_IF_ERROR(SocketSendAll(sock, h, header_size));
      return SocketSendAll(sock, payload.data(), payload.size());
    }
    // Small messages leave in one send, as Python's do.
    std::string framed =
        absl::StrCat(absl::string_view(h, header_size), payload);
    return SocketSendAll(sock, framed.data(), framed.size());
  }
  if (payload.size() > MAXDWORD) {
    return absl::InvalidArgumentError(
        "Connection.SendBytes: a Windows pipe message is at most 4 GiB - 1");
  }
  OVERLAPPED ov = {};
  ov.hEvent = event_.get();
  DWORD written = 0;
  DWORD error = 0;
  if (!WriteFile(handle_.get(), payload.data(),
                 static_cast<DWORD>(payload.size()), &written, &ov)) {
    error = GetLastError();
    if (error == ERROR_IO_PENDING) {
      error = GetOverlappedResult(handle_.get(), &ov, &written, TRUE)
                  ? 0
                  : GetLastError();
    }
  }
  if (pipe_internal::IsPipeGone(error)) {
    return pipe_internal::BrokenPipe("Connection.SendBytes");
  }
  if (error != 0) return Win32Error(error, "Connection.SendBytes");
  if (written != payload.size()) {
    return absl::DataLossError("Connection.SendBytes: short pipe write");
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Connection::PeekLength(Deadline deadline) {
  if (pending_length_.has_value()) return *pending_length_;
  if (got_empty_message_) return 0;
  if (handle_.socket()) {
    const SOCKET s = AsSocket(handle_.get());
    absl::StatusOr<uint64_t> length = pipe_internal::ReadHeader(
        [&](char* out, size_t size, AtStart at_start) {
          return SocketReadExact(s, out, size, deadline, at_start);
        });
    if (length.ok()) pending_length_ = *length;
    return length;
  }
  const HANDLE h = handle_.get();
  while (true) {
    DWORD avail = 0, left = 0;
    if (!PeekNamedPipe(h, nullptr, 0, nullptr, &avail, &left)) {
      DWORD error = GetLastError();
      if (pipe_internal::IsPipeGone(error)) return EofError();
      return Win32Error(error, "PeekNamedPipe");
    }
    if (avail > 0 || left > 0) {
      // The head message's size, still unread: 0 when an empty message is
      // ahead of others, which the zero-byte read in ReadPayload takes.
      pending_length_ = left;
      return *pending_length_;
    }
    // Nothing, or an empty message that Peek cannot tell from nothing: a
    // zero-byte read waits for a message and takes only an empty one.
    MP_ASSIGN_OR_RETURN(Probe p, ProbePipeUntil(h, event_.get(), deadline));
    switch (p) {
      case Probe::kPending:
        return TimeoutError("Connection.RecvBytes: timed out");
      case Probe::kEmptyMessage:
        got_empty_message_ = true;
        return 0;
      case Probe::kEof:
        return EofError();
      case Probe::kInput:
        break;  // peek again for its size
    }
  }
}

absl::Status Connection::ReadPayload(char* out, uint64_t length,
                                     Deadline deadline) {
  pending_length_.reset();
  if (handle_.socket()) {
    return SocketReadExact(AsSocket(handle_.get()), out,
                           static_cast<size_t>(length), deadline,
                           AtStart::kEofIsTruncation);
  }
  if (got_empty_message_) {
    got_empty_message_ = false;
    return absl::OkStatus();
  }
  OVERLAPPED ov = {};
  ov.hEvent = event_.get();
  DWORD got = 0;
  DWORD error = 0;
  if (!ReadFile(handle_.get(), out, static_cast<DWORD>(length), &got, &ov)) {
    error = GetLastError();
    if (error == ERROR_IO_PENDING || error == ERROR_MORE_DATA) {
      // Wine leaves `got` at 0 on an immediate ERROR_MORE_DATA; the
      // overlapped result has the count.
      error = GetOverlappedResult(handle_.get(), &ov, &got, TRUE)
                  ? 0
                  : GetLastError();
    }
  }
  if (pipe_internal::IsPipeGone(error)) {
    return absl::DataLossError("got end of file during message");
  }
  if (error == ERROR_MORE_DATA || (error == 0 && got != length)) {
    return absl::DataLossError("Connection.RecvBytes: message changed size");
  }
  if (error != 0) return Win32Error(error, "Connection.RecvBytes");
  return absl::OkStatus();
}

bool Connection::PayloadIsStreamed() const { return handle_.socket(); }

absl::StatusOr<bool> Connection::PollUntil(Deadline deadline) {
  if (pending_length_.has_value() || got_empty_message_) return true;
  if (handle_.socket()) {
    absl::Status w = SocketWaitReadable(AsSocket(handle_.get()), deadline);
    if (IsTimeout(w)) return false;
    if (!w.ok()) return w;
    return true;
  }
  const HANDLE h = handle_.get();
  DWORD avail = 0;
  if (!PeekNamedPipe(h, nullptr, 0, nullptr, &avail, nullptr)) {
    DWORD error = GetLastError();
    if (pipe_internal::IsPipeGone(error)) return true;  // EOF is input
    return Win32Error(error, "PeekNamedPipe");
  }
  if (avail > 0) return true;
  MP_ASSIGN_OR_RETURN(Probe p, ProbePipeUntil(h, event_.get(), deadline));
  if (p == Probe::kEmptyMessage) got_empty_message_ = true;
  return p != Probe::kPending;
}

void MpEncode(Encoder& e, const Connection& c) {
  if (c.closed()) {
    e.Fail(ClosedError("cannot pass a closed Connection"));
    return;
  }
  if (c.handle_.socket()) {
    // A socket is not an ordinary handle to inherit; Python passes them
    // through a resource-sharer process, which mp does not have.
    e.Fail(absl::UnimplementedError(
        "a socket Connection cannot be passed to another process on "
        "Windows"));
    return;
  }
  e.Write(c.readable_, c.writable_, c.got_empty_message_, c.pending_length_);
  e.AddHandle(c.handle_.get()).IgnoreError();  // a failure fails `e`
}

absl::Status MpDecode(Decoder& d, Connection& c) {
  Connection out;
  OwnedHandle handle;
  MP_RETURN_IF_ERROR(d.Read(out.readable_, out.writable_,
                            out.got_empty_message_, out.pending_length_,
                            handle));
  if (!out.readable_ && !out.writable_) {
    return DecodeError("Connection: neither readable nor writable");
  }
  out.handle_ = pipe_internal::ConnectionHandle(std::move(handle), false);
  out.event_.reset(CreateEventW(nullptr, TRUE, FALSE, nullptr));
  if (!out.event_.valid()) return LastOsError("CreateEvent");
  c = std::move(out);
  return absl::OkStatus();
}

absl::StatusOr<std::pair<Connection, Connection>> Pipe(bool duplex) {
  static std::atomic<unsigned> counter{0};
  MP_ASSIGN_OR_RETURN(std::string random, pipe_internal::RandomBytes(8));
  std::wstring name = pipe_internal::Widen(
      absl::StrCat("\\\\.\\pipe\\mp-pipe-", GetCurrentProcessId(), "-",
                   counter++, "-", absl::BytesToHexString(random)));
  // The first end reads (and in duplex also writes), as in Python.
  DWORD open_mode = duplex ? PIPE_ACCESS_DUPLEX : PIPE_ACCESS_INBOUND;
  OwnedHandle first(CreateNamedPipeW(
      name.c_str(),
      open_mode | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
          PIPE_REJECT_REMOTE_CLIENTS,
      1, duplex ? kPipeBuffer : 0, kPipeBuffer, 0, nullptr));
  if (!first.valid()) return LastOsError("CreateNamedPipe");
  DWORD access = duplex ? (GENERIC_READ | GENERIC_WRITE) : GENERIC_WRITE;
  OwnedHandle second(CreateFileW(name.c_str(), access, 0, nullptr,
                                 OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr));
  if (!second.valid()) return LastOsError("CreateFile");
  OVERLAPPED ov = {};
  OwnedHandle event(CreateEventW(nullptr, TRUE, FALSE, nullptr));
  if (!event.valid()) return LastOsError("CreateEvent");
  ov.hEvent = event.get();
  if (!ConnectNamedPipe(first.get(), &ov)) {
    DWORD error = GetLastError();
    DWORD unused = 0;
    if (error == ERROR_IO_PENDING &&
        !GetOverlappedResult(first.get(), &ov, &unused, TRUE)) {
      error = GetLastError();
    } else if (error == ERROR_IO_PENDING) {
      error = 0;
    }
    if (error != 0 && error != ERROR_PIPE_CONNECTED) {
      return Win32Error(error, "ConnectNamedPipe");
    }
  }
  MP_ASSIGN_OR_RETURN(
      Connection a,
      Connection::FromHandle(std::move(first), /*readable=*/true, duplex));
  MP_ASSIGN_OR_RETURN(
      Connection b,
      Connection::FromHandle(std::move(second), duplex, /*writable=*/true));
  return std::make_pair(std::move(a), std::move(b));
}

}  // namespace mp
