// POSIX: a Connection is a file descriptor, a stream socket or a pipe end,
// carrying Python's framing.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/os_error.h"
#include "base/status.h"
#include "pipe/internal/connection_io.h"
#include "pipe/internal/fd_wait.h"
#include "pipe/internal/framing.h"
#include "pipe/pipe.h"

namespace mp {
namespace {

// The peer's end is gone: Python's BrokenPipeError.
absl::Status BrokenPipe() { return ErrnoError(EPIPE, "Connection.SendBytes"); }

// Writing to a pipe whose readers are gone raises SIGPIPE, whose default
// action kills the process; sockets avoid it with MSG_NOSIGNAL, pipes need
// the signal blocked around the write and a SIGPIPE that write caused taken
// off the pending set before unblocking.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_);
    // If the caller had SIGPIPE blocked already, a pending one may be theirs:
    // leave it alone.
    mine_ = sigismember(&old_, SIGPIPE) == 0;
  }
  ~SigpipeGuard() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  // After a write failed with EPIPE.
  void ConsumeSigpipe() {
    if (!mine_) return;
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set_, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }

 private:
  sigset_t pipe_set_;
  sigset_t old_;
  bool mine_ = false;
};

}  // namespace

absl::Status Connection::Init() {
  struct stat st;
  if (fstat(handle_.get(), &st) != 0) return LastOsError("fstat");
  is_socket_ = S_ISSOCK(st.st_mode);
  return absl::OkStatus();
}

void Connection::ResetState() { pending_length_.reset(); }

absl::Status Connection::WriteMessage(absl::string_view payload) {
  unsigned char header[pipe_internal::kLongHeader];
  size_t header_size = pipe_internal::EncodeHeader(payload.size(), header);
  // Header and payload leave in one call: no copy of the payload, and no
  // small segment for Nagle to hold back on TCP.
  struct iovec iov[2] = {
      {header, header_size},
      {const_cast<char*>(payload.data()), payload.size()},
  };
  struct iovec* next = iov;
  int count = payload.empty() ? 1 : 2;
  const int fd = handle_.get();
  while (count > 0) {
    ssize_t n;
    if (is_socket_) {
      struct msghdr msg = {};
      msg.msg_iov = next;
      msg.msg_iovlen = count;
      n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } else {
      SigpipeGuard guard;
      n = writev(fd, next, count);
      if (n < 0 && errno == EPIPE) guard.ConsumeSigpipe();
    }
    if (n < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) {
        absl::StatusOr<bool> ready =
            pipe_internal::WaitFd(fd, POLLOUT, Deadline::Never());
        if (!ready.ok()) return ready.status();
        continue;
      }
      if (e == EPIPE || e == ECONNRESET) return BrokenPipe();
      return ErrnoError(e, "Connection.SendBytes");
    }
    size_t done = static_cast<size_t>(n);
    while (count > 0 && done >= next->iov_len) {
      done -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + done;
      next->iov_len -= done;
    }
  }
  return absl::OkStatus();
}

namespace {

enum class AtStart { kEofIsEof, kEofIsTruncation };

// Reads exactly `size` bytes. EOF before the first byte is Python's EOFError
// when `at_start` says so; anywhere else the message was cut short.
absl::Status ReadExact(int fd, char* out, size_t size, Deadline deadline,
                       AtStart at_start) {
  size_t done = 0;
  while (done < size) {
    if (!deadline.IsNever()) {
      absl::StatusOr<bool> ready = pipe_internal::WaitFd(fd, POLLIN, deadline);
      if (!ready.ok()) return ready.status();
      if (!*ready) return TimeoutError("Connection.RecvBytes: timed out");
    }
    // At most SSIZE_MAX per call; large messages take several anyway.
    size_t want = size - done;
    if (want > SSIZE_MAX) want = SSIZE_MAX;
    ssize_t n = read(fd, out + done, want);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      if (done == 0 && at_start == AtStart::kEofIsEof) return EofError();
      return absl::DataLossError("got end of file during message");
    }
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) {
      absl::StatusOr<bool> ready = pipe_internal::WaitFd(fd, POLLIN, deadline);
      if (!ready.ok()) return ready.status();
      if (!*ready) return TimeoutError("Connection.RecvBytes: timed out");
      continue;
    }
    return ErrnoError(e, "Connection.RecvBytes");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> Connection::PeekLength(Deadline deadline) {
  if (pending_length_.has_value()) return *pending_length_;
  unsigned char header[pipe_internal::kLongHeader];
  char* raw = reinterpret_cast<char*>(header);
  absl::Status s = ReadExact(handle_.get(), raw, pipe_internal::kShortHeader,
                             deadline, AtStart::kEofIsEof);
  if (!s.ok()) return s;
  uint64_t length = 0;
  switch (pipe_internal::DecodeShortHeader(header, &length)) {
    case pipe_internal::ShortHeader::kLength:
      break;
    case pipe_internal::ShortHeader::kLongFollows:
      s = ReadExact(handle_.get(), raw + pipe_internal::kShortHeader, 8,
                    deadline, AtStart::kEofIsTruncation);
      if (!s.ok()) return s;
      length =
          pipe_internal::DecodeLongLength(header + pipe_internal::kShortHeader);
      break;
    case pipe_internal::ShortHeader::kNegative:
      return absl::DataLossError("bad message length: negative length prefix");
  }
  pending_length_ = length;
  return length;
}

absl::Status Connection::ReadPayload(char* out, uint64_t length,
                                     Deadline deadline) {
  // Whatever happens now, the header is spent: on an error the stream is
  // out of step and the next receive must not reuse it.
  pending_length_.reset();
  return ReadExact(handle_.get(), out, static_cast<size_t>(length), deadline,
                   AtStart::kEofIsTruncation);
}

absl::StatusOr<bool> Connection::PollUntil(Deadline deadline) {
  if (pending_length_.has_value()) return true;
  return pipe_internal::WaitFd(handle_.get(), POLLIN, deadline);
}

absl::StatusOr<std::pair<Connection, Connection>> Pipe(bool duplex) {
  int fds[2];
  if (duplex) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return LastOsError("socketpair");
    }
  } else if (pipe2(fds, O_CLOEXEC) != 0) {
    return LastOsError("pipe2");
  }
  OwnedHandle a(fds[0]), b(fds[1]);
  absl::StatusOr<Connection> first =
      Connection::FromHandle(std::move(a), /*readable=*/true,
                             /*writable=*/duplex);
  if (!first.ok()) return first.status();
  absl::StatusOr<Connection> second =
      Connection::FromHandle(std::move(b), /*readable=*/duplex,
                             /*writable=*/true);
  if (!second.ok()) return second.status();
  return std::make_pair(*std::move(first), *std::move(second));
}

}  // namespace mp
