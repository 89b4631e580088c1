#include "lock/event.h"

#include "absl/status/status.h"
#include "base/deadline.h"
#include "lock/lock.h"

namespace mp {

using lock_internal::EventState;
using lock_internal::SharedState;

absl::StatusOr<Event> Event::Create() {
  MP_ASSIGN_OR_RETURN(SharedState<EventState> s,
                      SharedState<EventState>::Create(EventState::kMagic));
  return Event(std::move(s));
}

absl::Status Event::Set() {
  EventState* s = state_.get();
  if (s == nullptr) return EmptyObjectError("Event.Set");
  s->flag.value().store(1);
  return s->flag.WakeAll();
}

absl::Status Event::Clear() {
  EventState* s = state_.get();
  if (s == nullptr) return EmptyObjectError("Event.Clear");
  s->flag.value().store(0);
  return absl::OkStatus();
}

bool Event::is_set() const {
  EventState* s = state_.get();
  return s != nullptr && s->flag.value().load() != 0;
}

absl::Status Event::Wait(absl::Duration timeout) const {
  EventState* s = state_.get();
  if (s == nullptr) return EmptyObjectError("Event.Wait");
  Deadline deadline = Deadline::After(timeout);
  while (s->flag.value().load() == 0) {
    MP_RETURN_IF_ERROR(s->flag.Wait(0, deadline));
  }
  return absl::OkStatus();
}

void MpEncode(Encoder& e, const Event& event) {
  event.state_.Encode(e, "Event");
}

absl::Status MpDecode(Decoder& d, Event& event) {
  SharedState<EventState> s;
  absl::Status st =
      SharedState<EventState>::Decode(d, "Event", {EventState::kMagic}, &s);
  if (st.ok()) event = Event(std::move(s));
  return st;
}

}  // namespace mp
