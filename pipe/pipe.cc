#include "pipe/pipe.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "pipe/internal/connection_io.h"

namespace mp {
namespace {

// A payload whose length is only the sender's word (a header on a byte
// stream) is believed up to this length, and received straight into a
// buffer of its length. A longer one comes in pieces ...
constexpr size_t kBelieved = size_t{1} << 20;
// ... of this size, small enough to come from the heap's free lists ...
constexpr size_t kPiece = size_t{64} << 10;
// ... until one byte in this many of the claim has arrived, and only then is
// the whole length allocated. So a header claiming gigabytes costs memory
// only as bytes come (at most this many times what came), while a genuine
// large message is copied once on the way, only the part that came in
// pieces. The pieces are small, and an eighth of the message at most, so
// that what one message frees is not much more than its buffer: with a
// piece as large as the message, glibc's allocator gave the freed heap back
// to the system after each message and faulted it in again for the next.
constexpr size_t kClaimPerByteReceived = 8;

absl::Status NoMemoryError(uint64_t length) {
  return absl::ResourceExhaustedError(
      absl::StrCat("cannot allocate ", length, " bytes for the message"));
}

}  // namespace

Connection::Connection(OwnedHandle handle, bool readable, bool writable)
    : handle_(std::move(handle), /*socket=*/false),
      readable_(readable),
      writable_(writable) {}

Connection::Connection(Connection&& other) noexcept = default;
Connection& Connection::operator=(Connection&& other) noexcept = default;
Connection::~Connection() = default;

absl::StatusOr<Connection> Connection::FromHandle(OwnedHandle handle,
                                                  bool readable,
                                                  bool writable) {
  if (!handle.valid()) return absl::InvalidArgumentError("invalid handle");
  if (!readable && !writable) {
    return absl::InvalidArgumentError(
        "at least one of `readable` and `writable` must be true");
  }
  Connection c(std::move(handle), readable, writable);
  MP_RETURN_IF_ERROR(c.Init());
  return c;
}

absl::Status Connection::CheckReadable() const {
  if (closed()) return ClosedError();
  if (!readable_) {
    return absl::FailedPreconditionError("connection is write-only");
  }
  return absl::OkStatus();
}

absl::Status Connection::CheckWritable() const {
  if (closed()) return ClosedError();
  if (!writable_) {
    return absl::FailedPreconditionError("connection is read-only");
  }
  return absl::OkStatus();
}

absl::Status Connection::SendBytes(absl::string_view buf, size_t offset,
                                   std::optional<size_t> size) {
  MP_RETURN_IF_ERROR(CheckWritable());
  if (offset > buf.size()) {
    return absl::InvalidArgumentError("buffer length < offset");
  }
  size_t n = size.value_or(buf.size() - offset);
  if (n > buf.size() - offset) {
    return absl::InvalidArgumentError("buffer length < offset + size");
  }
  return WriteMessage(buf.substr(offset, n));
}

absl::StatusOr<std::string> Connection::RecvBytes(
    std::optional<size_t> maxlength) {
  return RecvBytesUntil(maxlength, Deadline::Never());
}

absl::StatusOr<std::string> Connection::RecvBytesUntil(
    std::optional<size_t> maxlength, Deadline deadline) {
  MP_RETURN_IF_ERROR(CheckReadable());
  MP_ASSIGN_OR_RETURN(uint64_t length, PeekLength(deadline));
  if (maxlength.has_value() && length > *maxlength) {
    return absl::ResourceExhaustedError(
        absl::StrCat("bad message length: the message has ", length,
                     " bytes, maxlength is ", *maxlength));
  }
  std::string out;
  if (length > out.max_size()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "bad message length: ", length, " bytes do not fit in memory"));
  }
  const size_t size = static_cast<size_t>(length);
  if (PayloadIsStreamed() && size > kBelieved) {
    return ReadClaimedPayload(size, deadline);
  }
  // std::string reports a failed allocation only by throwing; this is where
  // that becomes a status (Python's MemoryError), and the message stays
  // queued for a later, smaller-minded receive.
  try {
    out.resize(size);
  } catch (const std::bad_alloc&) {
    return NoMemoryError(size);
  }
  MP_RETURN_IF_ERROR(ReadPayload(out.data(), size, deadline));
  return out;
}

absl::StatusOr<std::string> Connection::ReadClaimedPayload(size_t size,
                                                           Deadline deadline) {
  std::vector<std::string> pieces;
  size_t done = 0;
  try {
    while (done < size / kClaimPerByteReceived) {
      const size_t piece = std::min(kPiece, size - done);
      pieces.emplace_back(piece, '\0');
      MP_RETURN_IF_ERROR(ReadPayload(pieces.back().data(), piece, deadline));
      done += piece;
    }
    std::string out(size, '\0');
    char* at = out.data();
    for (const std::string& piece : pieces) {
      std::memcpy(at, piece.data(), piece.size());
      at += piece.size();
    }
    pieces = std::vector<std::string>();
    MP_RETURN_IF_ERROR(ReadPayload(out.data() + done, size - done, deadline));
    return out;
  } catch (const std::bad_alloc&) {
    // As in RecvBytesUntil, except that once part of the payload is read
    // the rest is read and dropped, so that the next receive starts at the
    // next message.
    pieces = std::vector<std::string>();
    if (done != 0) {
      MP_RETURN_IF_ERROR(DiscardPayload(size - done, deadline));
    }
    return NoMemoryError(size);
  }
}

absl::Status Connection::DiscardPayload(size_t size, Deadline deadline) {
  char sink[16 << 10];
  while (size > 0) {
    const size_t piece = std::min(size, sizeof sink);
    MP_RETURN_IF_ERROR(ReadPayload(sink, piece, deadline));
    size -= piece;
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Connection::RecvBytesInto(absl::Span<char> buffer,
                                                 size_t offset) {
  MP_RETURN_IF_ERROR(CheckReadable());
  if (offset > buffer.size()) {
    return absl::InvalidArgumentError("offset too large");
  }
  MP_ASSIGN_OR_RETURN(uint64_t length, PeekLength(Deadline::Never()));
  if (length > buffer.size() - offset) {
    return BufferTooShortError(static_cast<size_t>(length));
  }
  MP_RETURN_IF_ERROR(
      ReadPayload(buffer.data() + offset, length, Deadline::Never()));
  return static_cast<size_t>(length);
}

absl::StatusOr<bool> Connection::Poll(absl::Duration timeout) {
  MP_RETURN_IF_ERROR(CheckReadable());
  return PollUntil(Deadline::After(timeout));
}

absl::Status Connection::Close() {
  ResetState();
  return handle_.Close();
}

absl::StatusOr<std::vector<size_t>> Wait(absl::Span<const WaitTarget> objects,
                                         absl::Duration timeout) {
  return pipe_internal::ConnectionIo::Wait(objects, Deadline::After(timeout));
}

}  // namespace mp
