// What Queue, SimpleQueue and JoinableQueue share (queue/queue.h, which
// includes this file at its end): the handle's per-process state, the
// encode paths that skip the encode buffer, and the checks every call makes
// first. Not for direct use.
#ifndef MP_QUEUE_INTERNAL_BASIC_QUEUE_H_
#define MP_QUEUE_INTERNAL_BASIC_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/deadline.h"
#include "base/handle.h"
#include "base/status.h"
#include "queue/internal/core.h"
#include "queue/internal/layout.h"

namespace mp {

template <typename T>
class Queue;
template <typename T>
class SimpleQueue;
template <typename T>
class JoinableQueue;

namespace queue_internal {

// The kind each public type writes into its queue's header, and checks
// when it maps a queue it received.
template <typename Q>
struct KindOf;
template <typename T>
struct KindOf<Queue<T>> : std::integral_constant<Kind, Kind::kQueue> {};
template <typename T>
struct KindOf<SimpleQueue<T>>
    : std::integral_constant<Kind, Kind::kSimpleQueue> {};
template <typename T>
struct KindOf<JoinableQueue<T>>
    : std::integral_constant<Kind, Kind::kJoinableQueue> {};

// A per-thread buffer that items are encoded into before they are copied
// into the queue (emptied, its capacity kept unless it grew very large).
std::string& EncodeBuffer();
void DoneWithEncodeBuffer(std::string& buffer);

// Identifies T so a child that decodes a queue handle as the wrong
// Queue<U> gets an error instead of garbage.
uint64_t HashTypeName(const char* name);
template <typename T>
uint64_t TypeHash() {
  static const uint64_t hash = HashTypeName(typeid(T).name());
  return hash;
}

// Counts forks (POSIX), so a queue closed before a fork is open in the
// child, as in Python. The counting starts with the first queue made or
// received in this process (before which none can be closed).
extern std::atomic<uint64_t> fork_generation;
inline uint64_t ForkGeneration() {
  return fork_generation.load(std::memory_order_relaxed);
}
void CountForks();

absl::Status NotCreatedError(absl::string_view what);

// Deadline::After, without a call for the common "block forever".
inline Deadline DeadlineAfter(absl::Duration timeout) {
  return timeout == absl::InfiniteDuration() ? Deadline::Never()
                                             : Deadline::After(timeout);
}

// Types whose wire format is their object representation skip the encode
// buffer: their bytes go into the queue as they are.
template <typename T>
inline constexpr bool kCopiedBitwise = base_internal::Codec<T>::kBitwise;

// Types encoded as a count and then their elements' bytes in one block
// (strings, and vectors of bitwise elements): they go into the queue as
// those two pieces, without an encode buffer in between.
template <typename T>
struct RawElements : std::false_type {};
template <typename C, typename Tr, typename A>
struct RawElements<std::basic_string<C, Tr, A>> : std::true_type {};
template <typename E, typename A>
struct RawElements<std::vector<E, A>>
    : std::bool_constant<base_internal::Codec<E>::kBitwise &&
                         !std::is_same_v<E, bool>> {};
absl::Status ClosedQueueError(absl::string_view what);
absl::Status EncodeItemError(const absl::Status& codec);
absl::Status DecodeItemError(const absl::Status& codec);

// Tests reach a queue's Core through this (they define it).
struct QueueTestPeer;

// The base of each public type Q, whose items are T.
template <typename T, typename Q>
class BasicQueue {
  friend struct QueueTestPeer;

 public:
  static_assert(std::is_default_constructible_v<T>,
                "queue items must be default-constructible (the codec "
                "decodes into a default-constructed T)");

 protected:
  static constexpr Kind kKind = KindOf<Q>::value;

  struct State {
    explicit State(std::shared_ptr<Core> c) : core(std::move(c)) {}
    std::shared_ptr<Core> core;
    // ForkGeneration() + 1 when closed in that generation, else 0.
    std::atomic<uint64_t> closed{0};
  };

  BasicQueue() = default;
  explicit BasicQueue(std::shared_ptr<State> state)
      : state_(std::move(state)) {}

  static absl::StatusOr<std::shared_ptr<State>> NewState(int64_t maxsize) {
    CountForks();
    absl::StatusOr<std::shared_ptr<Core>> core =
        Core::Create(kKind, maxsize, TypeHash<T>());
    if (!core.ok()) return core.status();
    return std::make_shared<State>(*std::move(core));
  }

  absl::Status Check(absl::string_view what) const {
    if (state_ == nullptr) return NotCreatedError(what);
    if (state_->closed.load(std::memory_order_relaxed) ==
        ForkGeneration() + 1) {
      return ClosedQueueError(what);
    }
    return absl::OkStatus();
  }

  absl::Status DoPut(const T& item, absl::Duration timeout,
                     absl::string_view what) {
    absl::Status s = Check(what);
    if (!s.ok()) return s;
    if constexpr (kCopiedBitwise<T>) {
      return state_->core->Put(
          absl::string_view(reinterpret_cast<const char*>(&item), sizeof(T)),
          DeadlineAfter(timeout));
    } else if constexpr (RawElements<T>::value) {
      std::string count;
      Encoder e(&count);
      base_internal::Wire::PutVarint(e, item.size());
      const absl::string_view pieces[2] = {
          count, absl::string_view(reinterpret_cast<const char*>(item.data()),
                                   item.size() * sizeof(item[0]))};
      return state_->core->Put(pieces, DeadlineAfter(timeout));
    }
    std::string& buffer = EncodeBuffer();
    s = EncodeTo(item, &buffer, nullptr);
    if (s.ok()) {
      s = state_->core->Put(buffer, DeadlineAfter(timeout));
    } else {
      s = EncodeItemError(s);
    }
    DoneWithEncodeBuffer(buffer);
    return s;
  }

  absl::StatusOr<T> DoGet(absl::Duration timeout, absl::string_view what) {
    absl::Status s = Check(what);
    if (!s.ok()) return s;
    T item{};
    s = state_->core->Get(
        DeadlineAfter(timeout), [&item](absl::string_view bytes) {
          if constexpr (kCopiedBitwise<T>) {
            if (bytes.size() != sizeof(T)) {
              return DecodeItemError(DecodeError("wrong size"));
            }
            std::memcpy(static_cast<void*>(&item), bytes.data(), sizeof(T));
            return absl::OkStatus();
          } else {
            absl::Status d = DecodeTo(bytes, &item, nullptr);
            return d.ok() ? d : DecodeItemError(d);
          }
        });
    if (!s.ok()) return s;
    return item;
  }

  bool DoEmpty() const { return state_ == nullptr || state_->core->Empty(); }
  int64_t DoQsize() const {
    return state_ == nullptr ? 0 : static_cast<int64_t>(state_->core->Qsize());
  }
  bool DoFull() const { return state_ != nullptr && state_->core->Full(); }
  int64_t DoMaxsize() const {
    return state_ == nullptr ? 0 : state_->core->maxsize();
  }

  absl::Status DoTaskDone(absl::string_view what) {
    if (state_ == nullptr) return NotCreatedError(what);
    return state_->core->TaskDone();
  }
  absl::Status DoJoin(absl::Duration timeout, absl::string_view what) {
    if (state_ == nullptr) return NotCreatedError(what);
    return state_->core->Join(DeadlineAfter(timeout));
  }

  absl::Status DoClose() {
    if (state_ == nullptr) return absl::OkStatus();
    state_->closed.store(ForkGeneration() + 1);
    return absl::OkStatus();
  }

  // A queue travels as its arena's handle; the receiver maps the same
  // memory. Under fork nothing is encoded: the child has the mapping.
  void Encode(Encoder& e) const {
    if (state_ == nullptr) {
      e.Fail(NotCreatedError("Queue: a queue that was not created"));
      return;
    }
    e.AddHandle(state_->core->handle()).IgnoreError();  // kept in `e`
  }
  absl::Status Decode(Decoder& d) {
    CountForks();
    absl::StatusOr<OwnedHandle> handle = d.TakeHandle();
    if (!handle.ok()) return handle.status();
    absl::StatusOr<std::shared_ptr<Core>> core =
        Core::Open(*std::move(handle), kKind, TypeHash<T>());
    if (!core.ok()) return DecodeError(core.status().message());
    state_ = std::make_shared<State>(*std::move(core));
    return absl::OkStatus();
  }

  std::shared_ptr<State> state_;
};

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_BASIC_QUEUE_H_
