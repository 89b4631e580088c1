#include "base/deadline.h"

#include <cstdint>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

TEST(DeadlineTest, NeverNeverExpires) {
  Deadline d = Deadline::Never();
  EXPECT_TRUE(d.IsNever());
  EXPECT_FALSE(d.Expired());
  EXPECT_EQ(d.Remaining(), absl::InfiniteDuration());
  EXPECT_EQ(d.RemainingMillis(0xFFFFFFFFu), 0xFFFFFFFFu);
  EXPECT_EQ(Deadline::After(absl::InfiniteDuration()), Deadline::Never());
}

TEST(DeadlineTest, ZeroAndNegativeTimeoutsAreAlreadyExpired) {
  for (absl::Duration t :
       {absl::ZeroDuration(), absl::Seconds(-5), -absl::InfiniteDuration()}) {
    Deadline d = Deadline::After(t);
    EXPECT_FALSE(d.IsNever());
    EXPECT_TRUE(d.Expired());
    EXPECT_EQ(d.Remaining(), absl::ZeroDuration());
    EXPECT_EQ(d.RemainingMillis(0xFFFFFFFFu), 0u);
  }
}

TEST(DeadlineTest, FiniteDeadlinePassesAfterAtLeastItsTimeout) {
  const int64_t start = Deadline::NowNanos();
  Deadline d = Deadline::After(absl::Milliseconds(20));
  EXPECT_FALSE(d.IsNever());
  EXPECT_LE(d.Remaining(), absl::Milliseconds(20));
  while (!d.Expired()) std::this_thread::yield();
  EXPECT_GE(Deadline::NowNanos() - start, 20 * 1000 * 1000);
}

TEST(DeadlineTest, RemainingMillisRoundsUpAndStaysBelowForever) {
  // Far enough not to pass during the test (however slow the machine),
  // with part of a millisecond that rounding down would drop.
  Deadline d = Deadline::After(absl::Seconds(60) + absl::Microseconds(500));
  uint32_t ms = d.RemainingMillis(0xFFFFFFFFu);
  // Rounded up: never below what is left, which only shrinks meanwhile.
  EXPECT_GE(absl::Milliseconds(ms), d.Remaining());
  EXPECT_LE(ms, 60001u);
  // A finite deadline past the 32-bit range is clamped below `forever`.
  Deadline far = Deadline::After(absl::Hours(24 * 365));
  EXPECT_FALSE(far.IsNever());
  EXPECT_EQ(far.RemainingMillis(0xFFFFFFFFu), 0xFFFFFFFEu);
}

TEST(DeadlineTest, HugeFiniteTimeoutSaturatesToNever) {
  EXPECT_TRUE(Deadline::After(absl::Hours(1e12)).IsNever());
}

TEST(DeadlineTest, EarlierPicksTheSoonerDeadline) {
  Deadline a = Deadline::After(absl::Seconds(1));
  Deadline b = Deadline::After(absl::Seconds(10));
  EXPECT_EQ(Earlier(a, b), a);
  EXPECT_EQ(Earlier(Deadline::Never(), b), b);
}

}  // namespace
}  // namespace mp
