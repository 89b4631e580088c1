#ifndef MP_TOOLS_BENCH_UTIL_INTERNAL_PIN_H_
#define MP_TOOLS_BENCH_UTIL_INTERNAL_PIN_H_

namespace mp {
namespace bench {
namespace internal {

// Restricts the calling process to `cpu`; exits with status 2 on failure.
void PinToCpu(int cpu);

}  // namespace internal
}  // namespace bench
}  // namespace mp

#endif  // MP_TOOLS_BENCH_UTIL_INTERNAL_PIN_H_
