#include "lock/condition.h"

#include <cstdint>

#include "absl/status/status.h"
#include "base/deadline.h"
#include "base/status.h"

namespace mp {
namespace {

using lock_internal::ConditionState;
using lock_internal::SharedState;

constexpr uint32_t kWords = ConditionState::kWindow / 64;

// Ticket order, modulo 2^32.
bool Before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

bool Cancelled(const ConditionState& s, uint32_t i) {
  return (s.cancelled[i / 64] >> (i % 64)) & 1;
}

void SetCancelled(ConditionState& s, uint32_t i, bool on) {
  uint64_t bit = uint64_t{1} << (i % 64);
  if (on) {
    s.cancelled[i / 64] |= bit;
  } else {
    s.cancelled[i / 64] &= ~bit;
  }
}

// Moves the window one ticket on (bit 0 drops out).
void ShiftWindow(ConditionState& s) {
  for (uint32_t w = 0; w < kWords; ++w) {
    uint64_t carry = w + 1 < kWords ? (s.cancelled[w + 1] & 1) : 0;
    s.cancelled[w] = (s.cancelled[w] >> 1) | (carry << 63);
  }
}

// A waiter with ticket `t` gives up (under the lock).
void Cancel(ConditionState& s, uint32_t t) {
  uint32_t sig = s.signalled.value().load();
  if (t == s.next_ticket - 1) {
    // The newest ticket: hand it back, and any cancelled ones before it.
    --s.next_ticket;
    while (s.next_ticket != sig) {
      uint32_t last = s.next_ticket - 1 - sig;
      if (last >= ConditionState::kWindow || !Cancelled(s, last)) break;
      SetCancelled(s, last, false);
      --s.next_ticket;
    }
    if (s.next_ticket == sig) s.overflow = 0;
    return;
  }
  uint32_t i = t - sig;
  if (i < ConditionState::kWindow) {
    SetCancelled(s, i, true);
  } else {
    ++s.overflow;
  }
}

absl::Status LockNotOwned() {
  return absl::FailedPreconditionError("lock is not owned");
}

}  // namespace

absl::StatusOr<Condition> Condition::Create() {
  MP_ASSIGN_OR_RETURN(RLock lock, RLock::Create());
  return Create(AnyLock(lock));
}

absl::StatusOr<Condition> Condition::Create(AnyLock lock) {
  if (!lock.valid()) return EmptyObjectError("Condition.Create (its lock)");
  MP_ASSIGN_OR_RETURN(
      SharedState<ConditionState> s,
      SharedState<ConditionState>::Create(ConditionState::kMagic));
  return Condition(std::move(s), std::move(lock));
}

absl::Status Condition::Wait(absl::Duration timeout) {
  return WaitUntil(Deadline::After(timeout));
}

absl::Status Condition::WaitUntil(Deadline deadline) {
  ConditionState* s = state_.get();
  if (s == nullptr || !lock_.valid()) return EmptyObjectError("Condition.Wait");
  if (!lock_.held_by_me()) {
    return absl::FailedPreconditionError(
        "must acquire() condition before using wait()");
  }
  const uint32_t ticket = s->next_ticket++;
  absl::StatusOr<uint32_t> levels = lock_.handle().ReleaseAll();
  if (!levels.ok()) {
    Cancel(*s, ticket);
    return levels.status();
  }
  bool notified = false;
  absl::Status failure;
  for (;;) {
    uint32_t sig = s->signalled.value().load();
    if (Before(ticket, sig)) {
      notified = true;
      break;
    }
    absl::Status w = s->signalled.Wait(sig, deadline);
    if (IsTimeout(w)) break;
    if (!w.ok()) {
      failure = w;
      break;
    }
  }
  absl::Status back = lock_.handle().Restore(*levels);
  if (!Acquired(back)) return back;  // the OS refused; the ticket stays
  if (!notified) {
    if (Before(ticket, s->signalled.value().load())) {
      notified = true;  // notified just as the wait ended
    } else {
      Cancel(*s, ticket);
    }
  }
  MP_RETURN_IF_ERROR(back);  // OwnerDied: held, the wait cut short
  MP_RETURN_IF_ERROR(failure);
  return notified ? absl::OkStatus() : TimeoutError();
}

absl::Status Condition::Notify(int n) {
  if (!valid()) return EmptyObjectError("Condition.Notify");
  if (n <= 0) return absl::OkStatus();
  return NotifyUpTo(static_cast<uint32_t>(n));
}

absl::Status Condition::NotifyAll() {
  if (!valid()) return EmptyObjectError("Condition.NotifyAll");
  return NotifyUpTo(UINT32_MAX);
}

absl::Status Condition::NotifyUpTo(uint32_t n) {
  ConditionState* s = state_.get();
  if (!lock_.held_by_me()) return LockNotOwned();
  uint32_t sig = s->signalled.value().load();
  const uint32_t end = s->next_ticket;
  uint32_t woken = 0;
  while (sig != end && (woken < n || s->overflow > 0)) {
    if (Cancelled(*s, 0)) {
      SetCancelled(*s, 0, false);  // a waiter that timed out: skip it
    } else if (woken < n) {
      ++woken;
    } else {
      --s->overflow;  // an unrecorded cancellation: wake one more instead
    }
    ShiftWindow(*s);
    ++sig;
  }
  if (sig == end) s->overflow = 0;  // no ticket left to be unsure about
  if (sig == s->signalled.value().load()) return absl::OkStatus();
  s->signalled.value().store(sig);
  return s->signalled.WakeAll();
}

void MpEncode(Encoder& e, const Condition& c) {
  c.state_.Encode(e, "Condition");
  e.Write(c.lock_);
}

absl::Status MpDecode(Decoder& d, Condition& c) {
  SharedState<ConditionState> s;
  MP_RETURN_IF_ERROR(SharedState<ConditionState>::Decode(
      d, "Condition", {ConditionState::kMagic}, &s));
  AnyLock lock;
  MP_RETURN_IF_ERROR(d.Read(lock));
  c = Condition(std::move(s), std::move(lock));
  return absl::OkStatus();
}

}  // namespace mp
