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
#include <utility>

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
// What every method that can fail returns when called on an empty object (one
// default-constructed, or moved from): kFailedPrecondition, "`what`: empty
// object (default-constructed or moved from)", `what` naming the call
// ("Lock.Acquire"). Accessors that cannot fail return a neutral value
// instead (valid() false, size() 0), as their comments say.
absl::Status EmptyObjectError(absl::string_view what);

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

// Status plumbing, for every package, so that no function spells out the
// test-and-return by hand.
//
// MP_RETURN_IF_ERROR(expr): evaluates `expr`, an absl::Status, once, and
// returns it from the enclosing function if it is not OK.
//
// MP_ASSIGN_OR_RETURN(lhs, expr): evaluates `expr`, an absl::StatusOr<T>,
// once; returns its status if it is not OK, else moves its value into `lhs`,
// a declaration (`auto conn`) or an existing variable.
//
//   absl::StatusOr<Connection> Dial(const Address& a) {
//     MP_ASSIGN_OR_RETURN(OwnedHandle h, Connect(a));
//     MP_RETURN_IF_ERROR(Handshake(h));
//     return Connection(std::move(h));
//   }
#define MP_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::absl::Status mp_status_internal_ = (expr); \
    if (!mp_status_internal_.ok()) {             \
      return mp_status_internal_;                \
    }                                            \
  } while (0)

#define MP_ASSIGN_OR_RETURN(lhs, expr) \
  MP_STATUS_INTERNAL_ASSIGN_OR_RETURN( \
      MP_STATUS_INTERNAL_CONCAT(mp_statusor_internal_, __LINE__), lhs, expr)

// Implementation details of the macros above.
#define MP_STATUS_INTERNAL_ASSIGN_OR_RETURN(statusor, lhs, expr) \
  auto statusor = (expr);                                        \
  if (!statusor.ok()) return std::move(statusor).status();       \
  lhs = *std::move(statusor)
#define MP_STATUS_INTERNAL_CONCAT_IMPL(x, y) x##y
#define MP_STATUS_INTERNAL_CONCAT(x, y) MP_STATUS_INTERNAL_CONCAT_IMPL(x, y)

#endif  // MP_BASE_STATUS_H_
