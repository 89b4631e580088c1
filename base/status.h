// Errors in mp: one table from Python's multiprocessing exceptions to
// absl::Status.
//
// mp never throws. Every call that can fail returns absl::Status or
// absl::StatusOr<T>. Where Python raises a specific exception, mp returns a
// status with the code below *and* an error kind attached as a payload, so a
// caller can tell queue.Empty from an unrelated kUnavailable with the
// predicate (mp::IsEmpty(status)):
//
//   Python                          mp code              predicate
//   ------------------------------  -------------------  ---------------------
//   queue.Full                      kResourceExhausted   IsFull
//   queue.Empty                     kUnavailable         IsEmpty
//   EOFError (closed and drained)   kOutOfRange          IsEof
//   TimeoutError /
//     mp.TimeoutError               kDeadlineExceeded    IsTimeout
//   threading.BrokenBarrierError    kAborted             IsBrokenBarrier
//   mp.AuthenticationError          kUnauthenticated     IsAuthenticationError
//   mp.BufferTooShort               kInvalidArgument     IsBufferTooShort
//   OSError("handle is closed"),
//   ValueError("Queue is closed")   kFailedPrecondition  IsClosed
//   pickle.UnpicklingError
//     (bad bytes)                   kDataLoss            IsDecodeError
//   owner died (mp only)            kDataLoss            IsOwnerDied
//   worker died (mp only)           kAborted             IsWorkerDied
//   ValueError / TypeError: a bad
//     argument value                kInvalidArgument     (code only)
//   AssertionError / ValueError /
//     RuntimeError: a call in the
//     wrong state (start twice,
//     release an unlocked lock,
//     wait without the lock, join
//     before start)                 kFailedPrecondition  (code only)
//   OSError from the system         see os_error.h       (code only)
//
// Messages follow Python's where Python has one ("cannot start a process
// twice", "semaphore or lock released too many times"), lower case, no
// trailing period, prefixed with the object kind when that helps
// ("Queue.Put: queue is full").
//
// OwnerDied is the one non-OK status that is also a success: the lock *was*
// acquired, but its previous owner died holding it, so the state it guards
// may be half-updated. The caller repairs that state and goes on; the lock
// works normally afterwards.
//
// Example:
//
//   absl::StatusOr<int> item = queue.Get(absl::Seconds(1));
//   if (mp::IsEmpty(item.status())) { ... nothing came within a second ... }

#ifndef MP_BASE_STATUS_H_
#define MP_BASE_STATUS_H_

#include <cstddef>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mp {

// The error kinds that have their own predicate in the table above.
enum class ErrorKind {
  kNone,  // OK, or a status that carries no mp kind
  kFull,
  kEmpty,
  kEof,
  kTimeout,
  kBrokenBarrier,
  kAuthentication,
  kBufferTooShort,
  kClosed,
  kDecode,
  kOwnerDied,
  kWorkerDied,
};

// The kind attached to `status`, or kNone.
ErrorKind KindOf(const absl::Status& status);

// Python's name for a kind ("queue.Full", "EOFError", ...), for messages.
absl::string_view PythonName(ErrorKind kind);

// Constructors. `message` says what happened; each has a default.
absl::Status FullError(absl::string_view message = "queue is full");
absl::Status EmptyError(absl::string_view message = "queue is empty");
absl::Status EofError(absl::string_view message = "end of file");
absl::Status TimeoutError(absl::string_view message = "timed out");
absl::Status BrokenBarrierError(
    absl::string_view message = "barrier is broken");
absl::Status AuthenticationError(absl::string_view message);
// A receive buffer shorter than the message; the message stays queued and
// `message_length` tells how large a buffer it needs.
absl::Status BufferTooShortError(size_t message_length,
                                 absl::string_view message = "");
absl::Status ClosedError(absl::string_view message = "handle is closed");
absl::Status DecodeError(absl::string_view message);
absl::Status OwnerDiedError(
    absl::string_view message = "previous owner died holding the lock");
absl::Status WorkerDiedError(absl::string_view message);

inline bool IsFull(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kFull;
}
inline bool IsEmpty(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kEmpty;
}
inline bool IsEof(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kEof;
}
inline bool IsTimeout(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kTimeout;
}
inline bool IsBrokenBarrier(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kBrokenBarrier;
}
inline bool IsAuthenticationError(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kAuthentication;
}
inline bool IsBufferTooShort(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kBufferTooShort;
}
inline bool IsClosed(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kClosed;
}
inline bool IsDecodeError(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kDecode;
}
inline bool IsOwnerDied(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kOwnerDied;
}
inline bool IsWorkerDied(const absl::Status& s) {
  return KindOf(s) == ErrorKind::kWorkerDied;
}

// For a BufferTooShort status: the length of the message that did not fit.
std::optional<size_t> MessageLength(const absl::Status& status);

}  // namespace mp

#endif  // MP_BASE_STATUS_H_
