#include <windows.h>

#include "queue/internal/crash_point.h"

namespace mp {
namespace queue_internal {

void DieAbruptly() {
  // What Process::Kill does to a child: no unwinding, no atexit.
  TerminateProcess(GetCurrentProcess(), 9);
  for (;;) {
  }
}

}  // namespace queue_internal
}  // namespace mp
