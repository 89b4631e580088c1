// Crash points: places in the queue's protocol where a test can make the
// calling process die (SIGKILL on POSIX, TerminateProcess on Windows), to
// check that whoever takes the lock next repairs what it left. Compiled in
// only for tests (the :queue_crash_points target defines
// MP_QUEUE_CRASH_POINTS); in the real library the macro is empty.
#ifndef MP_QUEUE_INTERNAL_CRASH_POINT_H_
#define MP_QUEUE_INTERNAL_CRASH_POINT_H_

namespace mp {
namespace queue_internal {

enum class CrashPoint {
  kNone,
  // Producer, in the order a Put passes them.
  kPutLocked,         // holding the producer lock or bias, nothing changed yet
  kReclaimPushed,     // a reclaimed segment pushed, chain_start not moved
  kAllocPopped,       // a free segment popped, not linked
  kAllocPending,      // a new segment recorded as pending, not backed
  kAllocInitialized,  // a new segment initialised, the top not moved
  kAllocBumped,       // the top moved past a new segment, not linked
  kLinked,            // segment.next set, no END record yet
  kEndWritten,        // END record written, ppos not moved
  kMoved,             // ppos in the new segment, pending not cleared
  kPayloadCopied,     // the item's bytes written, not stamped
  kStamped,           // the record stamped, not committed
  kCommitted,         // puts incremented, put_word not updated
  kWordUpdated,       // put_word updated, ppos not moved
  kPutDone,           // ppos moved, the lock still held
  kRevoking,          // a revoker stored kRevoking, no barrier yet
  kHolderFoundDead,   // a revoker found the holder dead, holds bias_alive
  kRevoked,           // a revoker cleared the bias, nothing repaired yet
  kBiasAliveTaken,    // a producer earning the bias holds bias_alive
  kBiasGiven,         // the bias given, the producer lock still held
  // Consumer, in the order a Get passes them.
  kFollowedEnd,  // the read position moved to the next segment
  kTaken,        // the item copied out, not claimed
  kClaimed,      // the item claimed (the read position moved past it)
};

// The `skip`+1-th time this process reaches `point`, it dies.
void ArmCrashPoint(CrashPoint point, int skip = 0);

// Dies if `point` is armed and its count is reached.
void MaybeCrash(CrashPoint point);

// Dies now, the way a crash would.
[[noreturn]] void DieAbruptly();

}  // namespace queue_internal
}  // namespace mp

#ifdef MP_QUEUE_CRASH_POINTS
#define MP_QUEUE_CRASH_POINT(name) \
  ::mp::queue_internal::MaybeCrash(::mp::queue_internal::CrashPoint::name)
#else
#define MP_QUEUE_CRASH_POINT(name) \
  do {                             \
  } while (0)
#endif

#endif  // MP_QUEUE_INTERNAL_CRASH_POINT_H_
