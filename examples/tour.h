// The tour: each section walks through one mp primitive with the small
// programs that usually introduce Python's multiprocessing (functions run
// in child processes, a producer and a consumer, a lock around a file, ...),
// written with mp, and prints what their Python versions print.
// examples/tour.cc runs the sections in order.

#ifndef MP_EXAMPLES_TOUR_H_
#define MP_EXAMPLES_TOUR_H_

namespace mp {
namespace tour {

// Prints a section heading.
void Heading(const char* title);

void TourBase();     // tour_base.cc: errors, timeouts, the codec
void TourProcess();  // tour_process.cc
void TourPipe();     // tour_pipe.cc
void TourLock();     // tour_lock.cc: Lock, Value, Array, ...
void TourQueue();    // tour_queue.cc

}  // namespace tour
}  // namespace mp

#endif  // MP_EXAMPLES_TOUR_H_
