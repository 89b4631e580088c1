// Queue, SimpleQueue and JoinableQueue: multi-producer, multi-consumer FIFO
// queues between processes, Python's multiprocessing.Queue, SimpleQueue and
// JoinableQueue. The README's table gives the C++ name of each Python one.
//
// Items are any type the codec (base/codec.h) can encode, of any size: a
// 64-byte struct and a 64 MiB string can follow each other in one queue.
// Items from one producer arrive in the order it put them. A queue is
// shared with child processes by passing it as a Process argument, under
// fork and spawn alike; copies of a Queue object in one process share one
// mapping, and every method may be called from several threads at once.
// There is no feeder thread: Put returns once the item is in shared memory
// (see Put), so there is no join_thread() or cancel_join_thread().
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

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/status.h"

namespace mp {

namespace queue_internal {
// The base of each queue type Q with items T (queue/internal/basic_queue.h,
// included at the end of this file).
template <typename T, typename Q>
class BasicQueue;
}  // namespace queue_internal

// Python's multiprocessing.Queue.
template <typename T>
class Queue : public queue_internal::BasicQueue<T, Queue<T>> {
  using Base = queue_internal::BasicQueue<T, Queue<T>>;

 public:
  // A queue that holds at most `maxsize` items, or any number if `maxsize`
  // <= 0 (Python's default 0).
  //
  // An unbounded queue never blocks a Put (Python's neither); it grows in
  // shared memory as far as the system's memory allows, and running out is
  // a kResourceExhausted status from Put, not a crash. The memory of items
  // already gotten is reused; what exceeds 16 MiB per size class is given
  // back to the system (Linux) the next time a producer needs fresh space.
  // On Windows a queue keeps what it once used until its last process
  // closes it, and holds at most 16 GiB at a time (its memory is one
  // section, reserved at creation).
  static absl::StatusOr<Queue> Create(int64_t maxsize = 0) {
    auto state = Base::NewState(maxsize);
    if (!state.ok()) return state.status();
    return Queue(*std::move(state));
  }

  // No queue: every call fails until one is assigned (what Decode fills).
  Queue() = default;

  // Appends `item`. Waits up to `timeout` for room in a full bounded queue
  // and for another producer's put to finish, then returns mp::FullError().
  //
  // Returns only once the item is in shared memory. Python hands it to a
  // per-process feeder thread that pickles and writes it later, so
  // pickling errors are lost in that thread and a process that exits with
  // items still buffered blocks in join_thread() (or, after
  // cancel_join_thread(), loses them). Here an item that cannot be encoded
  // fails in Put with the codec's status, and a process may exit (or be
  // killed) right after a Put without losing or blocking anything.
  //
  // Producers share a lock: a Put may wait for another producer's copy
  // into the queue to finish, up to its timeout. On Linux a thread that
  // puts many items in a row, with no other producer in between, stops
  // taking the lock (its process registers for membarrier(2)) until
  // another producer comes, which then waits for its current Put to finish.
  absl::Status Put(const T& item,
                   absl::Duration timeout = absl::InfiniteDuration()) {
    return this->DoPut(item, timeout, "Queue.Put");
  }
  // Does not wait for room, but waits for another producer's copy into the
  // queue to finish, as Python's put_nowait waits for its queue's lock.
  absl::Status PutNowait(const T& item) {
    return Put(item, absl::ZeroDuration());
  }

  // Removes and returns the oldest item, waiting up to `timeout` for one,
  // then returns mp::EmptyError().
  //
  // Consumers take no lock: a Get claims an item with one atomic step, so
  // GetNowait() finds any item that is there (Python's get_nowait can raise
  // Empty while another process holds the reader lock). Items of 64 KiB or
  // more are copied out by one consumer at a time, and a GetNowait() that
  // meets one being copied returns Empty.
  absl::StatusOr<T> Get(absl::Duration timeout = absl::InfiniteDuration()) {
    return this->DoGet(timeout, "Queue.Get");
  }
  absl::StatusOr<T> GetNowait() { return Get(absl::ZeroDuration()); }

  // The number of items in the queue, exactly, on every platform (Python's
  // raises NotImplementedError on macOS); Empty() and Full() are exact too.
  // In a queue other processes are using, any of them may be stale the
  // moment it returns, as in Python.
  int64_t Qsize() const { return this->DoQsize(); }
  bool Empty() const { return this->DoEmpty(); }
  bool Full() const { return this->DoFull(); }
  // 0 for an unbounded queue.
  int64_t maxsize() const { return this->DoMaxsize(); }

  // No more Put or Get through this queue in this process (copies
  // included): a Put or Get afterwards returns mp::ClosedError() (Python:
  // ValueError("Queue ... is closed")). Other processes are unaffected. A
  // forked child starts with the queue open, as in Python. Closing twice is
  // OK.
  absl::Status Close() { return this->DoClose(); }

  friend void MpEncode(Encoder& e, const Queue& q) { q.Encode(e); }
  // A queue handle decoded in a spawned child is checked against the
  // child's type: a Queue<int> received as a Queue<std::string> (or a
  // JoinableQueue as a Queue) is a decode error, not garbage.
  friend absl::Status MpDecode(Decoder& d, Queue& q) { return q.Decode(d); }

 private:
  explicit Queue(std::shared_ptr<typename Base::State> state)
      : Base(std::move(state)) {}
};

// Python's multiprocessing.SimpleQueue: unbounded, with only Put, Get,
// Empty and Close, each as Queue's.
template <typename T>
class SimpleQueue : public queue_internal::BasicQueue<T, SimpleQueue<T>> {
  using Base = queue_internal::BasicQueue<T, SimpleQueue<T>>;

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
// every item put so far is done. The methods it shares with Queue behave
// as Queue's.
template <typename T>
class JoinableQueue : public queue_internal::BasicQueue<T, JoinableQueue<T>> {
  using Base = queue_internal::BasicQueue<T, JoinableQueue<T>>;

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
  absl::Status TaskDone() { return this->DoTaskDone("JoinableQueue.TaskDone"); }

  // Waits until every item put so far (by any process) was marked done, or
  // `timeout` passes (then mp::TimeoutError()). Python's join() has no
  // timeout: the default waits forever. An item whose consumer was killed
  // before its TaskDone() is never done, so Join() then waits for good, as
  // in Python: give it a timeout where consumers may die.
  absl::Status Join(absl::Duration timeout = absl::InfiniteDuration()) {
    return this->DoJoin(timeout, "JoinableQueue.Join");
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

#include "queue/internal/basic_queue.h"

#endif  // MP_QUEUE_QUEUE_H_
