// CpuRelax(): one spin-wait hint to the CPU, for mp's busy-waits (a lock's
// or a queue's short spin before sleeping in the kernel). It lets the
// sibling hyperthread run and saves power while the other side finishes.
#ifndef MP_BASE_INTERNAL_CPU_RELAX_H_
#define MP_BASE_INTERNAL_CPU_RELAX_H_

namespace mp {
namespace base_internal {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace base_internal
}  // namespace mp

#endif  // MP_BASE_INTERNAL_CPU_RELAX_H_
