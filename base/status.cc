#include "base/status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mp {
namespace {

// Payload type URLs. The kind payload holds PythonName(kind).
constexpr absl::string_view kKindUrl = "mp.dev/error-kind";
constexpr absl::string_view kLengthUrl = "mp.dev/message-length";

struct KindInfo {
  ErrorKind kind;
  absl::StatusCode code;
  absl::string_view python_name;
};

constexpr KindInfo kKinds[] = {
    {ErrorKind::kFull, absl::StatusCode::kResourceExhausted, "queue.Full"},
    {ErrorKind::kEmpty, absl::StatusCode::kUnavailable, "queue.Empty"},
    {ErrorKind::kEof, absl::StatusCode::kOutOfRange, "EOFError"},
    {ErrorKind::kTimeout, absl::StatusCode::kDeadlineExceeded, "TimeoutError"},
    {ErrorKind::kBrokenBarrier, absl::StatusCode::kAborted,
     "BrokenBarrierError"},
    {ErrorKind::kAuthentication, absl::StatusCode::kUnauthenticated,
     "AuthenticationError"},
    {ErrorKind::kBufferTooShort, absl::StatusCode::kInvalidArgument,
     "BufferTooShort"},
    {ErrorKind::kClosed, absl::StatusCode::kFailedPrecondition, "Closed"},
    {ErrorKind::kDecode, absl::StatusCode::kDataLoss, "UnpicklingError"},
    {ErrorKind::kOwnerDied, absl::StatusCode::kDataLoss, "OwnerDied"},
    {ErrorKind::kWorkerDied, absl::StatusCode::kAborted, "WorkerDied"},
};

const KindInfo* Find(ErrorKind kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

absl::Status Make(ErrorKind kind, absl::string_view message) {
  const KindInfo* info = Find(kind);
  absl::Status s(info->code, message);
  s.SetPayload(kKindUrl, absl::Cord(info->python_name));
  return s;
}

}  // namespace

ErrorKind KindOf(const absl::Status& status) {
  if (status.ok()) return ErrorKind::kNone;
  std::optional<absl::Cord> payload = status.GetPayload(kKindUrl);
  if (!payload.has_value()) return ErrorKind::kNone;
  for (const KindInfo& k : kKinds) {
    if (k.code == status.code() && *payload == k.python_name) return k.kind;
  }
  return ErrorKind::kNone;
}

absl::string_view PythonName(ErrorKind kind) {
  const KindInfo* info = Find(kind);
  return info == nullptr ? "" : info->python_name;
}

absl::Status FullError(absl::string_view m) {
  return Make(ErrorKind::kFull, m);
}
absl::Status EmptyError(absl::string_view m) {
  return Make(ErrorKind::kEmpty, m);
}
absl::Status EofError(absl::string_view m) { return Make(ErrorKind::kEof, m); }
absl::Status TimeoutError(absl::string_view m) {
  return Make(ErrorKind::kTimeout, m);
}
absl::Status BrokenBarrierError(absl::string_view m) {
  return Make(ErrorKind::kBrokenBarrier, m);
}
absl::Status AuthenticationError(absl::string_view m) {
  return Make(ErrorKind::kAuthentication, m);
}
absl::Status BufferTooShortError(size_t message_length, absl::string_view m) {
  absl::Status s =
      Make(ErrorKind::kBufferTooShort,
           m.empty() ? absl::StrCat("buffer too short for a message of ",
                                    message_length, " bytes")
                     : std::string(m));
  s.SetPayload(kLengthUrl, absl::Cord(absl::StrCat(message_length)));
  return s;
}
absl::Status ClosedError(absl::string_view m) {
  return Make(ErrorKind::kClosed, m);
}
absl::Status DecodeError(absl::string_view m) {
  return Make(ErrorKind::kDecode, m);
}
absl::Status OwnerDiedError(absl::string_view m) {
  return Make(ErrorKind::kOwnerDied, m);
}
absl::Status WorkerDiedError(absl::string_view m) {
  return Make(ErrorKind::kWorkerDied, m);
}

absl::Status EmptyObjectError(absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": empty object (default-constructed or moved from)"));
}

std::optional<size_t> MessageLength(const absl::Status& status) {
  if (!IsBufferTooShort(status)) return std::nullopt;
  std::optional<absl::Cord> payload = status.GetPayload(kLengthUrl);
  size_t n = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &n)) {
    return std::nullopt;
  }
  return n;
}

}  // namespace mp
