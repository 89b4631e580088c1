// Process start + join figures for tools/bench's proc group, next to the
// baseline figures raw_fork_waitpid, raw_posix_spawn_self_cxxbin and
// py_process_* (tools/bench --baselines): one operation is
// Process(Noop).Start() and Join() of a child that does nothing.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "process/process.h"
#include "tools/bench_util/bench_util.h"

namespace mp {
namespace {

void Noop() {}
MP_REGISTER(Noop);

void BM_StartJoin(benchmark::State& state, StartMethod method) {
  for (auto _ : state) {
    Process p(Noop);
    absl::Status s = p.set_start_method(method);
    if (s.ok()) s = p.Start();
    if (s.ok()) s = p.Join();
    if (s.ok() && p.exitcode() != 0) {
      s = absl::InternalError(absl::StrCat("exit code ", *p.exitcode()));
    }
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
}

}  // namespace
}  // namespace mp

int main(int argc, char** argv) {
  // Spawned children run Noop and exit here, before the benchmark library
  // starts.
  mp::ChildMain(argc, argv);
  for (const std::string& method : mp::GetAllStartMethods()) {
    mp::StartMethod m = mp::GetContext(method)->start_method();
    benchmark::RegisterBenchmark(
        mp::bench::FigureName(absl::StrCat("mp_process_", method)).c_str(),
        mp::BM_StartJoin, m)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
