// Process: a child process that runs a function (or a Run() override), and
// the module functions around it: Python's multiprocessing.Process,
// current_process(), parent_process(), active_children(), cpu_count(),
// get_context() and set_start_method(). The README's table gives the C++
// name of each Python one.
//
// Start methods. "fork" (the default on Linux, as in Python up to 3.13)
// runs any callable in a fork of this process: lambdas with captures,
// functors, anything. "spawn" (the only one on Windows, available on Linux)
// starts this executable again (base/launch.h) and runs the target there
// by name, so the function must be registered (MP_REGISTER, at the end of
// this file) and its arguments must be encodable (base/codec.h).
//
// main() must begin with mp::ChildMain(argc, argv), the counterpart of
// Python's `if __name__ == "__main__":` guard: without it a spawned child
// would run the parent's whole program. GoogleTest binaries link
// //process:test_main instead of gtest_main to get the same.
//
// Example (two children, one started after the other has ended):
//
//   void F(std::string process_name) {
//     std::printf("%s  start...... %d\n", process_name.c_str(),
//                 mp::CurrentProcess().pid());
//   }
//   MP_REGISTER(F);
//
//   int main(int argc, char** argv) {
//     mp::ChildMain(argc, argv);
//     mp::Process f1(F, "f1"), f2(F, "f2");
//     f1.Start().IgnoreError();
//     f1.Join().IgnoreError();  // f1 ends before f2 starts
//     f2.Start().IgnoreError();
//     f2.Join().IgnoreError();
//     std::printf("exit codes %d %d\n", *f1.exitcode(), *f2.exitcode());
//   }

#ifndef MP_PROCESS_PROCESS_H_
#define MP_PROCESS_PROCESS_H_

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/handle.h"
#include "process/internal/target.h"

namespace mp {

namespace process_internal {
struct ProcessState;
struct ProcessAccess;
}  // namespace process_internal

enum class StartMethod { kFork, kSpawn };

// "fork" / "spawn".
absl::string_view StartMethodName(StartMethod method);

// A child process. Thread-safety: Join, IsAlive, Terminate, Kill, exitcode
// and the accessors may be called from several threads at once; Start,
// Close and the setters not concurrently with other calls on the same
// Process.
class Process {
 public:
  // A process that will run target(args...): any callable under fork; a
  // registered plain function (MP_REGISTER) under spawn.
  //
  // Arguments are taken as std::thread takes them: copied (or moved) into
  // the Process here; std::ref(x) passes a reference instead (under fork the
  // child then sees the parent's object as it was at Start). After Start()
  // the parent drops its copies (as Python deletes _target and _args), so
  // handles moved into a Process are closed in the parent once the child
  // has them.
  //
  // Objects that own OS handles (a Connection, a Lock, a Queue, a shared
  // Value) reach the child under both start methods, as Python shares them
  // "through inheritance". Under fork the child simply has a copy of
  // everything. Under spawn the codec carries them: an object's MpEncode
  // writes each handle with Encoder::AddHandle (or e.Write(owned_handle))
  // and its MpDecode takes it back with Decoder::TakeHandle (or
  // d.Read(owned_handle)); the launcher then hands the child exactly those
  // handles and no others. That is all a new primitive needs to be
  // passable. The handle must stay open in the parent until Start()
  // returns. The same table can carry handles to processes that are already
  // running (a Pool worker, a Manager server) with SCM_RIGHTS or
  // DuplicateHandle; the codec does not care which transport sends it.
  template <
      typename F, typename... Args,
      typename = std::enable_if_t<!std::is_base_of_v<Process, std::decay_t<F>>>>
  explicit Process(F&& target, Args&&... args)
      : Process(process_internal::MakeTarget(std::forward<F>(target),
                                             std::forward<Args>(args)...)) {}
  // For a class that overrides Run().
  Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Does not stop or wait for a running child: it runs on, is joined at
  // exit unless daemon, and is reaped when it has ended (here, at the next
  // Start or ActiveChildren, or at exit).
  virtual ~Process();

  // False once moved from. Every call of an empty Process that can fail
  // returns mp::EmptyObjectError("Process.<call>"); the accessors return
  // "", false, unset or kInvalidHandle.
  bool valid() const { return state_ != nullptr; }

  // Starts the child (at most once). Fails, starting nothing, if the
  // process was already started or closed, if this process is a daemon
  // ("daemonic processes are not allowed to have children"), or, under
  // spawn, if the target cannot be sent (unregistered function or class,
  // lambda: the error names it).
  //
  // Before a fork every C stdio stream and the standard iostreams are
  // flushed, so nothing buffered is printed twice; children write to the
  // same stdout and stderr. A fork child flushes its standard streams when
  // it ends (Python's child does the same; other files it writes to it must
  // flush or close itself, as the parent's exit handlers do not run in it).
  // A spawned child ends like any program: exit handlers run, every stream
  // is flushed.
  absl::Status Start();

  // What the child runs: the target. Override it in a subclass (and call
  // mp::Exit(code) to end with a code other than 0). Calling it directly
  // runs it in this process, as in Python.
  virtual void Run();

  // Waits for the child to end, at most `timeout` (ZeroDuration: just
  // check). mp::TimeoutError if it is still running then (Python's join
  // returns None either way; check exitcode() or IsAlive()).
  absl::Status Join(absl::Duration timeout = absl::InfiniteDuration());
  // From Start until the child ends; false before Start and after Close.
  // True in the child, for the Process it runs.
  bool IsAlive() const;
  // SIGTERM / SIGKILL (TerminateProcess on Windows). Nothing happens, and
  // OK is returned, once the child has ended.
  absl::Status Terminate();
  absl::Status Kill();
  // Releases the OS resources; fails while the child runs. Afterwards
  // Start, Join, Terminate and Kill fail with "process object is closed";
  // pid(), name() and exitcode() keep their values.
  absl::Status Close();

  // Default "Process-N" ("Process-N:M" for the M-th made in child N), or
  // the class name in place of "Process" for a subclass, as Python does.
  std::string name() const;
  void set_name(std::string name);
  // Daemon children are terminated when this process exits, and may not
  // start children of their own. Default: the current process's flag.
  //
  // When the main program exits (return from main, or exit()), non-daemon
  // children are joined and daemon children terminated, as in Python.
  // Beyond Python, daemon children also die if the parent is killed
  // outright (Linux: the parent-death signal, which Linux ties to the thread
  // that started the child, so start daemons from a thread that lives long
  // enough; Windows: a job object), and every child is reaped: by Join,
  // IsAlive, exitcode, ActiveChildren, the next Start, or at exit.
  bool daemon() const;
  absl::Status set_daemon(bool daemonic);
  // Overrides the default start method (GetStartMethod()) for this
  // process; Context::Process() sets it.
  absl::Status set_start_method(StartMethod method);
  // Unset before Start. In the child, running this Process: its own pid.
  std::optional<int> pid() const;
  // Unset before Start and while running. Then 0; the integer the target
  // returned or passed to mp::Exit(); 1 for an uncaught exception, or a
  // target that returned a failed absl::Status, with the message on stderr
  // ("Process Process-1:" then the message, as Python prints it); -N for
  // death by signal N (-15 after Terminate(), -9 after Kill(), on Windows
  // too).
  std::optional<int> exitcode() const;
  // Ready when the child ends (see ChildProcess::sentinel); kInvalidHandle
  // before Start and after Close.
  NativeHandle sentinel() const;
  // Python's authentication key (for Listener/Client and managers):
  // inherited from the current process unless set.
  std::string authkey() const;
  void set_authkey(std::string key);

 private:
  friend struct process_internal::ProcessAccess;

  explicit Process(std::unique_ptr<process_internal::Target> target);
  absl::Status StartFork();
  absl::Status StartSpawn();
  std::string DefaultName() const;

  std::shared_ptr<process_internal::ProcessState> state_;
  // Last, and pointer-sized: MP_REGISTER_PROCESS tells a subclass with
  // members of its own by its size, which tail padding would hide.
  std::unique_ptr<process_internal::Target> target_;
};

// A process mp knows about: one of this process's children (from
// ActiveChildren()), this process (CurrentProcess()) or its parent
// (ParentProcess()). A shared reference: copies see the same process.
//
// A moved-from ProcessRef is empty: Join, Terminate and Kill return
// mp::EmptyObjectError, the accessors "", 0, false, unset or kInvalidHandle.
class ProcessRef {
 public:
  // False once moved from.
  bool valid() const { return state_ != nullptr; }
  std::string name() const;
  int pid() const;
  bool daemon() const;
  std::string authkey() const;
  // A child's exit code once it has ended; unset while it runs, and always
  // for the current and parent processes.
  std::optional<int> exitcode() const;
  // Ready when the process ends: a child's or the parent's; invalid for the
  // current process (and for a parent that had ended before this process
  // started).
  NativeHandle sentinel() const;
  // Always true for the current process.
  bool IsAlive() const;
  // Children and the parent; the current process cannot join itself.
  // mp::TimeoutError if the process is still running after `timeout`.
  absl::Status Join(absl::Duration timeout = absl::InfiniteDuration()) const;
  // Children only.
  absl::Status Terminate() const;
  absl::Status Kill() const;

 private:
  friend class Process;
  friend ProcessRef CurrentProcess();
  friend std::optional<ProcessRef> ParentProcess();
  friend std::vector<ProcessRef> ActiveChildren();
  explicit ProcessRef(std::shared_ptr<process_internal::ProcessState> state)
      : state_(std::move(state)) {}

  std::shared_ptr<process_internal::ProcessState> state_;
};

// A context fixes the start method for the Processes made through it.
class Context {
 public:
  StartMethod start_method() const { return method_; }
  // "fork" / "spawn".
  std::string GetStartMethod() const;

  // mp::Process(target, args...) with this context's start method.
  template <typename F, typename... Args>
  mp::Process Process(F&& target, Args&&... args) const;

 private:
  friend absl::StatusOr<Context> GetContext(absl::string_view method);
  explicit Context(StartMethod method) : method_(method) {}
  StartMethod method_;
};

// This process.
ProcessRef CurrentProcess();
// The process that started this one; none in the main process.
std::optional<ProcessRef> ParentProcess();
// This process's children that are still running; those that have ended
// are reaped (and dropped from the list) along the way.
std::vector<ProcessRef> ActiveChildren();
// The number of CPUs in the system (Python's os.cpu_count()); at least 1.
int CpuCount();

// A context for `method`: "fork", "spawn", or "" for the default (which it
// fixes, as Python's get_context(None) does). kInvalidArgument for an
// unknown method or one this platform lacks ("cannot find context for
// 'fork'" on Windows; "forkserver" is not implemented).
absl::StatusOr<Context> GetContext(absl::string_view method = "");
// Sets the default start method. kFailedPrecondition ("context has already
// been set") once it is set or was used, unless `force`; an empty method
// with `force` unsets it.
absl::Status SetStartMethod(absl::string_view method, bool force = false);
// The default start method's name (fixing it if it was not set).
std::string GetStartMethod();
// The methods this platform has, the default first.
std::vector<std::string> GetAllStartMethods();

// The spawn start method's entry point: call it first in main(). In a
// spawned child it runs the target and exits with its exit code; otherwise
// it returns at once. A program that forgets it gets an error from Start()
// in the child, and the child exits with code 1 and a message saying what
// to add.
void ChildMain(int argc, char** argv);

// Ends this process with `code`, as Python's sys.exit(code) in a child:
// joins (or, daemons, terminates) its own children, flushes output and
// exits. In the main process it is std::exit(code).
[[noreturn]] void Exit(int code);

template <typename F, typename... Args>
mp::Process Context::Process(F&& target, Args&&... args) const {
  mp::Process p(std::forward<F>(target), std::forward<Args>(args)...);
  p.set_start_method(method_).IgnoreError();  // cannot fail before Start
  return p;
}

}  // namespace mp

// Registers a plain function as a target the spawn start method can run:
// one line at namespace scope, in any file of the program, e.g.
// MP_REGISTER(Work);. Overloaded functions cannot be registered (wrap one
// in a function of its own).
#define MP_REGISTER(function)                                     \
  static const ::mp::process_internal::FunctionRegistrar          \
  MP_PROCESS_INTERNAL_CONCAT(mp_register_function_, __COUNTER__)( \
      function, #function, __FILE__)

// Registers a subclass of mp::Process for the spawn start method:
// MP_REGISTER_PROCESS(MyProcess); at namespace scope. The class needs a
// default constructor, and its own data members travel only through
// MpEncode/MpDecode (a class without members of its own needs neither).
#define MP_REGISTER_PROCESS(Class)                                      \
  static const ::mp::process_internal::ClassRegistrar<Class>            \
  MP_PROCESS_INTERNAL_CONCAT(mp_register_process_, __COUNTER__)(#Class, \
                                                                __FILE__)

#endif  // MP_PROCESS_PROCESS_H_
