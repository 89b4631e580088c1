#include "queue/internal/crash_point.h"

#include <atomic>

namespace mp {
namespace queue_internal {
namespace {

std::atomic<CrashPoint> armed{CrashPoint::kNone};
std::atomic<int> countdown{0};

}  // namespace

void ArmCrashPoint(CrashPoint point, int skip) {
  countdown.store(skip);
  armed.store(point);
}

void MaybeCrash(CrashPoint point) {
  if (armed.load(std::memory_order_relaxed) != point) return;
  if (countdown.fetch_sub(1) == 0) DieAbruptly();
}

}  // namespace queue_internal
}  // namespace mp
