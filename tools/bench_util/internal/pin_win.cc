#include <windows.h>

#include <cstdio>
#include <cstdlib>

#include "tools/bench_util/internal/pin.h"

namespace mp {
namespace bench {
namespace internal {

void PinToCpu(int cpu) {
  if (!SetProcessAffinityMask(GetCurrentProcess(), DWORD_PTR{1} << cpu)) {
    std::fprintf(stderr, "SetProcessAffinityMask failed: %lu\n",
                 GetLastError());
    std::exit(2);
  }
}

}  // namespace internal
}  // namespace bench
}  // namespace mp
