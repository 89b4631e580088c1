// Event: Python's multiprocessing.Event, a flag that processes and threads
// can set, clear and wait for.
//
// Copies are handles to the same event; pass them to child processes as
// Process arguments (fork copies them, spawn sends them through the codec).
//
// Example:
//
//   absl::StatusOr<mp::Event> ready = mp::Event::Create();
//   ...
//   // worker: wait up to a second for the go-ahead
//   if (ready->Wait(absl::Seconds(1)).ok()) { ... }
//   // coordinator:
//   ready->Set().IgnoreError();

#ifndef MP_LOCK_EVENT_H_
#define MP_LOCK_EVENT_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "lock/internal/event_state.h"  // what an Event holds
#include "lock/internal/shared_state.h"

namespace mp {

class EventTestPeer;

class Event {
 public:
  // No event; every call fails with kFailedPrecondition.
  Event() = default;

  // A new event, not set.
  static absl::StatusOr<Event> Create();

  // Sets the flag and wakes every waiter.
  absl::Status Set();
  // Clears the flag.
  absl::Status Clear();
  // Whether the flag is set; false when empty.
  bool is_set() const;
  // Returns OK once the flag is set (at once if it is), mp::TimeoutError()
  // if it is still clear after `timeout`.
  absl::Status Wait(absl::Duration timeout = absl::InfiniteDuration()) const;
  bool valid() const { return state_.valid(); }

  friend void MpEncode(Encoder& e, const Event& event);
  friend absl::Status MpDecode(Decoder& d, Event& event);

 private:
  friend class EventTestPeer;
  explicit Event(lock_internal::SharedState<lock_internal::EventState> s)
      : state_(std::move(s)) {}
  lock_internal::SharedState<lock_internal::EventState> state_;
};

}  // namespace mp

#endif  // MP_LOCK_EVENT_H_
