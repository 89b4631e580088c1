// Connection, Pipe() and Wait(): message pipes between processes.
//
// Python's multiprocessing.Pipe, multiprocessing.connection.Connection and
// multiprocessing.connection.wait. A Connection carries whole messages: what
// one SendBytes sends, one RecvBytes receives, at any size up to memory, and
// an empty message is a message. Recv on a connection whose peers have all
// closed their ends gets the EOF status once the messages in flight are
// drained. Listener and Client (pipe/listener.h) make Connections between
// unrelated processes.
//
// Between a Listener and a Client a message is Python's on the wire: a
// 4-byte big-endian length, or for 2 GiB and more the length -1 and then an
// 8-byte length, followed by the payload (on Windows named pipes: one pipe
// message, as Python sends it). Pipe() is mp's own on both ends, so it uses
// whatever is fastest: on Linux a packet-mode pipe each way (a 64-byte round
// trip costs what a raw pipe's does: mp_pipe_pingpong64 next to the baseline
// raw_pipe_pingpong64) with a socketpair beside it for payloads over 4 KiB
// (its send buffer larger than a socketpair's default, so 1 MiB messages
// stream faster: mp_pipe_stream_1MiB next to raw_socketpair_stream_1MiB;
// docs/performance.md); each end then holds
// three descriptors (two for a one-way end) where Python's holds one. Sends
// block once 64 messages or the socket's buffer are waiting unread. On
// Windows both kinds are overlapped message-mode named pipes, as in Python.
//
// On POSIX, a send to a pipe whose reader is gone would raise SIGPIPE,
// which ends the process by default. So that it returns an error instead,
// creating a pipe-based Connection (Pipe(), FromHandle of a pipe, one
// received as a Process argument) gives SIGPIPE a handler that does nothing
// if it still has the default action -- Python's interpreter ignores SIGPIPE
// for the same reason. A handler the program set, or SIG_IGN, is left
// alone; unlike SIG_IGN, this handler is not passed on to programs the
// process execs. A program that restores the default action afterwards is
// back to being ended by such a send.
//
// A Connection is for one thread at a time, as in Python. Ends that a process
// does not use must be closed, in the parent and in every child: EOF comes
// only once every copy of the writing end, in every process, is closed.
//
// Connections reach child processes as Process arguments (std::ref under
// both start methods, or moved in), and objects go through the codec with
// Send/Recv. On Windows a pipe message is at most 4 GiB - 1 bytes.
//
// Example (a producer process and a consumer process; each closes the end it
// does not use):
//
//   void Consumer(mp::Connection& reader, mp::Connection& writer) {
//     writer.Close().IgnoreError();  // this process does not write
//     while (true) {
//       absl::StatusOr<int> item = reader.Recv<int>();
//       if (mp::IsEof(item.status())) break;  // every writer closed
//       ...
//     }
//   }
//   MP_REGISTER(Consumer);
//
//   absl::StatusOr<std::pair<mp::Connection, mp::Connection>> p =
//       mp::Pipe(/*duplex=*/false);
//   auto& [reader, writer] = *p;
//   mp::Process consumer(Consumer, std::ref(reader), std::ref(writer));
//   consumer.Start();
//   reader.Close();  // this process does not read
//   for (int item : {1, 2, 3, 4}) writer.Send(item);
//   writer.Close();  // the consumer's Recv now ends with EOF
//   consumer.Join();

#ifndef MP_PIPE_PIPE_H_
#define MP_PIPE_PIPE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/codec.h"
#include "base/deadline.h"
#include "base/handle.h"
#include "base/status.h"
#include "pipe/internal/connection_handle.h"

namespace mp {

class Listener;

namespace pipe_internal {
class ConnectionIo;
}  // namespace pipe_internal

class Connection {
 public:
  // A closed connection.
  Connection() = default;

  // Adopts an open handle: on POSIX a connected stream socket or a pipe end;
  // on Windows an overlapped message-mode named pipe, or a socket. At least
  // one of `readable` and `writable` must be true.
  static absl::StatusOr<Connection> FromHandle(OwnedHandle handle,
                                               bool readable = true,
                                               bool writable = true);

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Sends `buf[offset, offset + size)` as one message; the whole rest of
  // `buf` when `size` is nullopt.
  absl::Status SendBytes(absl::string_view buf, size_t offset = 0,
                         std::optional<size_t> size = std::nullopt);

  // Receives one message. A message longer than `maxlength` is refused with
  // kResourceExhausted ("bad message length") and stays queued. Memory
  // grows with the payload as it arrives: a header that claims more bytes
  // than the sender sends costs only what was sent.
  absl::StatusOr<std::string> RecvBytes(
      std::optional<size_t> maxlength = std::nullopt);

  // Receives one message into `buffer` at `offset` and returns its length.
  // When it does not fit, returns BufferTooShortError (MessageLength() tells
  // the size needed) and the message stays queued for the next receive.
  absl::StatusOr<size_t> RecvBytesInto(absl::Span<char> buffer,
                                       size_t offset = 0);

  // Sends `obj` as one message, encoded by the codec (base/codec.h):
  // Python's send(). Values that hold OS handles cannot go this way (pass
  // them as Process arguments instead).
  template <typename T>
  absl::Status Send(const T& obj);

  // Receives one message and decodes it as a T: Python's recv(). Bytes that
  // are not a T give mp::DecodeError (and are consumed).
  template <typename T>
  absl::StatusOr<T> Recv();

  // Whether a message (or EOF) can be received without blocking, waiting up
  // to `timeout` for one: ZeroDuration() does not block, InfiniteDuration()
  // waits forever.
  absl::StatusOr<bool> Poll(absl::Duration timeout = absl::ZeroDuration());

  // Closes this end. Closing a closed connection is OK.
  absl::Status Close();

  bool closed() const { return !handle_.valid(); }
  bool readable() const { return readable_; }
  bool writable() const { return writable_; }
  // The OS handle (Python's fileno()): a file descriptor on POSIX, a HANDLE
  // or SOCKET on Windows; kInvalidHandle once closed.
  NativeHandle handle() const { return handle_.get(); }

  // The codec's customisation point: a Connection passed as a Process
  // argument travels as its OS handles (and any message it had started to
  // receive). Encoding a closed connection fails.
  friend void MpEncode(Encoder& e, const Connection& c);
  friend absl::Status MpDecode(Decoder& d, Connection& c);

 private:
  friend class pipe_internal::ConnectionIo;
  friend absl::StatusOr<std::pair<Connection, Connection>> Pipe(bool duplex);

  Connection(OwnedHandle handle, bool readable, bool writable);

  absl::Status CheckReadable() const;
  absl::Status CheckWritable() const;
  absl::StatusOr<std::string> RecvBytesUntil(std::optional<size_t> maxlength,
                                             Deadline deadline);

  // Platform parts (pipe_posix.cc, pipe_win.cc).
  absl::Status Init();
  absl::Status WriteMessage(absl::string_view payload);
  // Blocks until a message is there and returns its length; the payload
  // stays unread, so a too-small buffer loses nothing.
  absl::StatusOr<uint64_t> PeekLength(Deadline deadline);
  // Reads the payload of the message PeekLength saw, `length` bytes; or,
  // when PayloadIsStreamed(), its next `length` bytes (the header is spent
  // at the first call, so the calls must read the whole payload in turn).
  absl::Status ReadPayload(char* out, uint64_t length, Deadline deadline);
  // Whether the payload of the message PeekLength saw is still to come on a
  // byte stream: its length is then only the sender's claim, and
  // ReadPayload may take it in pieces. Otherwise the payload is already
  // whole (in a packet, in a Windows pipe message) and must be read at once.
  bool PayloadIsStreamed() const;
  // The payload of a streamed message of `size` bytes, too long to believe
  // at once (pipe.cc): received in pieces until enough of it came to
  // allocate the rest.
  absl::StatusOr<std::string> ReadClaimedPayload(size_t size,
                                                 Deadline deadline);
  // Reads and drops the next `size` bytes of a streamed payload.
  absl::Status DiscardPayload(size_t size, Deadline deadline);
  absl::StatusOr<bool> PollUntil(Deadline deadline);
  void ResetState();

  // A socket (Python's framing) or a pipe.
  pipe_internal::ConnectionHandle handle_;
  bool readable_ = false;
  bool writable_ = false;
  // The length of a message whose header was read but not its payload.
  std::optional<uint64_t> pending_length_;
#ifdef _WIN32
  // A zero-length pipe message that Wait() or Poll() consumed while
  // checking for input; the next receive returns it.
  bool got_empty_message_ = false;
  // The overlapped event for this connection's reads and writes.
  OwnedHandle event_;
#else
  // Pipe()'s transport on Linux: each message is one packet of a
  // packet-mode pipe (O_DIRECT), so one read takes exactly one message and
  // leaves the next for whoever reads next (another process, say); a
  // payload too large for a packet goes through `bulk_`, a socketpair,
  // behind a packet that announces it. `handle_` is the incoming pipe (the
  // outgoing one for a write-only end); `write_handle_` the outgoing pipe
  // of a duplex end. Off: Python's framing on `handle_` alone.
  bool packet_ = false;
  OwnedHandle write_handle_;
  OwnedHandle bulk_;
  // The packet last read; holds a small message that a too-short buffer
  // refused (`pending_inline_`).
  std::unique_ptr<char[]> packet_buffer_;
  bool pending_inline_ = false;
#endif
};

template <typename T>
absl::Status Connection::Send(const T& obj) {
  MP_RETURN_IF_ERROR(CheckWritable());
  MP_ASSIGN_OR_RETURN(std::string bytes, ::mp::Encode(obj));
  return WriteMessage(bytes);
}

template <typename T>
absl::StatusOr<T> Connection::Recv() {
  MP_ASSIGN_OR_RETURN(std::string bytes, RecvBytes());
  return ::mp::Decode<T>(bytes);
}

// Returns the two ends of a new pipe. Duplex: both ends send and receive.
// One-way: (reader, writer).
absl::StatusOr<std::pair<Connection, Connection>> Pipe(bool duplex = true);

// Something Wait() can watch: a Connection (ready when a message or EOF can
// be received), a Listener (ready when a client is waiting), or any OS handle
// such as a process sentinel (ready when readable on POSIX, signalled on
// Windows). Objects with a `sentinel()` method convert too.
class WaitTarget {
 public:
  WaitTarget(Connection& connection)  // NOLINT: implicit by design
      : kind_(Kind::kConnection), connection_(&connection) {}
  WaitTarget(Listener& listener)  // NOLINT: implicit by design
      : kind_(Kind::kListener), listener_(&listener) {}
  WaitTarget(NativeHandle handle)  // NOLINT: implicit by design
      : kind_(Kind::kHandle), handle_(handle) {}
  template <typename T,
            typename = std::enable_if_t<std::is_convertible_v<
                decltype(std::declval<const T&>().sentinel()), NativeHandle>>>
  WaitTarget(const T& object)  // NOLINT: implicit by design
      : WaitTarget(static_cast<NativeHandle>(object.sentinel())) {}

 private:
  friend class pipe_internal::ConnectionIo;
  enum class Kind { kConnection, kListener, kHandle };
  Kind kind_;
  Connection* connection_ = nullptr;
  Listener* listener_ = nullptr;
  NativeHandle handle_ = kInvalidHandle;
};

// Waits until at least one of `objects` is ready, or `timeout` passes, and
// returns the indices of the ready ones in order (empty on timeout).
absl::StatusOr<std::vector<size_t>> Wait(
    absl::Span<const WaitTarget> objects,
    absl::Duration timeout = absl::InfiniteDuration());

}  // namespace mp

#endif  // MP_PIPE_PIPE_H_
