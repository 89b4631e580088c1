// POSIX: a Connection is either Python's framing on one stream (a socket or
// pipe end from a Listener, Client or FromHandle), or Pipe()'s packet-mode
// pipes with a socketpair for large payloads (see pipe.h).
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "base/codec.h"
#include "base/os_error.h"
#include "base/status.h"
#include "pipe/internal/connection_io.h"
#include "pipe/internal/fd_wait.h"
#include "pipe/internal/framing.h"
#include "pipe/pipe.h"

namespace mp {
namespace {

using pipe_internal::AtStart;

// The largest packet of a packet-mode pipe; a write up to this size is one
// packet, and atomic.
constexpr size_t kPacket = PIPE_BUF;
// Packet tags: a message inside the packet, or one announced whose payload
// follows on the bulk socket (the tag, then an 8-byte big-endian length).
constexpr char kInline = 'i';
constexpr char kBulk = 'b';
constexpr size_t kBulkPacket = 9;
// Each packet takes a page of the pipe's buffer: 256 KiB lets 64 messages
// wait unread before a send blocks (a pipe's default, 64 KiB, only 16).
constexpr int kPacketPipeSize = 256 << 10;
// The send buffer each end of the bulk socketpair asks for (a Unix stream
// socket charges what waits unread to the sender's buffer alone). With the
// default (208 KiB) a 1 MiB message takes five rounds of the writer filling the
// buffer and sleeping until the reader drains it; with more in flight each side
// sleeps less often, and a 1 MiB stream runs faster than over a socketpair
// with the default buffers (compare mp_pipe_stream_1MiB with the baseline
// raw_socketpair_stream_1MiB; docs/performance.md). The kernel caps the
// request at net.core.wmem_max (208 KiB on a stock system, which still
// doubles the buffer: Linux doubles what it is given, for its own overhead).
constexpr int kBulkBufferSize = 512 << 10;

// The peer's end is gone: Python's BrokenPipeError.
absl::Status BrokenPipe() { return ErrnoError(EPIPE, "Connection.SendBytes"); }

void IgnoreSigpipe(int) {}

// Writing to a pipe whose readers are gone raises SIGPIPE, whose default
// action ends the process (sockets avoid it with MSG_NOSIGNAL; pipes have no
// such flag). Blocking the signal around every write costs two system calls
// a message, a third of a small message's price; instead, as Python's
// interpreter ignores SIGPIPE at start-up, SIGPIPE gets a handler that does
// nothing -- only while it has the default action, so a program's own
// handler or SIG_IGN stays. Unlike SIG_IGN, a handler does not pass to the
// programs this process execs. The write then fails with EPIPE.
absl::Status HandleSigpipe() {
  struct sigaction old;
  if (sigaction(SIGPIPE, nullptr, &old) != 0) return LastOsError("sigaction");
  if ((old.sa_flags & SA_SIGINFO) != 0 || old.sa_handler != SIG_DFL) {
    return absl::OkStatus();
  }
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = IgnoreSigpipe;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGPIPE, &sa, nullptr) != 0) return LastOsError("sigaction");
  return absl::OkStatus();
}

// Writes all of `iov` to `fd`, a socket (`socket`) or a pipe.
absl::Status WriteAll(int fd, bool socket, struct iovec* iov, int count) {
  while (count > 0) {
    ssize_t n;
    if (socket) {
      struct msghdr msg = {};
      msg.msg_iov = iov;
      msg.msg_iovlen = count;
      n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } else {
      n = writev(fd, iov, count);
    }
    if (n < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) {
        MP_RETURN_IF_ERROR(
            pipe_internal::WaitFd(fd, POLLOUT, Deadline::Never()).status());
        continue;
      }
      if (e == EPIPE || e == ECONNRESET) return BrokenPipe();
      return ErrnoError(e, "Connection.SendBytes");
    }
    size_t done = static_cast<size_t>(n);
    while (count > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return absl::OkStatus();
}

absl::Status WaitReadable(int fd, Deadline deadline) {
  MP_ASSIGN_OR_RETURN(bool ready, pipe_internal::WaitFd(fd, POLLIN, deadline));
  if (!ready) return TimeoutError("Connection.RecvBytes: timed out");
  return absl::OkStatus();
}

// One read(2) of up to `size` bytes: the byte count, 0 at EOF.
absl::StatusOr<size_t> ReadSome(int fd, char* out, size_t size,
                                Deadline deadline) {
  while (true) {
    if (!deadline.IsNever()) {
      MP_RETURN_IF_ERROR(WaitReadable(fd, deadline));
    }
    ssize_t n = read(fd, out, size > SSIZE_MAX ? SSIZE_MAX : size);
    if (n >= 0) return static_cast<size_t>(n);
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) {
      MP_RETURN_IF_ERROR(WaitReadable(fd, deadline));
      continue;
    }
    return ErrnoError(e, "Connection.RecvBytes");
  }
}

// Reads exactly `size` bytes; end of file is pipe_internal::EndOfFile.
absl::Status ReadExact(int fd, char* out, size_t size, Deadline deadline,
                       AtStart at_start) {
  size_t done = 0;
  while (done < size) {
    MP_ASSIGN_OR_RETURN(size_t n,
                        ReadSome(fd, out + done, size - done, deadline));
    if (n == 0) return pipe_internal::EndOfFile(done, at_start);
    done += n;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Connection::Init() {
  struct stat st;
  if (fstat(handle_.get(), &st) != 0) return LastOsError("fstat");
  handle_.set_socket(S_ISSOCK(st.st_mode));
  return handle_.socket() ? absl::OkStatus() : HandleSigpipe();
}

void Connection::ResetState() {
  pending_length_.reset();
  pending_inline_ = false;
  write_handle_.reset();
  bulk_.reset();
}

absl::Status Connection::WriteMessage(absl::string_view payload) {
  char* data = const_cast<char*>(payload.data());
  if (!packet_) {
    unsigned char header[pipe_internal::kLongHeader];
    size_t header_size = pipe_internal::EncodeHeader(payload.size(), header);
    // Header and payload leave in one call: no copy of the payload, and no
    // small segment for Nagle to hold back on TCP.
    struct iovec iov[2] = {{header, header_size}, {data, payload.size()}};
    return WriteAll(handle_.get(), handle_.socket(), iov,
                    payload.empty() ? 1 : 2);
  }
  const int pipe_fd =
      write_handle_.valid() ? write_handle_.get() : handle_.get();
  if (payload.size() < kPacket) {
    char tag = kInline;
    struct iovec iov[2] = {{&tag, 1}, {data, payload.size()}};
    return WriteAll(pipe_fd, /*socket=*/false, iov, payload.empty() ? 1 : 2);
  }
  // Announce first, so the reader drains the socket while this sends.
  unsigned char announce[kBulkPacket] = {kBulk};
  pipe_internal::EncodeLongLength(payload.size(), announce + 1);
  struct iovec head = {announce, sizeof announce};
  MP_RETURN_IF_ERROR(WriteAll(pipe_fd, /*socket=*/false, &head, 1));
  struct iovec body = {data, payload.size()};
  return WriteAll(bulk_.get(), /*socket=*/true, &body, 1);
}

absl::StatusOr<uint64_t> Connection::PeekLength(Deadline deadline) {
  if (pending_length_.has_value()) return *pending_length_;
  const int fd = handle_.get();
  if (packet_) {
    if (packet_buffer_ == nullptr) packet_buffer_.reset(new char[kPacket]);
    // A whole packet, exactly one message; nothing of the next is taken.
    MP_ASSIGN_OR_RETURN(size_t n,
                        ReadSome(fd, packet_buffer_.get(), kPacket, deadline));
    if (n == 0) return EofError();
    if (packet_buffer_[0] == kInline) {
      pending_inline_ = true;
      pending_length_ = n - 1;
      return *pending_length_;
    }
    if (packet_buffer_[0] != kBulk || n != kBulkPacket) {
      return absl::DataLossError("bad message on the pipe");
    }
    pending_inline_ = false;
    pending_length_ = pipe_internal::DecodeLongLength(
        reinterpret_cast<const unsigned char*>(packet_buffer_.get() + 1));
    return *pending_length_;
  }
  absl::StatusOr<uint64_t> length =
      pipe_internal::ReadHeader([&](char* out, size_t size, AtStart at_start) {
        return ReadExact(fd, out, size, deadline, at_start);
      });
  if (length.ok()) pending_length_ = *length;
  return length;
}

absl::Status Connection::ReadPayload(char* out, uint64_t length,
                                     Deadline deadline) {
  // Whatever happens now, the header is spent: on an error the stream is
  // out of step and the next receive must not reuse it.
  pending_length_.reset();
  if (packet_ && pending_inline_) {
    pending_inline_ = false;
    if (length > 0) std::memcpy(out, packet_buffer_.get() + 1, length);
    return absl::OkStatus();
  }
  const int fd = packet_ ? bulk_.get() : handle_.get();
  return ReadExact(fd, out, static_cast<size_t>(length), deadline,
                   AtStart::kEofIsTruncation);
}

bool Connection::PayloadIsStreamed() const {
  return !(packet_ && pending_inline_);
}

absl::StatusOr<bool> Connection::PollUntil(Deadline deadline) {
  if (pending_length_.has_value()) return true;
  return pipe_internal::WaitFd(handle_.get(), POLLIN, deadline);
}

void MpEncode(Encoder& e, const Connection& c) {
  if (c.closed()) {
    e.Fail(ClosedError("cannot pass a closed Connection"));
    return;
  }
  e.Write(c.readable_, c.writable_, c.handle_.socket(), c.packet_);
  e.AddHandle(c.handle_.get()).IgnoreError();  // a failure fails `e`
  e.Write(c.write_handle_.valid());
  if (c.write_handle_.valid()) e.AddHandle(c.write_handle_.get()).IgnoreError();
  e.Write(c.bulk_.valid());
  if (c.bulk_.valid()) e.AddHandle(c.bulk_.get()).IgnoreError();
  // A message whose header this end already read goes along with it.
  e.Write(c.pending_length_, c.pending_inline_);
  if (c.pending_inline_ && c.pending_length_.has_value()) {
    e.Write(absl::string_view(c.packet_buffer_.get() + 1,
                              static_cast<size_t>(*c.pending_length_)));
  }
}

absl::Status MpDecode(Decoder& d, Connection& c) {
  Connection out;
  bool socket = false, has_write = false, has_bulk = false;
  OwnedHandle handle;
  MP_RETURN_IF_ERROR(d.Read(out.readable_, out.writable_, socket, out.packet_));
  if (!out.readable_ && !out.writable_) {
    return DecodeError("Connection: neither readable nor writable");
  }
  // The handle is adopted before any other check, so that a failure below
  // closes it.
  absl::Status s = d.Read(handle, has_write);
  out.handle_ = pipe_internal::ConnectionHandle(std::move(handle), socket);
  if (s.ok() && has_write) s = d.Read(out.write_handle_);
  if (s.ok()) s = d.Read(has_bulk);
  if (s.ok() && has_bulk) s = d.Read(out.bulk_);
  if (s.ok()) s = d.Read(out.pending_length_, out.pending_inline_);
  if (!s.ok()) return s;
  if (out.packet_ != has_bulk) {
    return DecodeError("Connection: a pipe's bulk socket is missing");
  }
  if (!socket) {
    // A spawned child starts with SIGPIPE's default action.
    MP_RETURN_IF_ERROR(HandleSigpipe());
  }
  if (out.pending_inline_) {
    std::string message;
    MP_RETURN_IF_ERROR(d.Read(message));
    if (!out.packet_ || !out.pending_length_.has_value() ||
        message.size() != *out.pending_length_ || message.size() >= kPacket) {
      return DecodeError("Connection: bad pending message");
    }
    out.packet_buffer_.reset(new char[kPacket]);
    out.packet_buffer_[0] = kInline;
    std::memcpy(out.packet_buffer_.get() + 1, message.data(), message.size());
  }
  c = std::move(out);
  return absl::OkStatus();
}

namespace {

// Pipe() on a kernel without packet-mode pipes (before Linux 3.4): Python's
// choice, a socketpair or a pipe with Python's framing.
absl::StatusOr<std::pair<Connection, Connection>> StreamPipe(bool duplex) {
  int fds[2];
  if (duplex) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return LastOsError("socketpair");
    }
  } else if (pipe2(fds, O_CLOEXEC) != 0) {
    return LastOsError("pipe2");
  }
  OwnedHandle a(fds[0]), b(fds[1]);
  MP_ASSIGN_OR_RETURN(
      Connection first,
      Connection::FromHandle(std::move(a), /*readable=*/true, duplex));
  MP_ASSIGN_OR_RETURN(
      Connection second,
      Connection::FromHandle(std::move(b), duplex, /*writable=*/true));
  return std::make_pair(std::move(first), std::move(second));
}

// A packet-mode pipe: [0] reads, [1] writes.
absl::Status PacketPipe(OwnedHandle out[2]) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_DIRECT) != 0) return LastOsError("pipe2");
  out[0].reset(fds[0]);
  out[1].reset(fds[1]);
  // Best effort: a user over the kernel's pipe-buffer quota keeps 16.
  fcntl(fds[1], F_SETPIPE_SZ, kPacketPipeSize);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::pair<Connection, Connection>> Pipe(bool duplex) {
  MP_RETURN_IF_ERROR(HandleSigpipe());
  OwnedHandle forth[2], back[2];
  absl::Status s = PacketPipe(forth);
  if (absl::IsInvalidArgument(s)) return StreamPipe(duplex);
  if (!s.ok()) return s;
  if (duplex) {
    MP_RETURN_IF_ERROR(PacketPipe(back));
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return LastOsError("socketpair");
  }
  for (int fd : sv) {
    // Best effort, as the packet pipe's size: a refusal keeps the default.
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kBulkBufferSize,
               sizeof kBulkBufferSize);
  }
  // Python's order: the first end reads (and in duplex also writes).
  Connection first(std::move(forth[0]), /*readable=*/true, duplex);
  Connection second(duplex ? std::move(back[0]) : std::move(forth[1]), duplex,
                    /*writable=*/true);
  first.packet_ = second.packet_ = true;
  first.bulk_.reset(sv[0]);
  second.bulk_.reset(sv[1]);
  if (duplex) {
    first.write_handle_ = std::move(back[1]);
    second.write_handle_ = std::move(forth[1]);
  }
  return std::make_pair(std::move(first), std::move(second));
}

}  // namespace mp
