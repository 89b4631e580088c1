#include "pipe/pipe.h"

#include <new>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "pipe/internal/connection_io.h"

namespace mp {

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
  absl::Status s = c.Init();
  if (!s.ok()) return s;
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
  absl::Status s = CheckWritable();
  if (!s.ok()) return s;
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
  absl::Status s = CheckReadable();
  if (!s.ok()) return s;
  absl::StatusOr<uint64_t> length = PeekLength(deadline);
  if (!length.ok()) return length.status();
  if (maxlength.has_value() && *length > *maxlength) {
    return absl::ResourceExhaustedError(
        absl::StrCat("bad message length: the message has ", *length,
                     " bytes, maxlength is ", *maxlength));
  }
  std::string out;
  if (*length > out.max_size()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "bad message length: ", *length, " bytes do not fit in memory"));
  }
  // std::string reports a failed allocation only by throwing; this is where
  // that becomes a status (Python's MemoryError), and the message stays
  // queued for a later, smaller-minded receive.
  try {
    out.resize(static_cast<size_t>(*length));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", *length, " bytes for the message"));
  }
  s = ReadPayload(out.data(), *length, deadline);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<size_t> Connection::RecvBytesInto(absl::Span<char> buffer,
                                                 size_t offset) {
  absl::Status s = CheckReadable();
  if (!s.ok()) return s;
  if (offset > buffer.size()) {
    return absl::InvalidArgumentError("offset too large");
  }
  absl::StatusOr<uint64_t> length = PeekLength(Deadline::Never());
  if (!length.ok()) return length.status();
  if (*length > buffer.size() - offset) {
    return BufferTooShortError(static_cast<size_t>(*length));
  }
  s = ReadPayload(buffer.data() + offset, *length, Deadline::Never());
  if (!s.ok()) return s;
  return static_cast<size_t>(*length);
}

absl::StatusOr<bool> Connection::Poll(absl::Duration timeout) {
  absl::Status s = CheckReadable();
  if (!s.ok()) return s;
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
