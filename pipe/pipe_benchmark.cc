// The 64-byte round trip and 1 MiB stream figures for mp's Pipe (tools/bench
// group `pipe`), next to the baseline programs tools/bench runs with
// --baselines (raw_pipe_pingpong64, raw_socketpair_stream_1MiB,
// py_pipe_pingpong_bytes64, py_pipe_stream_1MiB, ...):
//   mp_pipe_pingpong64          64-byte round trip parent -> child -> parent
//                               over a duplex Pipe(), us
//   mp_pipe_pingpong64_simplex  the same over two one-way Pipe()s
//   mp_pipe_stream_1MiB         1 MiB messages one way over a duplex Pipe(),
//                               received into a reused buffer, MB/s
//   mp_pipe_stream_1MiB_simplex the same over a one-way Pipe()
//   mp_pipe_stream_1MiB_alloc   the same, each message received into a new
//                               std::string (RecvBytes)
// As in those baselines, the parent is party 0, the forked child party 1
// (BENCH_PIN).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <initializer_list>
#include <string>
#include <utility>

#include "benchmark/benchmark.h"
#include "pipe/pipe.h"
#include "tools/bench_util/bench_util.h"

namespace mp {
namespace {

constexpr size_t kSmall = 64;
constexpr size_t kMiB = 1 << 20;
// Messages per timed batch of the stream figures; the batch ends with a
// one-byte sync message the child acknowledges, so the time covers the
// receiving too.
constexpr int kBatch = 32;

void Fail(benchmark::State& state, const absl::Status& s) {
  state.SkipWithError(std::string(s.message()).c_str());
}

// Forks a child that closes the parent's ends, runs `body` and exits; the
// parent closes the child's ends.
template <typename Body>
pid_t ForkChild(std::initializer_list<Connection*> parent_ends,
                std::initializer_list<Connection*> child_ends, Body body) {
  pid_t pid = fork();
  if (pid == 0) {
    bench::Pin(1);
    for (Connection* c : parent_ends) c->Close().IgnoreError();
    body();
    _exit(0);
  }
  for (Connection* c : child_ends) c->Close().IgnoreError();
  return pid;
}

void Reap(pid_t pid) {
  int status;
  waitpid(pid, &status, 0);
}

void Echo(Connection& in, Connection& out) {
  char buf[kSmall];
  while (true) {
    absl::StatusOr<size_t> n = in.RecvBytesInto(absl::MakeSpan(buf));
    if (!n.ok() || !out.SendBytes(absl::string_view(buf, *n)).ok()) return;
  }
}

void PingPong(benchmark::State& state, Connection& out, Connection& in) {
  const std::string msg(kSmall, 'x');
  char buf[kSmall];
  for (auto _ : state) {
    absl::Status s = out.SendBytes(msg);
    absl::StatusOr<size_t> n = in.RecvBytesInto(absl::MakeSpan(buf));
    if (!s.ok() || !n.ok()) {
      Fail(state, s.ok() ? n.status() : s);
      return;
    }
  }
}

void BM_PingPong(benchmark::State& state) {
  bench::Pin(0);
  absl::StatusOr<std::pair<Connection, Connection>> p = Pipe();
  if (!p.ok()) return Fail(state, p.status());
  pid_t pid =
      ForkChild({&p->first}, {&p->second}, [&] { Echo(p->second, p->second); });
  PingPong(state, p->first, p->first);
  p->first.Close().IgnoreError();
  Reap(pid);
}

void BM_PingPongSimplex(benchmark::State& state) {
  bench::Pin(0);
  absl::StatusOr<std::pair<Connection, Connection>> to = Pipe(false);
  absl::StatusOr<std::pair<Connection, Connection>> from = Pipe(false);
  if (!to.ok() || !from.ok()) {
    return Fail(state, to.ok() ? from.status() : to.status());
  }
  Connection& to_r = to->first;
  Connection& to_w = to->second;
  Connection& from_r = from->first;
  Connection& from_w = from->second;
  pid_t pid = ForkChild({&to_w, &from_r}, {&to_r, &from_w},
                        [&] { Echo(to_r, from_w); });
  PingPong(state, to_w, from_r);
  to_w.Close().IgnoreError();
  Reap(pid);
}

// The child of the stream figures: receives 1 MiB messages until a short
// one, which it acknowledges; until EOF.
void Sink(Connection& in, Connection& ack, bool allocate) {
  std::string buf(kMiB, '\0');
  while (true) {
    size_t n;
    if (allocate) {
      absl::StatusOr<std::string> m = in.RecvBytes();
      if (!m.ok()) return;
      n = m->size();
    } else {
      absl::StatusOr<size_t> got = in.RecvBytesInto(absl::MakeSpan(buf));
      if (!got.ok()) return;
      n = *got;
    }
    if (n < kMiB && !ack.SendBytes("k").ok()) return;
  }
}

void Stream(benchmark::State& state, Connection& out, Connection& ack) {
  const std::string msg(kMiB, 'x');
  char k[1];
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) {
      absl::Status s = out.SendBytes(msg);
      if (!s.ok()) return Fail(state, s);
    }
    absl::Status s = out.SendBytes("s");
    absl::StatusOr<size_t> n = ack.RecvBytesInto(absl::MakeSpan(k));
    if (!s.ok() || !n.ok()) return Fail(state, s.ok() ? n.status() : s);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  state.counters["MB/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kBatch * kMiB,
      benchmark::Counter::kIsRate);
}

void BM_Stream(benchmark::State& state, bool allocate) {
  bench::Pin(0);
  absl::StatusOr<std::pair<Connection, Connection>> p = Pipe();
  if (!p.ok()) return Fail(state, p.status());
  pid_t pid = ForkChild({&p->first}, {&p->second},
                        [&] { Sink(p->second, p->second, allocate); });
  Stream(state, p->first, p->first);
  p->first.Close().IgnoreError();
  Reap(pid);
}

void BM_StreamSimplex(benchmark::State& state) {
  bench::Pin(0);
  absl::StatusOr<std::pair<Connection, Connection>> data = Pipe(false);
  absl::StatusOr<std::pair<Connection, Connection>> ack = Pipe(false);
  if (!data.ok() || !ack.ok()) {
    return Fail(state, data.ok() ? ack.status() : data.status());
  }
  pid_t pid =
      ForkChild({&data->second, &ack->first}, {&data->first, &ack->second},
                [&] { Sink(data->first, ack->second, /*allocate=*/false); });
  Stream(state, data->second, ack->first);
  data->second.Close().IgnoreError();
  Reap(pid);
}

BENCHMARK(BM_PingPong)
    ->Name(bench::FigureName("mp_pipe_pingpong64"))
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_PingPongSimplex)
    ->Name(bench::FigureName("mp_pipe_pingpong64_simplex"))
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Stream, reuse, false)
    ->Name(bench::FigureName("mp_pipe_stream_1MiB"))
    ->UseManualTime();
BENCHMARK(BM_StreamSimplex)
    ->Name(bench::FigureName("mp_pipe_stream_1MiB_simplex"))
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_Stream, alloc, true)
    ->Name(bench::FigureName("mp_pipe_stream_1MiB_alloc"))
    ->UseManualTime();

}  // namespace
}  // namespace mp
