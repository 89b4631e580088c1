#include "base/status.h"

#include <cerrno>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/os_error.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

TEST(StatusTest, EachKindHasItsCodeAndOnlyItsPredicate) {
  struct Case {
    absl::Status status;
    absl::StatusCode code;
    ErrorKind kind;
  };
  std::vector<Case> cases = {
      {FullError(), absl::StatusCode::kResourceExhausted, ErrorKind::kFull},
      {EmptyError(), absl::StatusCode::kUnavailable, ErrorKind::kEmpty},
      {EofError(), absl::StatusCode::kOutOfRange, ErrorKind::kEof},
      {TimeoutError(), absl::StatusCode::kDeadlineExceeded,
       ErrorKind::kTimeout},
      {BrokenBarrierError(), absl::StatusCode::kAborted,
       ErrorKind::kBrokenBarrier},
      {AuthenticationError("digest received was wrong"),
       absl::StatusCode::kUnauthenticated, ErrorKind::kAuthentication},
      {BufferTooShortError(110), absl::StatusCode::kInvalidArgument,
       ErrorKind::kBufferTooShort},
      {ClosedError(), absl::StatusCode::kFailedPrecondition,
       ErrorKind::kClosed},
      {DecodeError("truncated"), absl::StatusCode::kDataLoss,
       ErrorKind::kDecode},
      {OwnerDiedError(), absl::StatusCode::kDataLoss, ErrorKind::kOwnerDied},
      {WorkerDiedError("worker 3 was killed"), absl::StatusCode::kAborted,
       ErrorKind::kWorkerDied},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status.ToString());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(KindOf(c.status), c.kind);
    EXPECT_FALSE(PythonName(c.kind).empty());
    EXPECT_EQ(IsFull(c.status), c.kind == ErrorKind::kFull);
    EXPECT_EQ(IsEmpty(c.status), c.kind == ErrorKind::kEmpty);
    EXPECT_EQ(IsEof(c.status), c.kind == ErrorKind::kEof);
    EXPECT_EQ(IsTimeout(c.status), c.kind == ErrorKind::kTimeout);
    EXPECT_EQ(IsOwnerDied(c.status), c.kind == ErrorKind::kOwnerDied);
    EXPECT_EQ(IsDecodeError(c.status), c.kind == ErrorKind::kDecode);
    EXPECT_EQ(IsWorkerDied(c.status), c.kind == ErrorKind::kWorkerDied);
    EXPECT_EQ(IsBrokenBarrier(c.status), c.kind == ErrorKind::kBrokenBarrier);
    EXPECT_EQ(IsClosed(c.status), c.kind == ErrorKind::kClosed);
  }
}

TEST(StatusTest, PlainStatusesHaveNoKind) {
  EXPECT_EQ(KindOf(absl::OkStatus()), ErrorKind::kNone);
  EXPECT_EQ(KindOf(absl::UnavailableError("connection refused")),
            ErrorKind::kNone);
  EXPECT_FALSE(IsEmpty(absl::UnavailableError("queue is empty")));
  EXPECT_FALSE(IsFull(absl::ResourceExhaustedError("out of memory")));
}

TEST(StatusTest, BufferTooShortCarriesTheMessageLength) {
  absl::Status s = BufferTooShortError(110);
  ASSERT_TRUE(MessageLength(s).has_value());
  EXPECT_EQ(*MessageLength(s), 110u);
  EXPECT_NE(s.message().find("110"), absl::string_view::npos);
  EXPECT_FALSE(MessageLength(EofError()).has_value());
}

TEST(StatusTest, ErrnoMapsToCanonicalCodes) {
  EXPECT_EQ(ErrnoError(ENOENT, "open").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoError(EEXIST, "open").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoError(EACCES, "open").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoError(EINVAL, "open").code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status s = ErrnoError(ENOENT, "shm_open /mp-x");
  EXPECT_EQ(s.message().substr(0, 14), "shm_open /mp-x");
  EXPECT_EQ(KindOf(s), ErrorKind::kNone);
}

TEST(StatusTest, EmptyObjectErrorNamesTheCall) {
  absl::Status s = EmptyObjectError("Lock.Acquire");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "Lock.Acquire: empty object (default-constructed or moved from)");
  EXPECT_EQ(KindOf(s), ErrorKind::kNone);
}

// Counts its calls, so that a test sees each macro evaluate its expression
// once.
struct Source {
  int calls = 0;
  absl::Status status;
  absl::Status Status() {
    ++calls;
    return status;
  }
  absl::StatusOr<std::unique_ptr<int>> Value(int v) {
    ++calls;
    if (!status.ok()) return status;
    return std::make_unique<int>(v);
  }
};

absl::Status ReturnIfError(Source& src, bool* went_on) {
  MP_RETURN_IF_ERROR(src.Status());
  *went_on = true;
  return absl::OkStatus();
}

absl::StatusOr<int> AssignOrReturn(Source& src) {
  MP_ASSIGN_OR_RETURN(std::unique_ptr<int> a, src.Value(20));  // move-only
  int b = 0;
  MP_ASSIGN_OR_RETURN(std::unique_ptr<int> c, src.Value(2));
  b = *c;
  return *a + b;
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsOnlyAnError) {
  Source ok;
  bool went_on = false;
  EXPECT_TRUE(ReturnIfError(ok, &went_on).ok());
  EXPECT_TRUE(went_on);
  EXPECT_EQ(ok.calls, 1);

  Source failing{0, TimeoutError("late")};
  went_on = false;
  absl::Status s = ReturnIfError(failing, &went_on);
  EXPECT_TRUE(IsTimeout(s)) << s;
  EXPECT_EQ(s.message(), "late");
  EXPECT_FALSE(went_on);
  EXPECT_EQ(failing.calls, 1);
}

TEST(StatusMacrosTest, AssignOrReturnMovesTheValueOrReturnsTheStatus) {
  Source ok;
  absl::StatusOr<int> sum = AssignOrReturn(ok);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, 22);
  EXPECT_EQ(ok.calls, 2);

  Source failing{0, EmptyError()};
  sum = AssignOrReturn(failing);
  EXPECT_TRUE(IsEmpty(sum.status())) << sum.status();
  EXPECT_EQ(failing.calls, 1);  // returned at the first
}

}  // namespace
}  // namespace mp
