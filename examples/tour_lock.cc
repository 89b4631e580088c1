// Tour section: mp::Lock and mp::Value, used the way Python programs use
// multiprocessing.Lock: two writers appending to one file under a lock, a
// ticket office (ten buyers, six tickets, a JSON file), and two jobs adding
// to a shared Value under one lock. Then what Python cannot do: a process
// killed while holding the lock, and the next acquirer told so. The
// children's sleeps stand for their work, 10 to 50 ms so that the tour runs
// quickly; a time.sleep() beside one is the Python line it stands for.
//
// Every target is a registered function, so the section runs the same under
// the spawn start method, the only one on Windows.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "examples/tour.h"
#include "lock/event.h"
#include "lock/lock.h"
#include "process/process.h"
#include "shm_value/value.h"

namespace mp {
namespace tour {
namespace {

// Prints a line at once, so that it lands among the other processes' lines
// in the order it happened.
template <typename... Args>
void Say(const char* format, Args... args) {
  std::printf(format, args...);
  std::fflush(stdout);
}

void Check(const absl::Status& s) {
  if (!s.ok()) Say("  error: %s\n", s.ToString().c_str());
}

std::string TempPath(const char* name) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  return ((ec ? std::filesystem::path(".") : dir) / name).string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The writers work_1 / work_2: the lock is held for the whole loop, so one
// worker's lines never land among the other's.
void Work(std::string who, std::string file, std::string line, int n,
          Lock lock) {
  Say("  %s start\n", who.c_str());
  LockGuard guard(lock);
  Check(guard.status());
  for (int i = 0; i < n; ++i) {
    std::ofstream(file, std::ios::app) << line << "\n";
    absl::SleepFor(absl::Milliseconds(50));  // time.sleep(1)
  }
  Say("  %s end\n", who.c_str());
}
MP_REGISTER(Work);

// The ticket office: the stock is a JSON file, {"count": N}.
int Tickets(const std::string& file) {
  std::string text = ReadFile(file);
  size_t colon = text.find(':');
  return colon == std::string::npos ? 0 : std::atoi(text.c_str() + colon + 1);
}

void Search(const std::string& file) {
  Say("  %d tickets left\n", Tickets(file));
}

void Get(const std::string& file) {
  int count = Tickets(file);
  if (count > 0) {
    absl::SleepFor(absl::Milliseconds(10));  // the write takes a moment
    std::ofstream(file) << "{\"count\": " << count - 1 << "}";
    Say("  %d bought a ticket\n", CurrentProcess().pid());
  } else {
    Say("  %d found none left\n", CurrentProcess().pid());
  }
}

void Buyer(std::string file, Lock l) {
  Search(file);
  Check(l.Acquire());
  Get(file);
  Check(l.Release());
}
MP_REGISTER(Buyer);

// job(v, num, l): adds `num` to `v` five times, holding the lock.
void Job(Value<int> v, int num, Lock l) {
  Check(l.Acquire());
  for (int i = 0; i < 5; ++i) {
    absl::SleepFor(absl::Milliseconds(10));  // time.sleep(0.1)
    *v.get_obj() += num;                     // v.value += num, lock held
    Say("  %d\n", *v.get_obj());
  }
  Check(l.Release());
}
MP_REGISTER(Job);

// Takes the lock, half-updates the balance it guards, and is killed.
void Crasher(Lock lock, Value<int> balance, Event holding) {
  Check(lock.Acquire());
  *balance.get_obj() = -1;  // in the middle of an update
  Check(holding.Set());
  absl::SleepFor(absl::Hours(1));
}
MP_REGISTER(Crasher);

void AddThousand(Value<int> value) {
  for (int k = 0; k < 1000; ++k) {
    Check(value.Update([](int& x) { x += 1; }).status());
  }
}
MP_REGISTER(AddThousand);

void RunAll(std::vector<Process>& procs) {
  for (Process& p : procs) Check(p.Start());
  for (Process& p : procs) Check(p.Join());
}

}  // namespace

void TourLock() {
  Heading("lock: two writers to one file under a Lock");
  absl::StatusOr<Lock> lock = Lock::Create();
  if (!lock.ok()) return Check(lock.status());
  const std::string file = TempPath("mp_tour_lock_file.txt");
  std::remove(file.c_str());
  {
    std::vector<Process> procs;
    procs.emplace_back(Work, "work_1", file, "i love pyhton", 3, *lock);
    procs.emplace_back(Work, "work_2", file, "come on baby", 1, *lock);
    RunAll(procs);
  }
  Say("  the file, one worker's lines together:\n");
  std::istringstream lines(ReadFile(file));
  for (std::string line; std::getline(lines, line);) {
    Say("    %s\n", line.c_str());
  }
  std::remove(file.c_str());

  Heading("lock: ten ticket buyers, six tickets");
  const std::string stock = TempPath("mp_tour_tickets.json");
  std::ofstream(stock) << "{\"count\": 6}";
  {
    std::vector<Process> buyers;
    for (int i = 0; i < 10; ++i) buyers.emplace_back(Buyer, stock, *lock);
    RunAll(buyers);
  }
  Say("  sold out, never oversold: %d left\n", Tickets(stock));
  std::remove(stock.c_str());

  Heading("lock: two jobs add to a Value under one Lock");
  absl::StatusOr<Value<int>> v = Value<int>::Create(0);
  if (!v.ok()) return Check(v.status());
  {
    std::vector<Process> jobs;
    jobs.emplace_back(Job, *v, 1, *lock);
    jobs.emplace_back(Job, *v, 3, *lock);
    RunAll(jobs);
  }
  Say("  v.value = %d (5 x 1 + 5 x 3)\n", *v->Get());
  // The same counter without a Lock of its own: Value's own RLock and
  // Update(), one call per `with v.get_lock(): v.value += 1`.
  Check(v->Set(0));
  {
    std::vector<Process> adders;
    for (int i = 0; i < 4; ++i) adders.emplace_back(AddThousand, *v);
    RunAll(adders);
  }
  Say("  four processes x 1000 Update(+1): %d\n", *v->Get());

  Heading("lock: a process killed holding the Lock (Python would hang)");
  absl::StatusOr<Value<int>> balance = Value<int>::Create(100);
  absl::StatusOr<Event> holding = Event::Create();
  if (!balance.ok() || !holding.ok()) return;
  Process crasher(Crasher, *lock, *balance, *holding);
  Check(crasher.Start());
  Check(holding->Wait(absl::Seconds(30)));
  Check(crasher.Kill());
  Check(crasher.Join());
  absl::Status s = lock->Acquire(absl::Seconds(5));
  Say("  next Acquire(): %s\n", s.ToString().c_str());
  if (IsOwnerDied(s)) {
    Say("  the lock is ours; the balance it guards reads %d: repair it\n",
        *balance->get_obj());
    *balance->get_obj() = 100;
  }
  if (Acquired(s)) Check(lock->Release());
  Say("  and the lock works as before: %s\n",
      lock->Acquire(absl::ZeroDuration()).ToString().c_str());
  Check(lock->Release());
}

}  // namespace tour
}  // namespace mp
