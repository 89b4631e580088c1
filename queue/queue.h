// Queue, SimpleQueue and JoinableQueue: multi-producer, multi-consumer FIFO
// queues between processes, Python's multiprocessing.Queue, SimpleQueue and
// JoinableQueue.
//
// Items are any type the codec (base/codec.h) can encode, of any size: a
// 64-byte struct and a 64 MiB string can follow each other in one queue.
// Items from one producer arrive in the order it put them. A queue is
// shared with child processes by passing it as a Process argument, under
// fork and spawn alike; copies of a Queue object in one process share one
// mapping, and every method may be called from several threads at once.
//
//   Python                               mp
//   -----------------------------------  -----------------------------------
//   Queue(maxsize)                       Queue<T>::Create(maxsize)
//   q.put(obj) / put(obj, timeout=t)     q.Put(item) / Put(item, t)
//   q.put(obj, False), put_nowait(obj)   q.PutNowait(item)
//   q.get() / get(timeout=t)             q.Get() / Get(t)
//   q.get(False), get_nowait()           q.GetNowait()
//   queue.Full / queue.Empty             mp::IsFull(s) / mp::IsEmpty(s)
//   q.qsize(), q.empty(), q.full()       q.Qsize(), q.Empty(), q.Full()
//   q.close()                            q.Close()
//   q.join_thread(), cancel_join_thread  (none: no feeder thread, see below)
//   SimpleQueue(): put, get, empty, close
//                                        SimpleQueue<T>::Create(): Put, Get,
//                                        Empty, Close
//   JoinableQueue(maxsize): task_done(), join()
//                                        JoinableQueue<T>::Create(maxsize):
//                                        TaskDone(), Join()
//
// Where Python differs:
//   - Put returns only once the item is in shared memory. Python hands it to
//     a per-process feeder thread that pickles and writes it later, so
//     pickling errors are lost in that thread and a process that exits with
//     items still buffered blocks in join_thread() (or, after
//     cancel_join_thread(), loses them). mp has no feeder thread, hence no
//     join_thread / cancel_join_thread: what Put accepted is in the queue,
//     an item that cannot be encoded fails in Put with the codec's status,
//     and a process may exit (or be killed) right after a Put without
//     losing or blocking anything.
//   - Qsize() is exact on every platform (Python's raises
//     NotImplementedError on macOS); Empty() and Full() are exact too. In a
//     queue other processes are using, any of them may be stale the moment
//     it returns, as in Python.
//   - An unbounded queue never blocks a Put (Python's neither); it grows in
//     shared memory as far as the system's memory allows, and running out is
//     a kResourceExhausted status from Put, not a crash. The memory of
//     items already gotten is reused; what exceeds 16 MiB per size class is
//     given back to the system (Linux) the next time a producer needs
//     fresh space. On Windows a queue keeps what it once used until its
//     last process closes it, and holds at most 16 GiB at a time (its
//     memory is one section, reserved at creation).
//   - A queue handle decoded in a spawned child is checked against the
//     child's type: a Queue<int> received as a Queue<std::string> (or a
//     JoinableQueue as a Queue) is a decode error, not garbage.
//   - Consumers take no lock: a Get claims an item with one atomic step, so
//     GetNowait() finds any item that is there (Python's get_nowait can
//     raise Empty while another process holds the reader lock). Items of
//     64 KiB or more are copied out by one consumer at a time, and a
//     GetNowait() that meets one being copied returns Empty. Producers
//     share a lock: a Put may wait for another producer's copy into the
//     queue to finish, up to its timeout; PutNowait() waits for it, as
//     Python's put_nowait waits for its queue's lock. On Linux a thread that
//     puts many items in a row, with no other producer in between, stops taking
//     the lock (its process registers for membarrier(2)) until another
//     producer comes, which then waits for its current Put to finish.
//   - Close() marks the queue closed in this process (copies included): a
//     Put or Get afterwards returns mp::ClosedError() (Python:
//     ValueError("Queue ... is closed")). Other processes are unaffected. A
//     forked child starts with the queue open, as in Python.
//
// Crash safety: a producer or consumer killed at any moment (SIGKILL in the
// middle of a Put or Get) leaves the queue usable by everyone else; every
// item whose Put returned OK is delivered, except the one a killed consumer
// had already removed; nobody waits for the dead process. The queue's
// memory is anonymous and is freed by the system with the last process
// that has the queue, so a crash leaves nothing behind (queue/internal/
// core.h has the details).
//
// Blocking calls take an absl::Duration: InfiniteDuration() blocks forever
// (Python's default), ZeroDuration() does not block, anything else blocks at
// most that long; Full and Empty come after at least the timeout.
//
// Example (a child puts, the parent gets):
//
//   absl::StatusOr<mp::Queue<std::vector<int>>> q =
//       mp::Queue<std::vector<int>>::Create();
//   // ... start a Process with *q as an argument; in the child:
//   //       q.Put({1, 2, 3});
//   absl::StatusOr<std::vector<int>> item = q->Get(absl::Seconds(5));
//   if (mp::IsEmpty(item.status())) { ... nothing within 5 s ... }
//
// JoinableQueue (producers that wait until every item is processed, and
// consumers that mark each item done):
//
//   auto q = mp::JoinableQueue<std::string>::Create(5);
//   // consumers, in their own processes:
//   //   for (;;) { auto s = q.Get(); ...use *s...; q.TaskDone(); }
//   q->Put("$$0");
//   q->Join();  // returns when every item put has been marked done
#ifndef MP_QUEUE_QUEUE_H_
#define MP_QUEUE_QUEUE_H_

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

namespace queue_internal {

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

// What the three queue types share.
template <typename T, Kind kKind>
class BasicQueue {
  friend struct QueueTestPeer;

 public:
  static_assert(std::is_default_constructible_v<T>,
                "queue items must be default-constructible (the codec "
                "decodes into a default-constructed T)");

 protected:
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

// Python's multiprocessing.Queue.
template <typename T>
class Queue
    : public queue_internal::BasicQueue<T, queue_internal::Kind::kQueue> {
  using Base = queue_internal::BasicQueue<T, queue_internal::Kind::kQueue>;

 public:
  // A queue that holds at most `maxsize` items, or any number if `maxsize`
  // <= 0 (Python's default 0).
  static absl::StatusOr<Queue> Create(int64_t maxsize = 0) {
    auto state = Base::NewState(maxsize);
    if (!state.ok()) return state.status();
    return Queue(*std::move(state));
  }

  // No queue: every call fails until one is assigned (what Decode fills).
  Queue() = default;

  // Appends `item`. Waits up to `timeout` for room in a full bounded queue
  // and for another producer's put to finish, then returns mp::FullError().
  // PutNowait() does not wait for room.
  absl::Status Put(const T& item,
                   absl::Duration timeout = absl::InfiniteDuration()) {
    return this->DoPut(item, timeout, "Queue.Put");
  }
  absl::Status PutNowait(const T& item) {
    return Put(item, absl::ZeroDuration());
  }

  // Removes and returns the oldest item, waiting up to `timeout` for one,
  // then returns mp::EmptyError().
  absl::StatusOr<T> Get(absl::Duration timeout = absl::InfiniteDuration()) {
    return this->DoGet(timeout, "Queue.Get");
  }
  absl::StatusOr<T> GetNowait() { return Get(absl::ZeroDuration()); }

  // The number of items in the queue, exactly.
  int64_t Qsize() const { return this->DoQsize(); }
  bool Empty() const { return this->DoEmpty(); }
  bool Full() const { return this->DoFull(); }
  // 0 for an unbounded queue.
  int64_t maxsize() const { return this->DoMaxsize(); }

  // No more Put or Get through this queue in this process.
  absl::Status Close() { return this->DoClose(); }

  friend void MpEncode(Encoder& e, const Queue& q) { q.Encode(e); }
  friend absl::Status MpDecode(Decoder& d, Queue& q) { return q.Decode(d); }

 private:
  explicit Queue(std::shared_ptr<typename Base::State> state)
      : Base(std::move(state)) {}
};

// Python's multiprocessing.SimpleQueue: unbounded, with only Put, Get,
// Empty and Close.
template <typename T>
class SimpleQueue
    : public queue_internal::BasicQueue<T, queue_internal::Kind::kSimpleQueue> {
  using Base =
      queue_internal::BasicQueue<T, queue_internal::Kind::kSimpleQueue>;

 public:
  static absl::StatusOr<SimpleQueue> Create() {
    auto state = Base::NewState(0);
    if (!state.ok()) return state.status();
    return SimpleQueue(*std::move(state));
  }

  SimpleQueue() = default;

  absl::Status Put(const T& item) {
    return this->DoPut(item, absl::InfiniteDuration(), "SimpleQueue.Put");
  }
  // Blocks until an item is there.
  absl::StatusOr<T> Get() {
    return this->DoGet(absl::InfiniteDuration(), "SimpleQueue.Get");
  }
  bool Empty() const { return this->DoEmpty(); }
  absl::Status Close() { return this->DoClose(); }

  friend void MpEncode(Encoder& e, const SimpleQueue& q) { q.Encode(e); }
  friend absl::Status MpDecode(Decoder& d, SimpleQueue& q) {
    return q.Decode(d);
  }

 private:
  explicit SimpleQueue(std::shared_ptr<typename Base::State> state)
      : Base(std::move(state)) {}
};

// Python's multiprocessing.JoinableQueue: a Queue whose consumers call
// TaskDone() once per item they finished, and whose Join() waits until
// every item put so far is done. An item whose consumer was killed before
// its TaskDone() is never done, so Join() then waits for good, as in
// Python: give it a timeout where consumers may die.
template <typename T>
class JoinableQueue
    : public queue_internal::BasicQueue<T,
                                        queue_internal::Kind::kJoinableQueue> {
  using Base =
      queue_internal::BasicQueue<T, queue_internal::Kind::kJoinableQueue>;

 public:
  static absl::StatusOr<JoinableQueue> Create(int64_t maxsize = 0) {
    auto state = Base::NewState(maxsize);
    if (!state.ok()) return state.status();
    return JoinableQueue(*std::move(state));
  }

  JoinableQueue() = default;

  absl::Status Put(const T& item,
                   absl::Duration timeout = absl::InfiniteDuration()) {
    return this->DoPut(item, timeout, "JoinableQueue.Put");
  }
  absl::Status PutNowait(const T& item) {
    return Put(item, absl::ZeroDuration());
  }
  absl::StatusOr<T> Get(absl::Duration timeout = absl::InfiniteDuration()) {
    return this->DoGet(timeout, "JoinableQueue.Get");
  }
  absl::StatusOr<T> GetNowait() { return Get(absl::ZeroDuration()); }
  int64_t Qsize() const { return this->DoQsize(); }
  bool Empty() const { return this->DoEmpty(); }
  bool Full() const { return this->DoFull(); }
  int64_t maxsize() const { return this->DoMaxsize(); }
  absl::Status Close() { return this->DoClose(); }

  // Marks one item gotten from the queue as finished. More calls than
  // items put: kFailedPrecondition ("task_done() called too many times").
  // As in Python, allowed after Close() (a consumer may close its end and
  // still mark what it got as done).
  absl::Status TaskDone() {
    if (this->state_ == nullptr) {
      return queue_internal::NotCreatedError("JoinableQueue.TaskDone");
    }
    return this->state_->core->TaskDone();
  }

  // Waits until every item put so far (by any process) was marked done, or
  // `timeout` passes (then mp::TimeoutError()). Python's join() has no
  // timeout: the default waits forever.
  absl::Status Join(absl::Duration timeout = absl::InfiniteDuration()) {
    if (this->state_ == nullptr) {
      return queue_internal::NotCreatedError("JoinableQueue.Join");
    }
    return this->state_->core->Join(queue_internal::DeadlineAfter(timeout));
  }

  friend void MpEncode(Encoder& e, const JoinableQueue& q) { q.Encode(e); }
  friend absl::Status MpDecode(Decoder& d, JoinableQueue& q) {
    return q.Decode(d);
  }

 private:
  explicit JoinableQueue(std::shared_ptr<typename Base::State> state)
      : Base(std::move(state)) {}
};

}  // namespace mp

#endif  // MP_QUEUE_QUEUE_H_
