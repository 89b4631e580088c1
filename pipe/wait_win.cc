// Windows Wait(), as Python's connection.wait does it: a zero-byte
// overlapped read on each connection (completes when input arrives, takes
// nothing but an empty pipe message, which the connection then remembers),
// one WaitForMultipleObjects over those events, the Listeners' events and
// the other handles, then every read cancelled and its outcome collected.
#include <windows.h>
#include <winsock2.h>

#include <memory>
#include <vector>

#include "base/os_error.h"
#include "base/status.h"
#include "pipe/internal/connection_io.h"
#include "pipe/internal/win_io.h"
#include "pipe/listener.h"
#include "pipe/pipe.h"

namespace mp {
namespace pipe_internal {
namespace {

struct PendingProbe {
  Connection* connection;
  size_t index;
  bool socket;
  OVERLAPPED ov;  // WSAOVERLAPPED is the same structure
};

// Marks ready each index whose handle in `handles` is signalled within
// `millis`, then (never blocking again) each other one: Python's
// _exhaustive_wait, so a busy first object cannot starve the rest.
absl::Status WaitAll(const std::vector<HANDLE>& handles,
                     const std::vector<size_t>& index, DWORD millis,
                     std::vector<bool>& ready) {
  size_t start = 0;
  while (start < handles.size()) {
    DWORD count = static_cast<DWORD>(handles.size() - start);
    DWORD r =
        WaitForMultipleObjects(count, handles.data() + start, FALSE, millis);
    if (r == WAIT_TIMEOUT) return absl::OkStatus();
    size_t k;
    if (r >= WAIT_OBJECT_0 && r < WAIT_OBJECT_0 + count) {
      k = r - WAIT_OBJECT_0;
    } else if (r >= WAIT_ABANDONED_0 && r < WAIT_ABANDONED_0 + count) {
      k = r - WAIT_ABANDONED_0;
    } else {
      return LastOsError("WaitForMultipleObjects");
    }
    ready[index[start + k]] = true;
    start += k + 1;
    millis = 0;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<size_t>> ConnectionIo::Wait(
    absl::Span<const WaitTarget> objects, Deadline deadline) {
  std::vector<bool> ready(objects.size(), false);
  bool any_ready = false;
  std::vector<HANDLE> handles;
  std::vector<size_t> index;
  std::vector<std::unique_ptr<PendingProbe>> probes;
  absl::Status status;
  for (size_t i = 0; i < objects.size() && status.ok(); ++i) {
    const WaitTarget& t = objects[i];
    switch (t.kind_) {
      case WaitTarget::Kind::kConnection: {
        Connection* c = t.connection_;
        if (c->closed()) {
          status = ClosedError();
          break;
        }
        if (c->pending_length_.has_value() || c->got_empty_message_) {
          ready[i] = any_ready = true;
          break;
        }
        auto probe = std::make_unique<PendingProbe>();
        probe->connection = c;
        probe->index = i;
        probe->socket = c->handle_.socket();
        probe->ov = {};
        probe->ov.hEvent = c->event_.get();
        absl::StatusOr<Probe> p =
            probe->socket
                ? StartSocketProbe(reinterpret_cast<SOCKET>(c->handle()),
                                   &probe->ov)
                : StartPipeProbe(c->handle(), &probe->ov);
        if (!p.ok()) {
          status = p.status();
          break;
        }
        if (*p == Probe::kPending) {
          handles.push_back(c->event_.get());
          index.push_back(i);
          probes.push_back(std::move(probe));
          break;
        }
        if (*p == Probe::kEmptyMessage) c->got_empty_message_ = true;
        ready[i] = any_ready = true;
        break;
      }
      case WaitTarget::Kind::kListener: {
        absl::StatusOr<NativeHandle> h = t.listener_->WaitHandle();
        if (!h.ok()) {
          status = h.status();
          break;
        }
        handles.push_back(*h);
        index.push_back(i);
        break;
      }
      case WaitTarget::Kind::kHandle:
        if (!IsValidHandle(t.handle_)) {
          status = absl::InvalidArgumentError("wait: invalid handle");
          break;
        }
        handles.push_back(t.handle_);
        index.push_back(i);
        break;
    }
  }
  if (status.ok() && handles.size() > MAXIMUM_WAIT_OBJECTS) {
    status = absl::InvalidArgumentError(
        "wait: at most 64 objects at once on Windows");
  }
  if (status.ok()) {
    status =
        WaitAll(handles, index, any_ready ? 0 : WaitMillis(deadline), ready);
  }
  // Every read started above is stopped and its outcome collected, whatever
  // happened: one that completed meanwhile counts, and an empty message it
  // took is the connection's next message.
  for (const std::unique_ptr<PendingProbe>& p : probes) {
    absl::StatusOr<Probe> outcome =
        p->socket ? FinishSocketProbe(
                        reinterpret_cast<SOCKET>(p->connection->handle()),
                        &p->ov, /*cancel=*/true)
                  : FinishPipeProbe(p->connection->handle(), &p->ov,
                                    /*cancel=*/true);
    if (!outcome.ok()) {
      if (status.ok()) status = outcome.status();
      continue;
    }
    if (*outcome == Probe::kEmptyMessage) {
      p->connection->got_empty_message_ = true;
    }
    if (*outcome != Probe::kPending) ready[p->index] = true;
  }
  if (!status.ok()) return status;
  std::vector<size_t> out;
  for (size_t i = 0; i < ready.size(); ++i) {
    if (ready[i]) out.push_back(i);
  }
  return out;
}

}  // namespace pipe_internal
}  // namespace mp
