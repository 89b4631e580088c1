// The soaks: long random-kill runs of the queue and the locks, with
// counts a user can check (tools/soak.sh). Each soak runs rounds until its
// time is up; in a round, workers (child processes) use one queue or lock
// while this process, the killer, kills one of them at a random moment
// every few milliseconds and starts another in its place. At the end of a
// round it checks, from what the workers wrote to shared memory, that
// nothing acknowledged was lost or duplicated and that nobody waited on a
// dead process.
#ifndef MP_TOOLS_SOAK_SOAK_H_
#define MP_TOOLS_SOAK_SOAK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "base/deadline.h"
#include "process/process.h"

namespace mp {
namespace soak {

// A call that has not returned after this long is stuck: every call the
// workers make has a timeout far shorter.
inline constexpr absl::Duration kStuck = absl::Seconds(10);

// How long a round runs at most, so that every kind of queue or lock gets
// its turn within a few minutes.
inline constexpr absl::Duration kRound = absl::Seconds(20);

struct Options {
  absl::Duration duration;
  uint32_t seed = 0;
};

// What a worker shows the killer, in shared memory.
struct Slot {
  // Deadline::NowNanos() when the worker's current call began; 0 between
  // calls.
  std::atomic<int64_t> call_start;
  // Set while a consumer may hold an item it has not recorded yet (from
  // before its Get until after the recording): killed then, it may have
  // taken one item with it.
  std::atomic<int32_t> holding;
};

// Marks a worker's call for the killer's watch.
class CallScope {
 public:
  explicit CallScope(Slot& slot) : slot_(slot) {
    slot_.call_start.store(Deadline::NowNanos());
  }
  ~CallScope() { slot_.call_start.store(0); }

 private:
  Slot& slot_;
};

// The workers of one round, each in a slot, restarted as they die.
class Crew {
 public:
  // `make(slot)` makes the process for slot `slot` of `slots[0, n)` (in
  // shared memory), not started yet.
  Crew(Slot* slots, int n, std::function<Process(int slot)> make);
  Crew(const Crew&) = delete;
  Crew& operator=(const Crew&) = delete;
  // Kills and reaps whoever is left.
  ~Crew();

  // Starts a worker in every slot; false if one could not start.
  bool StartAll();
  struct Victim {
    int slot;
    bool holding;  // what its Slot::holding showed when it died
  };
  // Kills the worker in `slot`, reaps it, and starts another there.
  // Nothing if the worker could not be reaped or its successor started.
  std::optional<Victim> Kill(int slot);
  int size() const { return n_; }
  // Starts a new worker in every slot whose worker ended by itself (exit
  // code 0); returns how many, or -1 if a start failed.
  int RestartFinished();
  // Waits up to kStuck for the workers in `slots` to end by themselves;
  // kills and counts those that do not. Returns how many were stuck.
  int JoinAll(const std::vector<int>& slots);
  // Slots whose current call has run for longer than kStuck, each counted
  // once per call.
  int CountStuckCalls();
  // Exit codes other than 0 of workers that ended by themselves.
  int failures() const { return failures_; }

 private:
  bool Start(int slot);

  Slot* const slots_;
  const int n_;
  std::function<Process(int slot)> make_;
  std::vector<Process> workers_;
  std::vector<int64_t> reported_call_;  // the call already counted stuck
  int failures_ = 0;
};

// Each soak's rounds; returns the process's exit code (0: nothing lost,
// duplicated or stuck).
int SoakQueue(const Options& options);
int SoakLock(const Options& options);

}  // namespace soak
}  // namespace mp

#endif  // MP_TOOLS_SOAK_SOAK_H_
