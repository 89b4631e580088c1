#include "tools/bench_util/bench_util.h"

#include <cstdlib>
#include <cstring>

#include "tools/bench_util/internal/pin.h"

namespace mp {
namespace bench {
namespace {

const char* PinMode() {
  const char* p = std::getenv("BENCH_PIN");
  return (p != nullptr && *p != '\0') ? p : nullptr;
}

}  // namespace

std::string FigureName(const std::string& figure) {
  const char* mode = PinMode();
  return mode == nullptr ? figure : figure + "_pin" + mode;
}

void Pin(int party) {
  const char* mode = PinMode();
  if (mode == nullptr) return;
  int cpu = (std::strcmp(mode, "cross") == 0 && party % 2 == 1) ? 1 : 0;
  internal::PinToCpu(cpu);
}

}  // namespace bench
}  // namespace mp
