// Tour section: mp::Process, walked through the way Python's
// multiprocessing.Process is usually introduced (start order, join, a
// subclass, run() without start(), terminate, the attributes), and then
// globals, which are not shared between processes. The children's sleeps
// stand for their work (0.1 s, so that the tour runs quickly).
//
// Every target is a registered function (or class), so the section runs
// the same under the spawn start method, the only one on Windows.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/tour.h"
#include "process/process.h"

namespace mp {
namespace tour {
namespace {

constexpr absl::Duration kWork = absl::Milliseconds(100);

int ParentPid() {
  std::optional<ProcessRef> parent = ParentProcess();
  return parent.has_value() ? parent->pid() : 0;
}

// f(process_name): says when it starts and ends, with its pid and its
// parent's.
void F(std::string process_name) {
  std::printf("  %s  start...... %d %d\n", process_name.c_str(),
              CurrentProcess().pid(), ParentPid());
  std::fflush(stdout);
  absl::SleepFor(kWork);
  std::printf("  ........%s   end %d %d\n", process_name.c_str(),
              CurrentProcess().pid(), ParentPid());
}
MP_REGISTER(F);

// Python's kwargs={'process_name': 'f2'}: C++ passes a struct of named
// values.
struct FArgs {
  std::string process_name;
  friend void MpEncode(Encoder& e, const FArgs& a) { e.Write(a.process_name); }
  friend absl::Status MpDecode(Decoder& d, FArgs& a) {
    return d.Read(a.process_name);
  }
};
void FNamed(FArgs args) { F(args.process_name); }
MP_REGISTER(FNamed);

// A subclass: Run() is what the child does.
class MyProcess : public Process {
 public:
  void Run() override {
    std::printf("  %s  start...... %d %d\n", name().c_str(),
                CurrentProcess().pid(), ParentPid());
    std::fflush(stdout);
    absl::SleepFor(kWork);
    std::printf("  ........%s   end %d %d\n", name().c_str(),
                CurrentProcess().pid(), ParentPid());
  }
};
MP_REGISTER_PROCESS(MyProcess);

// A subclass whose Run() prints its pid (unset before start).
class PidProcess : public Process {
 public:
  void Run() override {
    std::optional<int> p = pid();
    std::string shown = p.has_value() ? std::to_string(*p) : "None";
    std::printf("  %s run (in process %d)\n", shown.c_str(),
                CurrentProcess().pid());
  }
};
MP_REGISTER_PROCESS(PidProcess);

void Sleeper() { absl::SleepFor(absl::Seconds(10)); }
MP_REGISTER(Sleeper);

// Each child changes its own copy of `num`; the parent's stays 10.
int num = 10;
void Work1() {
  num += 5;
  std::printf("  child 1 after: num = %d\n", num);
}
MP_REGISTER(Work1);
void Work2() {
  num += 10;
  std::printf("  child 2 after: num = %d\n", num);
}
MP_REGISTER(Work2);

int ExitWith(int code) { return code; }
MP_REGISTER(ExitWith);

// Prints a line of this process's at once, so that it lands among the
// children's lines in the order it happened (stdout is block-buffered when
// it is not a terminal).
template <typename... Args>
void Say(const char* format, Args... args) {
  std::printf(format, args...);
  std::fflush(stdout);
}

void Check(const absl::Status& s) {
  if (!s.ok()) std::printf("  error: %s\n", s.ToString().c_str());
}

void JoinAll(std::vector<Process*> ps) {
  for (Process* p : ps) Check(p->Join());
}

}  // namespace

void TourProcess() {
  Heading("process: start() returns at once; the children run on their own");
  Say("  (start method: %s, %d CPUs)\n", GetStartMethod().c_str(), CpuCount());
  Process f1(F, "f1"), f2(FNamed, FArgs{"f2"}), f3(F, "f3");
  Say("  main process starts %d\n", CurrentProcess().pid());
  Check(f1.Start());
  Check(f2.Start());
  Check(f3.Start());
  Say("  main process content\n");
  JoinAll({&f1, &f2, &f3});

  Heading("process: join() waits; f1 ends before f2 and f3 start");
  Process g1(F, "f1"), g2(F, "f2"), g3(F, "f3");
  Say("  main process starts %d\n", CurrentProcess().pid());
  Check(g1.Start());
  Check(g1.Join());
  Check(g2.Start());
  Check(g3.Start());
  JoinAll({&g2, &g3});
  Say("  main process content\n");

  Heading("process: a subclass of Process overrides Run()");
  Say("  this process %d, named %s\n", CurrentProcess().pid(),
      CurrentProcess().name().c_str());
  MyProcess m1, m2, m3;
  Check(m1.Start());
  Check(m2.Start());
  Check(m3.Start());
  JoinAll({&m1, &m2, &m3});

  Heading("process: Run() without Start() runs here; Join() then refuses");
  PidProcess here;
  here.Run();
  Say("  Join: %s\n", here.Join().ToString().c_str());
  PidProcess twice;
  Check(twice.Start());
  twice.Run();  // started and run here too: the target runs twice
  Check(twice.Join());

  Heading("process: Terminate(), IsAlive() and the attributes");
  Process s(Sleeper);
  Say("  before start: pid %s, name %s, daemon %s, exitcode %s\n",
      s.pid().has_value() ? "set" : "None", s.name().c_str(),
      s.daemon() ? "True" : "False", s.exitcode().has_value() ? "set" : "None");
  Check(s.Start());
  Say("  started: pid %d, alive %s, exitcode %s\n", *s.pid(),
      s.IsAlive() ? "True" : "False",
      s.exitcode().has_value() ? "set" : "None");
  Check(s.Terminate());
  Check(s.Join());
  Say("  terminated: alive %s, exitcode %d (-SIGTERM)\n",
      s.IsAlive() ? "True" : "False", *s.exitcode());
  Say("  set_daemon after start: %s\n", s.set_daemon(true).ToString().c_str());
  Say("  authkey: %zu bytes, the same as this process's: %s\n",
      s.authkey().size(),
      s.authkey() == CurrentProcess().authkey() ? "yes" : "no");
  Process eight(ExitWith, 8);
  Check(eight.Start());
  Check(eight.Join());
  Say("  a target that returns 8: exitcode %d\n", *eight.exitcode());

  Heading("process: data is not shared between processes");
  Say("  main process starts\n");
  Process p1(Work1), p2(Work2);
  Check(p1.Start());
  Check(p2.Start());
  JoinAll({&p1, &p2});
  Say("  main process ends\n");
  Say("  global num = %d\n", num);

  Heading("process: the spawn start method (a fresh copy of this program)");
  absl::StatusOr<Context> spawn = GetContext("spawn");
  if (spawn.ok()) {
    Process sp = spawn->Process(F, "spawned");
    Check(sp.Start());
    Check(sp.Join());
    Say("  exitcode %d; %zu active children left\n", *sp.exitcode(),
        ActiveChildren().size());
  }
}

}  // namespace tour
}  // namespace mp
