// Barrier: Python's multiprocessing.Barrier (threading.Barrier's rules), a
// meeting point for a fixed number of parties, processes or threads.
//
// Wait() blocks until `parties` callers are waiting, then releases them all;
// an optional action runs once per cycle, in the last party to arrive,
// before the others are released. A timeout, Abort() or Reset() breaks the
// barrier for the parties waiting (mp::BrokenBarrierError()).
//
// Copies are handles to the same barrier; pass them to child processes as
// Process arguments.
//
// Example:
//
//   absl::StatusOr<mp::Barrier> barrier = mp::Barrier::Create(5);
//   // in each of five processes:
//   absl::StatusOr<int> index = barrier->Wait();
//   if (mp::IsBrokenBarrier(index.status())) { ... }

#ifndef MP_LOCK_BARRIER_H_
#define MP_LOCK_BARRIER_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/deadline.h"
#include "lock/internal/barrier_state.h"  // what a Barrier holds
#include "lock/internal/shared_state.h"

namespace mp {

class Barrier {
 public:
  // No barrier; every call fails with kFailedPrecondition.
  Barrier() = default;

  // A barrier for `parties` (>= 1) parties. `action`, if given, runs in the
  // last party to arrive at each cycle. `timeout` is the default for Wait().
  //
  // The action is code of this process: copies made by fork keep it, but a
  // Barrier with an action cannot be sent to a spawned process (encoding
  // fails); barriers shared with spawned processes have no action.
  static absl::StatusOr<Barrier> Create(
      int parties, std::function<void()> action = nullptr,
      absl::Duration timeout = absl::InfiniteDuration());

  // Waits for the other parties, up to the barrier's default timeout or
  // `timeout`. The party's index, distinct in [0, parties): the last to
  // arrive gets parties - 1 and so on down, so exactly one gets 0. Or
  // mp::BrokenBarrierError() if the barrier is or becomes broken: a party
  // that times out breaks it for every party, as do Abort(), Reset() and
  // the death of a process while it holds the barrier's internal lock (the
  // barrier's state may then be half-updated). A party that dies while
  // waiting is not replaced: the others wait for it until their timeout, as
  // in Python.
  absl::StatusOr<int> Wait();
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // Back to the initial state; parties waiting now get BrokenBarrierError.
  absl::Status Reset();
  // Puts the barrier into the broken state: waiting and later Wait() calls
  // get BrokenBarrierError until Reset().
  absl::Status Abort();

  // The number of parties; those waiting in the current cycle; whether the
  // barrier is broken. 0, 0 and false when empty.
  int parties() const;
  int n_waiting() const;
  bool broken() const;
  bool valid() const { return state_.valid(); }

  friend void MpEncode(Encoder& e, const Barrier& b);
  friend absl::Status MpDecode(Decoder& d, Barrier& b);

 private:
  using State = lock_internal::BarrierState;
  Barrier(lock_internal::SharedState<State> state, std::function<void()> action)
      : state_(std::move(state)), action_(std::move(action)) {}
  absl::StatusOr<int> WaitUntil(Deadline deadline);

  lock_internal::SharedState<State> state_;
  std::function<void()> action_;
};

}  // namespace mp

#endif  // MP_LOCK_BARRIER_H_
