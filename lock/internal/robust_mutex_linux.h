// RobustMutex on Linux: the per-thread state and the inline fast paths
// (included by robust_mutex.h). The slow paths are in robust_mutex_linux.cc.
#ifndef MP_LOCK_INTERNAL_ROBUST_MUTEX_LINUX_H_
#define MP_LOCK_INTERNAL_ROBUST_MUTEX_LINUX_H_

#include <linux/futex.h>

#include <atomic>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "base/deadline.h"
#include "lock/internal/robust_mutex.h"

namespace mp {
namespace lock_internal {

// The kernel's struct robust_list_head.
struct RobustHead {
  void* list;
  long futex_offset;
  void* list_op_pending;
};

struct ThreadState {
  uint32_t tid;  // 0 until initialised (and again in a forked child)
  // Unique among live threads: the TID in the high half, random bits below,
  // bit 0 clear (it is kParked in RobustMutex::node_token_).
  uint64_t token;
  RobustHead* head;  // nullptr: no usable list, holds are unprotected
};

// `__thread`, not `thread_local`: a POD needs no initialisation guard, so
// every access is one load at a fixed offset from the thread pointer.
extern __thread ThreadState tls_state
    __attribute__((tls_model("initial-exec")));

void InitThreadState();

inline ThreadState& Self() {
  if (ABSL_PREDICT_FALSE(tls_state.tid == 0)) InitThreadState();
  return tls_state;
}

// In RobustMutex::node_token_: the entry is on the named thread's list, but
// that thread does not hold the mutex.
inline constexpr uint64_t kParked = 1;

// The prev / next slots of the entry `entry` points to (its low bit marks a
// PI entry).
inline void** PrevSlot(void* entry) {
  return reinterpret_cast<void**>(reinterpret_cast<uintptr_t>(entry) &
                                  ~uintptr_t{1}) -
         1;
}
inline void** NextSlot(void* entry) {
  return reinterpret_cast<void**>(reinterpret_cast<uintptr_t>(entry) &
                                  ~uintptr_t{1});
}

// list_op_pending is read by the kernel only when this very thread exits,
// so program order is all it needs: compiler fences, not CPU fences.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status RobustMutex::Lock(
    Deadline deadline) {
  ThreadState& t = Self();
  RobustHead* const head = t.head;
  const uint32_t tid = t.tid;
  if (head != nullptr) {
    head->list_op_pending = &next_;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  uint32_t seen = 0;
  if (ABSL_PREDICT_FALSE(!word_.compare_exchange_strong(
          seen, tid, std::memory_order_acquire, std::memory_order_relaxed))) {
    return LockSlow(seen, deadline);
  }
  // list_op_pending stays on this mutex while we hold it: the kernel marks
  // a pending entry only if its word names the dying thread, so a stale one
  // is harmless, the memory stays mapped while we hold it
  // (PinnedInThisProcess), and the release sets and clears it anyway.
  if (head != nullptr) Protect(t);
  return absl::OkStatus();
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void RobustMutex::Protect(
    const ThreadState& t) {
  const uint64_t token = node_token_.load(std::memory_order_acquire);
  if (ABSL_PREDICT_TRUE(token == 0)) {
    Link(t);
  } else if (ABSL_PREDICT_FALSE(token != t.token)) {
    ProtectStale(t, token);
  }
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void RobustMutex::Link(
    const ThreadState& t) {
  // glibc's ENQUEUE_MUTEX: in at the front. prev_ is left alone: at the
  // front it means the head, and whoever gets in front of this entry (glibc
  // or Link) writes it, so ReleaseMine() reads it only when not at the front.
  RobustHead* head = t.head;
  void* first = head->list;
  *PrevSlot(first) = &next_;
  next_ = first;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  head->list = &next_;
  node_token_.store(t.token, std::memory_order_relaxed);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool RobustMutex::ReleaseMine(
    uint32_t new_value, uint32_t* seen) {
  const ThreadState& t = Self();
  RobustHead* const head = t.head;
  if (head != nullptr) {
    head->list_op_pending = &next_;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if ((node_token_.load(std::memory_order_relaxed) & ~kParked) == t.token) {
      // glibc's DEQUEUE_MUTEX. prev_/next_ keep stale values: a zero token
      // says the entry is on no list.
      void* next = next_;
      void* prev = head->list == &next_ ? static_cast<void*>(head) : prev_;
      *PrevSlot(next) = prev;
      *NextSlot(prev) = next;
      std::atomic_signal_fence(std::memory_order_seq_cst);
      // Publishes the entry as free only after this thread is done with it.
      node_token_.store(0, std::memory_order_release);
    }
  }
  uint32_t w = t.tid;
  if (ABSL_PREDICT_FALSE(!word_.compare_exchange_strong(
          w, new_value, std::memory_order_release,
          std::memory_order_relaxed))) {
    *seen = w;
    return ReleaseContended(new_value, seen);
  }
  if (head != nullptr) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    head->list_op_pending = nullptr;
  }
  return true;
}

// No check that the calling thread holds the mutex before ReleaseMine():
// taking the entry off this thread's own list is right whoever holds the
// mutex (an entry of ours is ours to unlink, parked or not), and the
// compare-and-swap only releases this thread's hold.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status RobustMutex::Release() {
  uint32_t w;
  if (ABSL_PREDICT_TRUE(ReleaseMine(0, &w))) return absl::OkStatus();
  return ReleaseOther(w);
}

inline bool RobustMutex::HeldByMe() const {
  return (word_.load(std::memory_order_relaxed) & FUTEX_TID_MASK) == Self().tid;
}

inline bool RobustMutex::HeldByMeProtected() const {
  const ThreadState& t = Self();
  return (word_.load(std::memory_order_relaxed) & FUTEX_TID_MASK) == t.tid &&
         t.head != nullptr &&
         node_token_.load(std::memory_order_relaxed) == t.token;
}

inline absl::Status RobustMutex::Unlock(bool owner_died) {
  uint32_t w;
  if (ABSL_PREDICT_TRUE(ReleaseMine(owner_died ? FUTEX_OWNER_DIED : 0, &w))) {
    return absl::OkStatus();
  }
  return NotHeld();
}

}  // namespace lock_internal
}  // namespace mp

#endif  // MP_LOCK_INTERNAL_ROBUST_MUTEX_LINUX_H_
