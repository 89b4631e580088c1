// CurrentCpu() on Windows: the processor number within the thread's
// processor group.
#include <windows.h>

#include "queue/internal/spin.h"

namespace mp {
namespace queue_internal {

int CurrentCpu() { return static_cast<int>(GetCurrentProcessorNumber()); }

}  // namespace queue_internal
}  // namespace mp
