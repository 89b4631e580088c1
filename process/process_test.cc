// Tests of mp::Process under every start method this platform has (fork
// and spawn on Linux, spawn on Windows). Children report through their
// exit codes and through pipes; the binary links //process:test_main, so
// spawned children run the registered targets below.
#include "process/process.h"

#include <cstdio>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/handle.h"
#include "base/internal/test_util.h"
#include "base/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#ifndef _WIN32
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace mp {

// Names the parameter in gtest's messages ("fork", not "4-byte object").
void PrintTo(StartMethod method, std::ostream* os) {
  *os << StartMethodName(method);
}

namespace {

using test_util::CaptureOutput;
using test_util::MakePipe;
using test_util::ProcessWatch;
using test_util::ReadAll;
using test_util::ReadAllWithin;
using test_util::ReadLine;
using test_util::SleepForever;
using test_util::TempPath;
using test_util::WriteAll;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Targets. Every one is registered, so the spawn start method can run it.

void DoNothing() {}
MP_REGISTER(DoNothing);

int ReturnCode(int code) { return code; }
MP_REGISTER(ReturnCode);

void ExitWith(int code) { Exit(code); }
MP_REGISTER(ExitWith);

void Throw(std::string what) { throw std::runtime_error(what); }
MP_REGISTER(Throw);

absl::Status Fail(std::string what) { return absl::InternalError(what); }
MP_REGISTER(Fail);

void Block() { SleepForever(); }
MP_REGISTER(Block);

void SleepFor(int ms) { absl::SleepFor(absl::Milliseconds(ms)); }
MP_REGISTER(SleepFor);

// Each child changes its own copy of a global.
int num = 10;
int Work1() {
  num += 5;
  std::printf("child 1 after: num = %d\n", num);
  return num;
}
MP_REGISTER(Work1);
int Work2() {
  num += 10;
  std::printf("child 2 after: num = %d\n", num);
  return num;
}
MP_REGISTER(Work2);

struct Point {
  int x = 0;
  std::string label;
  friend void MpEncode(Encoder& e, const Point& p) { e.Write(p.x, p.label); }
  friend absl::Status MpDecode(Decoder& d, Point& p) {
    return d.Read(p.x, p.label);
  }
};

// One bit per argument that did not arrive as sent.
int CheckArgs(int a, const std::string& s, std::vector<int> v, Point p,
              double d) {
  int bad = 0;
  if (a != 7) bad |= 1;
  if (s != "bob") bad |= 2;
  if (v != std::vector<int>{1, 2, 3}) bad |= 4;
  if (p.x != 42 || p.label != "answer") bad |= 8;
  if (d != 2.5) bad |= 16;
  return bad;
}
MP_REGISTER(CheckArgs);

// Python's kwargs: C++ passes a struct of named values.
struct GreetArgs {
  std::string process_name;
  int times = 1;
  friend void MpEncode(Encoder& e, const GreetArgs& g) {
    e.Write(g.process_name, g.times);
  }
  friend absl::Status MpDecode(Decoder& d, GreetArgs& g) {
    return d.Read(g.process_name, g.times);
  }
};
int Greet(GreetArgs args) {
  return args.process_name == "f2" && args.times == 3 ? 0 : 1;
}
MP_REGISTER(Greet);

// Says when it starts and ends, on a shared pipe.
void Announce(const OwnedHandle& out, std::string name) {
  WriteAll(out.get(), name + " start\n");
  absl::SleepFor(absl::Milliseconds(20));  // the work
  WriteAll(out.get(), name + " end\n");
}
MP_REGISTER(Announce);

void WriteTo(OwnedHandle out, std::string text) { WriteAll(out.get(), text); }
MP_REGISTER(WriteTo);

// Returns once the parent sends a byte.
int AwaitByte(OwnedHandle in) {
  return test_util::ReadSome(in.get(), 1) == "x" ? 0 : 1;
}
MP_REGISTER(AwaitByte);

int CheckAuthkey(std::string expected) {
  return CurrentProcess().authkey() == expected ? 0 : 1;
}
MP_REGISTER(CheckAuthkey);

// Runs in the grandchild.
int CheckParent(int parent_pid, std::string parent_name, std::string name) {
  std::optional<ProcessRef> parent = ParentProcess();
  if (!parent.has_value()) return 1;
  if (parent->pid() != parent_pid) return 2;
  if (parent->name() != parent_name) return 3;
  if (!parent->IsAlive()) return 4;
  if (CurrentProcess().name() != name) return 5;
  if (CurrentProcess().pid() == parent_pid) return 6;
  return 0;
}
MP_REGISTER(CheckParent);

// Runs in the child: checks its own view, then starts a grandchild.
int StartGrandchild(StartMethod method, int main_pid) {
  std::optional<ProcessRef> parent = ParentProcess();
  if (!parent.has_value() || parent->name() != "MainProcess" ||
      parent->pid() != main_pid) {
    return 20;
  }
  if (!ActiveChildren().empty()) return 21;  // the parent's are not ours
  const std::string me = CurrentProcess().name();
  Process grandchild(CheckParent, CurrentProcess().pid(), me, me + ":1");
  if (!grandchild.set_start_method(method).ok()) return 22;
  if (grandchild.name() != me + ":1") return 23;
  if (!grandchild.Start().ok()) return 24;
  if (!grandchild.Join().ok()) return 25;
  return *grandchild.exitcode();
}
MP_REGISTER(StartGrandchild);

// Runs in a daemon child: it may not have children of its own.
int TryToStartChild() {
  Process p(DoNothing);
  absl::Status s = p.Start();
  return s.code() == absl::StatusCode::kFailedPrecondition &&
                 absl::StrContains(s.message(), "daemonic")
             ? 0
             : 1;
}
MP_REGISTER(TryToStartChild);

// Starts a daemon that never ends and a non-daemon that works for a while,
// reports their pids, and returns: its exit must terminate the one and
// join the other.
int StartDaemonAndWorker(OwnedHandle report, StartMethod method) {
  Process daemon(Block), worker(SleepFor, 300);
  if (!daemon.set_daemon(true).ok()) return 1;
  if (!daemon.set_start_method(method).ok()) return 2;
  if (!worker.set_start_method(method).ok()) return 3;
  if (!daemon.Start().ok() || !worker.Start().ok()) return 4;
  WriteAll(report.get(), absl::StrCat(*daemon.pid(), " ", *worker.pid(), "\n"));
  return 0;
}
MP_REGISTER(StartDaemonAndWorker);

// Starts a daemon that never ends, reports its pid, and waits to be killed.
void StartDaemonAndBlock(OwnedHandle report, StartMethod method) {
  Process daemon(Block);
  if (daemon.set_daemon(true).ok() && daemon.set_start_method(method).ok() &&
      daemon.Start().ok()) {
    WriteAll(report.get(), absl::StrCat(*daemon.pid(), "\n"));
  }
  report.reset();
  SleepForever();
}
MP_REGISTER(StartDaemonAndBlock);

// Set in the parent before Start: a fork child sees the change, a spawned
// child (a fresh program) does not.
int marker = 0;
int ReadMarker() { return marker; }
MP_REGISTER(ReadMarker);

void Print(std::string text) {
  std::printf("%s\n", text.c_str());
  std::cout << "cout: " << text << "\n";
}
MP_REGISTER(Print);

// A subclass. In the child it is the current process: its name
// and pid are this process's.
class MyProcess : public Process {
 public:
  MyProcess() = default;
  void Run() override {
    std::printf("%s run in %d\n", name().c_str(), CurrentProcess().pid());
    Exit(name() == CurrentProcess().name() && pid() == CurrentProcess().pid() &&
                 IsAlive()
             ? 0
             : 1);
  }
};
MP_REGISTER_PROCESS(MyProcess);

// A subclass with state of its own, which spawn sends through the codec.
class Counter : public Process {
 public:
  Counter() = default;
  Counter(int start, std::string label)
      : start_(start), label_(std::move(label)) {}
  void Run() override { Exit(start_ == 41 && label_ == "x" ? 0 : 1); }

  friend void MpEncode(Encoder& e, const Counter& c) {
    e.Write(c.start_, c.label_);
  }
  friend absl::Status MpDecode(Decoder& d, Counter& c) {
    return d.Read(c.start_, c.label_);
  }

 private:
  int start_ = 0;
  std::string label_;
};
MP_REGISTER_PROCESS(Counter);

// Deliberately not registered.
int Unregistered() { return 0; }
class Unlisted : public Process {
 public:
  void Run() override {}
};

// ---------------------------------------------------------------------------

class ProcessTest : public ::testing::TestWithParam<StartMethod> {
 protected:
  template <typename F, typename... Args>
  Process Make(F&& f, Args&&... args) {
    Process p(std::forward<F>(f), std::forward<Args>(args)...);
    EXPECT_TRUE(p.set_start_method(GetParam()).ok());
    return p;
  }

  void StartJoin(Process& p) {
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(p.Join().ok());
  }
};

TEST_P(ProcessTest, StartJoinAndExitCode) {
  Process p = Make(ReturnCode, 8);
  EXPECT_FALSE(p.pid().has_value());
  EXPECT_FALSE(p.exitcode().has_value());
  EXPECT_FALSE(p.IsAlive());
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  ASSERT_TRUE(p.pid().has_value());
  EXPECT_NE(*p.pid(), CurrentProcess().pid());
  EXPECT_FALSE(p.IsAlive());
  EXPECT_EQ(p.exitcode(), 8);
  // Joining an ended process returns at once, again and again.
  EXPECT_TRUE(p.Join().ok());
  EXPECT_TRUE(p.Join(absl::ZeroDuration()).ok());
}

TEST_P(ProcessTest, ArgumentsArrive) {
  Process p = Make(CheckArgs, 7, "bob", std::vector<int>{1, 2, 3},
                   Point{42, "answer"}, 2.5);
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessTest, NamedArgumentsAsAStruct) {
  GreetArgs args;
  args.process_name = "f2";
  args.times = 3;
  Process p = Make(Greet, args);
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessTest, GlobalsAreNotShared) {
  // Each child adds to its own num; the parent's stays 10.
  Process p1 = Make(Work1), p2 = Make(Work2);
  ASSERT_TRUE(p1.Start().ok());
  ASSERT_TRUE(p2.Start().ok());
  ASSERT_TRUE(p1.Join().ok());
  ASSERT_TRUE(p2.Join().ok());
  EXPECT_EQ(p1.exitcode(), 15);
  EXPECT_EQ(p2.exitcode(), 20);
  EXPECT_EQ(num, 10);
}

TEST_P(ProcessTest, ExitCodes) {
  Process zero = Make(DoNothing), eight = Make(ReturnCode, 8),
          exits = Make(ExitWith, 8);
  for (Process* p : {&zero, &eight, &exits}) {
    ASSERT_NO_FATAL_FAILURE(StartJoin(*p));
  }
  EXPECT_EQ(zero.exitcode(), 0);
  EXPECT_EQ(eight.exitcode(), 8);
  EXPECT_EQ(exits.exitcode(), 8);

  Process term = Make(Block), kill = Make(Block);
  ASSERT_TRUE(term.Start().ok());
  ASSERT_TRUE(kill.Start().ok());
  ASSERT_TRUE(term.Terminate().ok());
  ASSERT_TRUE(kill.Kill().ok());
  ASSERT_TRUE(term.Join().ok());
  ASSERT_TRUE(kill.Join().ok());
  EXPECT_EQ(term.exitcode(), -15);  // -SIGTERM, on Windows too
  EXPECT_EQ(kill.exitcode(), -9);   // -SIGKILL
  // Ended: terminating again changes nothing.
  EXPECT_TRUE(term.Kill().ok());
  EXPECT_EQ(term.exitcode(), -15);
}

TEST_P(ProcessTest, UncaughtExceptionIsExitCodeOneWithMessage) {
  CaptureOutput err(
      CaptureOutput::kStderr,
      TempPath(absl::StrCat("exception_", StartMethodName(GetParam()))));
  Process p = Make(Throw, "boom");
  p.set_name("thrower");
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  std::string out = err.Finish();
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_THAT(out, HasSubstr("Process thrower:\nstd::runtime_error: boom\n"));
}

TEST_P(ProcessTest, FailedStatusIsExitCodeOneWithMessage) {
  CaptureOutput err(
      CaptureOutput::kStderr,
      TempPath(absl::StrCat("status_", StartMethodName(GetParam()))));
  Process p = Make(Fail, "no luck");
  p.set_name("failer");
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  std::string out = err.Finish();
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_THAT(out, HasSubstr("Process failer:\nINTERNAL: no luck\n"));
}

TEST_P(ProcessTest, StartDoesNotWaitForTheChild) {
  auto [r, w] = MakePipe();
  Process p = Make(AwaitByte, std::move(r));
  ASSERT_TRUE(p.Start().ok());
  // The child cannot end before the byte is sent.
  EXPECT_TRUE(p.IsAlive());
  EXPECT_FALSE(p.exitcode().has_value());
  ASSERT_TRUE(WriteAll(w.get(), "x"));
  ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessTest, JoinBlocksUntilTheChildEnds) {
  // Python's f1.start(); f1.join(); f2.start(); f3.start(). f1 has ended
  // before f2 and f3 begin.
  auto [r, w] = MakePipe();
  Process f1 = Make(Announce, std::cref(w), "f1");
  Process f2 = Make(Announce, std::cref(w), "f2");
  Process f3 = Make(Announce, std::cref(w), "f3");
  ASSERT_TRUE(f1.Start().ok());
  ASSERT_TRUE(f1.Join().ok());
  EXPECT_FALSE(f1.IsAlive());
  EXPECT_EQ(f1.exitcode(), 0);
  ASSERT_TRUE(f2.Start().ok());
  ASSERT_TRUE(f3.Start().ok());
  ASSERT_TRUE(f2.Join().ok());
  ASSERT_TRUE(f3.Join().ok());
  w.reset();
  std::vector<std::string> lines =
      absl::StrSplit(ReadAll(r.get()), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "f1 start");
  EXPECT_EQ(lines[1], "f1 end");
}

TEST_P(ProcessTest, JoinZeroReturnsAtOnce) {
  Process p = Make(Block);
  ASSERT_TRUE(p.Start().ok());
  absl::Time start = absl::Now();
  absl::Status s = p.Join(absl::ZeroDuration());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(IsTimeout(s)) << s;
  EXPECT_TRUE(p.IsAlive());
  ASSERT_TRUE(p.Kill().ok());
  ASSERT_TRUE(p.Join().ok());
}

TEST_P(ProcessTest, JoinTimeoutOnARunningChild) {
  Process p = Make(Block);
  ASSERT_TRUE(p.Start().ok());
  const absl::Duration timeout = absl::Milliseconds(300);
  absl::Time start = absl::Now();
  absl::Status s = p.Join(timeout);
  EXPECT_GE(absl::Now() - start, timeout);
  EXPECT_TRUE(IsTimeout(s)) << s;
  EXPECT_TRUE(p.IsAlive());
  EXPECT_FALSE(p.exitcode().has_value());
  ASSERT_TRUE(p.Terminate().ok());
  ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(p.exitcode(), -15);
}

TEST_P(ProcessTest, ActiveChildrenBeforeWhileAndAfter) {
  EXPECT_TRUE(ActiveChildren().empty());
  Process a = Make(Block), b = Make(Block);
  EXPECT_TRUE(ActiveChildren().empty());  // not started yet
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  std::vector<ProcessRef> active = ActiveChildren();
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].pid(), *a.pid());
  EXPECT_EQ(active[1].pid(), *b.pid());
  EXPECT_EQ(active[0].name(), a.name());
  EXPECT_TRUE(active[0].IsAlive());
  // A reference ends the child as well as the Process does.
  ASSERT_TRUE(active[0].Terminate().ok());
  ASSERT_TRUE(active[0].Join().ok());
  EXPECT_EQ(active[0].exitcode(), -15);
  EXPECT_EQ(a.exitcode(), -15);
  active = ActiveChildren();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].pid(), *b.pid());
  ASSERT_TRUE(b.Kill().ok());
  // The child ended; ActiveChildren reaps it without a Join.
  EXPECT_TRUE(ProcessWatch(*b.pid()).WaitGone(absl::Seconds(60)));
  EXPECT_TRUE(ActiveChildren().empty());
  EXPECT_EQ(b.exitcode(), -9);
}

TEST_P(ProcessTest, DefaultNamesAndNestedProcesses) {
  Process p = Make(StartGrandchild, GetParam(), CurrentProcess().pid());
  // "Process-N": N counts every Process this process made.
  std::string name = p.name();
  ASSERT_TRUE(absl::StartsWith(name, "Process-")) << name;
  int n = 0;
  EXPECT_TRUE(absl::SimpleAtoi(name.substr(8), &n)) << name;
  Process next = Make(DoNothing);
  EXPECT_EQ(next.name(), absl::StrCat("Process-", n + 1));
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  EXPECT_EQ(p.exitcode(), 0);  // see StartGrandchild and CheckParent
}

TEST_P(ProcessTest, SetNameAndDaemonBeforeStart) {
  Process p = Make(DoNothing);
  p.set_name("worker");
  EXPECT_EQ(p.name(), "worker");
  EXPECT_FALSE(p.daemon());
  ASSERT_TRUE(p.set_daemon(true).ok());
  EXPECT_TRUE(p.daemon());
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  EXPECT_EQ(p.name(), "worker");
  absl::Status s = p.set_daemon(false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "process has already started");
  EXPECT_EQ(p.set_start_method(GetParam()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(ProcessTest, DaemonsMayNotHaveChildren) {
  Process p = Make(TryToStartChild);
  ASSERT_TRUE(p.set_daemon(true).ok());
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessTest, Misuse) {
  Process p = Make(Block);
  absl::Status s = p.Join();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "can only join a started process");
  EXPECT_EQ(p.Terminate().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(p.Start().ok());
  s = p.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "cannot start a process twice");
  s = p.Close();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("Cannot close a process while it is still running"));
  EXPECT_TRUE(p.IsAlive());  // Close refused: nothing changed
  ASSERT_TRUE(p.Kill().ok());
  ASSERT_TRUE(p.Join().ok());
  const int pid = *p.pid();
  ASSERT_TRUE(p.Close().ok());
  EXPECT_TRUE(p.Close().ok());
  EXPECT_TRUE(IsClosed(p.Start()));
  EXPECT_TRUE(IsClosed(p.Join()));
  EXPECT_TRUE(IsClosed(p.Terminate()));
  EXPECT_TRUE(IsClosed(p.Kill()));
  EXPECT_FALSE(p.IsAlive());
  EXPECT_EQ(p.pid(), pid);
  EXPECT_EQ(p.exitcode(), -9);
  EXPECT_FALSE(IsValidHandle(p.sentinel()));
  // A process that never started can be closed too.
  Process q = Make(DoNothing);
  EXPECT_TRUE(q.Close().ok());
  EXPECT_TRUE(IsClosed(q.Start()));
}

TEST_P(ProcessTest, SentinelIsReadyWhenTheChildEnds) {
  Process p = Make(Block);
  EXPECT_FALSE(IsValidHandle(p.sentinel()));
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(IsValidHandle(p.sentinel()));
  EXPECT_FALSE(test_util::SentinelReady(p.sentinel(), absl::ZeroDuration()));
  ASSERT_TRUE(p.Kill().ok());
  EXPECT_TRUE(test_util::SentinelReady(p.sentinel(), absl::Seconds(60)));
  ASSERT_TRUE(p.Join().ok());
  // Still ready after the child is reaped.
  EXPECT_TRUE(test_util::SentinelReady(p.sentinel(), absl::ZeroDuration()));
}

TEST_P(ProcessTest, HundredProcessesStartedAndTerminated) {
  std::vector<Process> ps;
  for (int i = 0; i < 100; ++i) {
    ps.push_back(Make(Block));
    ASSERT_TRUE(ps.back().Start().ok()) << i;
  }
  EXPECT_EQ(ActiveChildren().size(), 100u);
  for (Process& p : ps) ASSERT_TRUE(p.Terminate().ok());
  for (Process& p : ps) {
    ASSERT_TRUE(p.Join().ok());
    EXPECT_EQ(p.exitcode(), -15);
  }
  EXPECT_TRUE(ActiveChildren().empty());
}

TEST_P(ProcessTest, HandlesReachTheChild) {
  // By value (moved in: the parent's copy closes once the child has it) and
  // by reference.
  auto [r1, w1] = MakePipe();
  auto [r2, w2] = MakePipe();
  Process moved = Make(WriteTo, std::move(w1), "moved");
  Process referenced = Make(Announce, std::cref(w2), "referenced");
  ASSERT_NO_FATAL_FAILURE(StartJoin(moved));
  ASSERT_NO_FATAL_FAILURE(StartJoin(referenced));
  EXPECT_EQ(moved.exitcode(), 0);
  EXPECT_EQ(referenced.exitcode(), 0);
  // End of file comes only if no copy of w1 is left here.
  std::optional<std::string> got = ReadAllWithin(r1.get(), absl::Seconds(60));
  ASSERT_TRUE(got.has_value()) << "the parent still holds the moved handle";
  EXPECT_EQ(*got, "moved");
  w2.reset();
  EXPECT_EQ(ReadAll(r2.get()), "referenced start\nreferenced end\n");
}

TEST_P(ProcessTest, AuthkeyIsInherited) {
  const std::string key = CurrentProcess().authkey();
  EXPECT_EQ(key.size(), 32u);
  Process p = Make(CheckAuthkey, key);
  EXPECT_EQ(p.authkey(), key);
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  EXPECT_EQ(p.exitcode(), 0);
  Process q = Make(CheckAuthkey, "other key");
  q.set_authkey("other key");
  ASSERT_NO_FATAL_FAILURE(StartJoin(q));
  EXPECT_EQ(q.exitcode(), 0);
}

TEST_P(ProcessTest, SubclassOverridingRun) {
  MyProcess p;
  ASSERT_TRUE(p.set_start_method(GetParam()).ok());
  EXPECT_TRUE(absl::StartsWith(p.name(), "MyProcess-")) << p.name();
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  EXPECT_EQ(p.exitcode(), 0);
  Counter c(41, "x");
  ASSERT_TRUE(c.set_start_method(GetParam()).ok());
  ASSERT_NO_FATAL_FAILURE(StartJoin(c));
  EXPECT_EQ(c.exitcode(), 0);
}

TEST_P(ProcessTest, DaemonIsGoneAndWorkerJoinedWhenTheParentExits) {
  auto [r, w] = MakePipe();
  Process parent = Make(StartDaemonAndWorker, std::move(w), GetParam());
  ASSERT_TRUE(parent.Start().ok());
  std::vector<std::string> pids = absl::StrSplit(ReadLine(r.get()), ' ');
  ASSERT_EQ(pids.size(), 2u);
  int daemon_pid = 0, worker_pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(pids[0], &daemon_pid));
  ASSERT_TRUE(absl::SimpleAtoi(pids[1], &worker_pid));
  ProcessWatch daemon(daemon_pid), worker(worker_pid);
  ASSERT_TRUE(parent.Join().ok());
  EXPECT_EQ(parent.exitcode(), 0);
  // The worker was joined (it would still be working otherwise) ...
  EXPECT_TRUE(worker.WaitGone(absl::ZeroDuration()));
  // ... and the daemon terminated.
  if (!daemon.WaitGone(absl::Seconds(60))) {
    test_util::KillPid(daemon_pid);
    ADD_FAILURE() << "the daemon outlived its parent";
  }
}

TEST_P(ProcessTest, DaemonDiesWhenItsParentIsKilled) {
  auto [r, w] = MakePipe();
  Process parent = Make(StartDaemonAndBlock, std::move(w), GetParam());
  ASSERT_TRUE(parent.Start().ok());
  int daemon_pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(ReadLine(r.get()), &daemon_pid));
  ProcessWatch daemon(daemon_pid);
  ASSERT_TRUE(parent.Kill().ok());
  ASSERT_TRUE(parent.Join().ok());
  EXPECT_EQ(parent.exitcode(), -9);
  if (!daemon.WaitGone(absl::Seconds(60))) {
    test_util::KillPid(daemon_pid);
    ADD_FAILURE() << "the daemon outlived its killed parent";
  }
}

TEST_P(ProcessTest, ContextProcessUsesItsStartMethod) {
  absl::StatusOr<Context> ctx = GetContext(StartMethodName(GetParam()));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  EXPECT_EQ(ctx->start_method(), GetParam());
  EXPECT_EQ(ctx->GetStartMethod(), StartMethodName(GetParam()));
  marker = 1;
  Process p = ctx->Process(ReadMarker);
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  marker = 0;
  EXPECT_EQ(p.exitcode(), GetParam() == StartMethod::kFork ? 1 : 0);
}

#ifndef _WIN32
// The child's descriptors other than stdio, the handle it was given, its
// parent's pidfd (ParentProcess's sentinel) and the directory stream.
int CountStrayFds(OwnedHandle given) {
  std::optional<ProcessRef> parent = ParentProcess();
  int sentinel = parent.has_value() ? parent->sentinel() : -1;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 100;
  int stray = 0;
  while (dirent* e = readdir(dir)) {
    int fd;
    if (!absl::SimpleAtoi(e->d_name, &fd) || fd < 3) continue;
    if (fd == dirfd(dir) || fd == given.get() || fd == sentinel) continue;
    ++stray;
  }
  closedir(dir);
  return stray;
}
MP_REGISTER(CountStrayFds);

TEST(ProcessSpawnTest, SpawnedChildInheritsNothingElse) {
  auto [r, w] = MakePipe();
  // Descriptors this process has open, one of them even inheritable.
  auto [leak_r, leak_w] = MakePipe();
  ASSERT_TRUE(SetInheritable(leak_r.get(), true).ok());
  Process p(CountStrayFds, std::move(w));
  ASSERT_TRUE(p.set_start_method(StartMethod::kSpawn).ok());
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(ProcessTest, NoZombieIsLeftBehind) {
  int pid;
  {
    Process p = Make(DoNothing);
    ASSERT_TRUE(p.Start().ok());
    pid = *p.pid();
    // Ended, not yet reaped: a zombie.
    ASSERT_TRUE(ProcessWatch(pid).WaitGone(absl::Seconds(60)));
    EXPECT_EQ(kill(pid, 0), 0);
  }
  // Destroying the Process reaped it.
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST_P(ProcessTest, OutputIsFlushedBeforeStartAndNotRepeated) {
  CaptureOutput out(
      CaptureOutput::kStdout,
      TempPath(absl::StrCat("stdout_", StartMethodName(GetParam()))));
  // No newlines: still in the buffers when the child starts.
  std::printf("printf before;");
  std::cout << "cout before;";
  Process p = Make(Print, "child");
  ASSERT_NO_FATAL_FAILURE(StartJoin(p));
  EXPECT_EQ(out.Finish(), "printf before;cout before;child\ncout: child\n");
}
#endif

INSTANTIATE_TEST_SUITE_P(Methods, ProcessTest, ::testing::ValuesIn([] {
                           std::vector<StartMethod> methods;
                           for (const std::string& name :
                                GetAllStartMethods()) {
                             methods.push_back(
                                 GetContext(name)->start_method());
                           }
                           return methods;
                         }()),
                         [](const ::testing::TestParamInfo<StartMethod>& info) {
                           return std::string(StartMethodName(info.param));
                         });

// ---------------------------------------------------------------------------
// Module functions and spawn's refusals.

TEST(ProcessModuleTest, CurrentAndParentProcessInTheMainProcess) {
  ProcessRef me = CurrentProcess();
  EXPECT_EQ(me.name(), "MainProcess");
  EXPECT_FALSE(me.daemon());
  EXPECT_TRUE(me.IsAlive());
  EXPECT_EQ(me.Join().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(me.exitcode().has_value());
  EXPECT_FALSE(ParentProcess().has_value());
  EXPECT_GE(CpuCount(), 1);
}

TEST(ProcessModuleTest, StartMethods) {
  std::vector<std::string> all = GetAllStartMethods();
#ifdef _WIN32
  EXPECT_EQ(all, std::vector<std::string>{"spawn"});
#else
  EXPECT_EQ(all, (std::vector<std::string>{"fork", "spawn"}));
#endif
  absl::StatusOr<Context> bad = GetContext("bogus");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "cannot find context for 'bogus'");
  EXPECT_FALSE(GetContext("forkserver").ok());

  ASSERT_TRUE(SetStartMethod("", /*force=*/true).ok());  // unset
  EXPECT_TRUE(SetStartMethod("spawn").ok());
  EXPECT_EQ(GetStartMethod(), "spawn");
  absl::Status again = SetStartMethod(all.front());
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.message(), "context has already been set");
  EXPECT_TRUE(SetStartMethod(all.front(), /*force=*/true).ok());
  EXPECT_EQ(GetStartMethod(), all.front());
  EXPECT_EQ(GetContext()->GetStartMethod(), all.front());
  EXPECT_EQ(SetStartMethod("bogus", true).code(),
            absl::StatusCode::kInvalidArgument);
  Process p(DoNothing);
  EXPECT_EQ(p.set_start_method(StartMethod::kSpawn).ok(), true);
}

TEST(ProcessModuleTest, RunCallsTheTargetInThisProcess) {
  // Python's p.run() without start() runs here; join() then refuses.
  int calls = 0;
  Process p([&calls] { ++calls; });
  p.Run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(p.Join().message(), "can only join a started process");
}

TEST(ProcessModuleTest, AMovedFromProcessIsEmpty) {
  Process p(DoNothing);
  EXPECT_TRUE(p.valid());
  Process q = std::move(p);
  EXPECT_TRUE(q.valid());
  EXPECT_FALSE(p.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(p.Start(), EmptyObjectError("Process.Start"));
  EXPECT_EQ(p.Join(), EmptyObjectError("Process.Join"));
  EXPECT_EQ(p.Terminate(), EmptyObjectError("Process.Terminate"));
  EXPECT_EQ(p.Kill(), EmptyObjectError("Process.Kill"));
  EXPECT_EQ(p.Close(), EmptyObjectError("Process.Close"));
  EXPECT_EQ(p.set_daemon(true), EmptyObjectError("Process.set_daemon"));
  EXPECT_EQ(p.set_start_method(StartMethod::kSpawn),
            EmptyObjectError("Process.set_start_method"));
  EXPECT_FALSE(p.IsAlive());
  EXPECT_EQ(p.name(), "");
  EXPECT_EQ(p.pid(), std::nullopt);
  EXPECT_EQ(p.exitcode(), std::nullopt);
}

TEST(ProcessModuleTest, AMovedFromProcessRefIsEmpty) {
  ProcessRef current = CurrentProcess();
  EXPECT_TRUE(current.valid());
  ProcessRef other = std::move(current);
  EXPECT_TRUE(other.valid());
  EXPECT_FALSE(current.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(current.Join(), EmptyObjectError("ProcessRef.Join"));
  EXPECT_EQ(current.Terminate(), EmptyObjectError("ProcessRef.Terminate"));
  EXPECT_EQ(current.Kill(), EmptyObjectError("ProcessRef.Kill"));
  EXPECT_FALSE(current.IsAlive());
  EXPECT_EQ(current.pid(), 0);
  EXPECT_EQ(current.name(), "");
}

TEST(ProcessModuleTest, SpawnRefusesWhatItCannotSend) {
  Process unregistered(Unregistered);
  ASSERT_TRUE(unregistered.set_start_method(StartMethod::kSpawn).ok());
  absl::Status s = unregistered.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("is not registered"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("MP_REGISTER("));
  EXPECT_THAT(std::string(s.message()), HasSubstr("Unregistered"));
  EXPECT_FALSE(unregistered.pid().has_value());  // nothing started
  EXPECT_TRUE(ActiveChildren().empty());

  int captured = 3;
  Process lambda([captured] { return captured; });
  ASSERT_TRUE(lambda.set_start_method(StartMethod::kSpawn).ok());
  s = lambda.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("lambda"));

  Unlisted unlisted;
  ASSERT_TRUE(unlisted.set_start_method(StartMethod::kSpawn).ok());
  s = unlisted.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("MP_REGISTER_PROCESS(Unlisted)"));
}

#ifndef _WIN32
TEST(ProcessModuleTest, ForkRunsAnyCallable) {
  int base = 40;
  Process p([base](int add) { return base + add; }, 2);
  ASSERT_TRUE(p.set_start_method(StartMethod::kFork).ok());
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(p.exitcode(), 42);
  Unlisted unlisted;  // fork needs no registration
  ASSERT_TRUE(unlisted.set_start_method(StartMethod::kFork).ok());
  ASSERT_TRUE(unlisted.Start().ok());
  ASSERT_TRUE(unlisted.Join().ok());
  EXPECT_EQ(unlisted.exitcode(), 0);
}
#endif

}  // namespace
}  // namespace mp
