// Tour section: the base layer every primitive stands on.
#include <cstdio>
#include <string>

#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/status.h"
#include "examples/tour.h"

namespace mp {
namespace tour {

void TourBase() {
  Heading("base: Python's exceptions become statuses");
  const absl::Status examples[] = {
      FullError("Queue.Put: queue is full"),
      EmptyError("Queue.Get: queue is empty"),
      EofError("Connection.Recv: peer closed"),
      TimeoutError("Process.Join: timed out"),
      BrokenBarrierError(),
      OwnerDiedError(),
  };
  for (const absl::Status& s : examples) {
    std::printf("  %-20s -> %s\n", std::string(PythonName(KindOf(s))).c_str(),
                s.ToString().c_str());
  }

  Heading("base: timeouts on the monotonic clock");
  Deadline d = Deadline::After(absl::Milliseconds(50));
  while (!d.Expired()) {
  }
  std::printf("  a 50 ms deadline has passed: %s; forever never does: %s\n",
              d.Expired() ? "yes" : "no",
              Deadline::Never().Expired() ? "yes" : "no");
}

}  // namespace tour
}  // namespace mp
