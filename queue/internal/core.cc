#include "queue/internal/core.h"

#include <cstdint>
#include <memory>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/deadline.h"
#include "base/status.h"
#include "queue/internal/arena.h"
#include "queue/internal/bias.h"
#include "queue/internal/consistency.h"
#include "queue/internal/layout.h"
#include "queue/internal/segment.h"

namespace mp {
namespace queue_internal {

Core::Core(std::unique_ptr<Arena> arena, Header* header)
    : arena_(std::move(arena)),
      h_(header),
      maxsize_(header->maxsize),
      segments_(arena_.get(), header),
      wake_(header),
      producer_(header, maxsize_, &segments_, &wake_),
      consumer_(header, maxsize_, &segments_, &wake_) {}

Core::~Core() {
  producer_.DropBias();
  if (h_->producer_lock.PinnedInThisProcess() ||
      h_->big_item_lock.PinnedInThisProcess() ||
      h_->bias_alive.PinnedInThisProcess()) {
    // A thread of this process still has a lock on its robust list (it
    // died holding it, or let another thread release it): the kernel reads
    // the list when that thread ends, so the memory must stay mapped.
    arena_.release();
    return;
  }
  h_->producer_lock.ForgetInThisProcess();
  h_->big_item_lock.ForgetInThisProcess();
  h_->bias_alive.ForgetInThisProcess();
  h_->put_word.ForgetInThisProcess();
  h_->get_word.ForgetInThisProcess();
  h_->done_word.ForgetInThisProcess();
}

absl::StatusOr<std::shared_ptr<Core>> Core::Create(Kind kind, int64_t maxsize,
                                                   uint64_t type_hash) {
  absl::StatusOr<std::unique_ptr<Arena>> arena = Arena::Create(kInitialSize);
  if (!arena.ok()) return arena.status();
  absl::StatusOr<char*> head = (*arena)->Map(0, sizeof(Header));
  if (!head.ok()) return head.status();
  absl::StatusOr<char*> first = (*arena)->Map(kFirstSegment, kMinSegment);
  if (!first.ok()) return first.status();

  Header* h = new (*head) Header;
  h->version = kLayoutVersion;
  h->kind = kind;
  h->maxsize = maxsize > 0 ? maxsize : 0;
  h->type_hash = type_hash;
  h->bias_after = kBiasAfter;
  auto* seg = new (*first) SegmentHeader;
  seg->magic = kSegmentMagic;
  seg->self = MakeCursor(0, kFirstSegment);
  seg->next.store(0);
  seg->next_free = 0;
  seg->backed = kMinSegment;
  h->ppos.store(seg->self + sizeof(SegmentHeader));
  h->read.first = seg->self + sizeof(SegmentHeader);
  h->read.second = 0;
  h->chain_start.store(seg->self);
  h->top.store(kInitialSize);
  h->magic = kHeaderMagic;
  return std::shared_ptr<Core>(new Core(*std::move(arena), h));
}

absl::StatusOr<std::shared_ptr<Core>> Core::Open(OwnedHandle handle, Kind kind,
                                                 uint64_t type_hash) {
  absl::StatusOr<std::unique_ptr<Arena>> arena = Arena::Open(std::move(handle));
  if (!arena.ok()) return arena.status();
  absl::StatusOr<char*> head = (*arena)->Map(0, sizeof(Header));
  if (!head.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Queue: the handle is not a queue (", head.status().message(), ")"));
  }
  Header* h = reinterpret_cast<Header*>(*head);
  if (h->magic != kHeaderMagic || h->version != kLayoutVersion) {
    return absl::InvalidArgumentError("Queue: the handle is not a queue");
  }
  if (h->kind != kind) {
    return absl::InvalidArgumentError(
        "Queue: the handle is a different kind of queue (Queue, SimpleQueue "
        "and JoinableQueue do not mix)");
  }
  if (h->type_hash != type_hash) {
    return absl::InvalidArgumentError(
        "Queue: the handle is a queue of another item type");
  }
  if (h->maxsize < 0) return CorruptError("negative maxsize");
  return std::shared_ptr<Core>(new Core(*std::move(arena), h));
}

// ---------------------------------------------------------------------------
// Sizes and JoinableQueue.

uint64_t Core::Qsize() const {
  const uint64_t g = h_->read.LoadSecond();
  const uint64_t p = h_->puts.load(std::memory_order_acquire);
  return p > g ? p - g : 0;
}

bool Core::Full() const {
  return maxsize_ > 0 && Qsize() >= static_cast<uint64_t>(maxsize_);
}

absl::Status Core::TaskDone() {
  uint64_t d = h_->dones.load();
  for (;;) {
    if (d >= h_->puts.load()) {
      return absl::FailedPreconditionError(
          "JoinableQueue.TaskDone: task_done() called too many times");
    }
    if (h_->dones.compare_exchange_weak(d, d + 1)) break;
  }
  h_->done_word.value().fetch_add(1);
  if (d + 1 >= h_->puts.load()) h_->done_word.WakeAll().IgnoreError();
  return absl::OkStatus();
}

absl::Status Core::Join(Deadline deadline) {
  for (;;) {
    const uint32_t seen = h_->done_word.value().load();
    if (h_->dones.load() >= h_->puts.load()) return absl::OkStatus();
    absl::Status s = h_->done_word.Wait(seen, wake_.Slice(deadline));
    if (h_->dones.load() >= h_->puts.load()) return absl::OkStatus();
    if (IsTimeout(s)) {
      if (deadline.Expired()) {
        return TimeoutError("JoinableQueue.Join: timed out");
      }
    } else if (!s.ok()) {
      return s;
    }
  }
}

// ---------------------------------------------------------------------------
// Checking.

absl::Status Core::CheckConsistency() {
  MP_RETURN_IF_ERROR(producer_.Lock(ThreadToken(), Deadline::Never()));
  absl::Status s = CheckConsistencyLocked(*h_, *arena_, segments_);
  producer_.Unlock();
  return s;
}

}  // namespace queue_internal
}  // namespace mp
