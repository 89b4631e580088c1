// AtomicPair: two 64-bit words that change together with one 16-byte
// compare-and-swap (cmpxchg16b), and whose halves can be read on their own
// with ordinary atomic loads. The queue's consumers claim an item by moving
// the pair (read position, items gotten) in one step, so a consumer killed
// at any instant has either taken an item or not, with nothing to repair.
//
// x86-64 only, which is what mp builds for (Linux and Windows). An arm64
// port would use CASP (LSE) or an LDXP/STXP loop here; nothing else
// changes.
#ifndef MP_QUEUE_INTERNAL_ATOMIC_PAIR_H_
#define MP_QUEUE_INTERNAL_ATOMIC_PAIR_H_

#include <cstdint>

#if !defined(__x86_64__)
#error "queue/internal/atomic_pair.h: needs a 16-byte CAS for this CPU"
#endif

namespace mp {
namespace queue_internal {

struct alignas(16) AtomicPair {
  uint64_t first;
  uint64_t second;

  uint64_t LoadFirst() const {
    return __atomic_load_n(&first, __ATOMIC_ACQUIRE);
  }
  uint64_t LoadSecond() const {
    return __atomic_load_n(&second, __ATOMIC_ACQUIRE);
  }

  // If the pair holds (*first0, *second0), replaces it with (first1,
  // second1) and returns true; otherwise loads what it holds into
  // (*first0, *second0) and returns false. A full barrier either way.
  bool CompareExchange(uint64_t* first0, uint64_t* second0, uint64_t first1,
                       uint64_t second1) {
    bool swapped;
    asm volatile("lock cmpxchg16b %1"
                 : "=@ccz"(swapped), "+m"(*this), "+a"(*first0), "+d"(*second0)
                 : "b"(first1), "c"(second1)
                 : "memory");
    return swapped;
  }
};
static_assert(sizeof(AtomicPair) == 16, "");

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_ATOMIC_PAIR_H_
