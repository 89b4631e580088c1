#include <sched.h>

#include <cstdio>
#include <cstdlib>

#include "tools/bench_util/internal/pin.h"

namespace mp {
namespace bench {
namespace internal {

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::perror("sched_setaffinity");
    std::exit(2);
  }
}

}  // namespace internal
}  // namespace bench
}  // namespace mp
