// Queue throughput between processes, the figures of tools/bench group
// `queue` (compare the baseline programs tools/bench runs with --baselines:
// py_queue_1p1c, boost_mq_1p1c, raw_spsc_ring_1p1c,
// raw_socketpair_stream_1MiB and the rest of their groups):
//
//   mp_queue_1p1c        items/s  Queue<Item64>() (unbounded), a producer
//                                 child puts 64-byte items, the parent gets
//                                 them (and checks their sequence numbers)
//   mp_queue_max1024_1p1c items/s the same through a Queue(1024): the
//                                 bound of boost_mq_1p1c and of
//                                 py_queue_max1024_1p1c, so producers wait
//                                 for room whenever they get ahead
//   mp_simplequeue_1p1c  items/s  the same through a SimpleQueue
//   mp_queue_2p2c        items/s  two producer children, two consumer
//                                 children, all items counted
//   mp_queue_1MiB        MB/s     1 MiB std::string items through a
//                                 Queue(8), producer child to parent (MB =
//                                 1e6 bytes). Bounded like the pipe and
//                                 socket streams it is compared with: a
//                                 producer that gets ahead waits, where an
//                                 unbounded queue would grow and measure
//                                 page allocation for the backlog instead.
//
// The producer is party 1 and the consuming parent party 0 for BENCH_PIN.
// Children are forked before the timed loop and told over a pipe how many
// items to move, as the baselines do.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "queue/queue.h"
#include "tools/bench_util/bench_util.h"

namespace mp {
namespace {

using Item64 = std::array<char, 64>;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "queue_benchmark: %s\n", what);
  std::exit(2);
}

void WriteAll(int fd, const void* p, size_t n) {
  if (write(fd, p, n) != static_cast<ssize_t>(n)) Die("write");
}

bool ReadAll(int fd, void* p, size_t n) {
  return read(fd, p, n) == static_cast<ssize_t>(n);
}

// A forked helper process that moves a given number of items per command.
struct Worker {
  pid_t pid = -1;
  int ctl = -1;  // parent writes item counts
  int ack = -1;  // worker writes one byte per finished batch
};

template <typename Body>
Worker Fork(int party, std::vector<Worker>& others, Body body) {
  int c[2], a[2];
  if (pipe(c) != 0 || pipe(a) != 0) Die("pipe");
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    bench::Pin(party);
    close(c[1]);
    close(a[0]);
    for (Worker& w : others) {
      close(w.ctl);
      close(w.ack);
    }
    int64_t n;
    while (ReadAll(c[0], &n, sizeof n)) {
      if (!body(n)) _exit(3);
      WriteAll(a[1], "k", 1);
    }
    _exit(0);
  }
  close(c[0]);
  close(a[1]);
  return Worker{pid, c[1], a[0]};
}

void Command(const Worker& w, int64_t n) { WriteAll(w.ctl, &n, sizeof n); }
void AwaitAck(const Worker& w) {
  char k;
  if (!ReadAll(w.ack, &k, 1)) Die("worker failed");
}
void Finish(std::vector<Worker>& workers) {
  for (Worker& w : workers) {
    close(w.ctl);
    close(w.ack);
  }
  for (Worker& w : workers) waitpid(w.pid, nullptr, 0);
}

template <typename Q>
bool Produce64(Q& q, int64_t n) {
  Item64 item;
  item.fill('p');
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(item.data(), &i, sizeof i);
    if (!q.Put(item).ok()) return false;
  }
  return true;
}

template <typename Q>
void OneToOne(benchmark::State& state, Q q) {
  std::vector<Worker> none;
  Worker producer = Fork(1, none, [&q](int64_t n) { return Produce64(q, n); });
  bench::Pin(0);
  Command(producer, state.max_iterations);
  int64_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<Item64> item = q.Get();
    if (!item.ok()) Die("get");
    int64_t seq;
    std::memcpy(&seq, item->data(), sizeof seq);
    if (seq != i++) Die("items out of order");
  }
  AwaitAck(producer);
  std::vector<Worker> workers = {producer};
  Finish(workers);
  state.counters["items/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Queue1p1c(benchmark::State& state) {
  absl::StatusOr<Queue<Item64>> q = Queue<Item64>::Create();
  if (!q.ok()) Die("Queue::Create");
  OneToOne(state, *q);
}
BENCHMARK(BM_Queue1p1c)
    ->Name(bench::FigureName("mp_queue_1p1c"))
    ->UseRealTime();

void BM_QueueMax1024_1p1c(benchmark::State& state) {
  absl::StatusOr<Queue<Item64>> q = Queue<Item64>::Create(1024);
  if (!q.ok()) Die("Queue::Create");
  OneToOne(state, *q);
}
BENCHMARK(BM_QueueMax1024_1p1c)
    ->Name(bench::FigureName("mp_queue_max1024_1p1c"))
    ->UseRealTime();

void BM_SimpleQueue1p1c(benchmark::State& state) {
  absl::StatusOr<SimpleQueue<Item64>> q = SimpleQueue<Item64>::Create();
  if (!q.ok()) Die("SimpleQueue::Create");
  OneToOne(state, *q);
}
BENCHMARK(BM_SimpleQueue1p1c)
    ->Name(bench::FigureName("mp_simplequeue_1p1c"))
    ->UseRealTime();

// The cost of a Put and a Get with no hand-off (one thread does both).
void BM_PutGetSameThread(benchmark::State& state) {
  absl::StatusOr<Queue<Item64>> q = Queue<Item64>::Create();
  if (!q.ok()) Die("Queue::Create");
  Item64 item;
  item.fill('p');
  for (auto _ : state) {
    if (!q->Put(item).ok()) Die("put");
    absl::StatusOr<Item64> got = q->Get();
    if (!got.ok()) Die("get");
    benchmark::DoNotOptimize(got->data());
  }
}
BENCHMARK(BM_PutGetSameThread)->Name("mp_queue_put_get_one_thread");

// One iteration moves kBatch items through the queue.
void BM_Queue2p2c(benchmark::State& state) {
  constexpr int64_t kBatch = 200000;
  absl::StatusOr<Queue<Item64>> q = Queue<Item64>::Create();
  if (!q.ok()) Die("Queue::Create");
  std::vector<Worker> all, consumers, producers;
  for (int i = 0; i < 2; ++i) {
    consumers.push_back(Fork(i, all, [&q](int64_t n) {
      for (int64_t k = 0; k < n; ++k) {
        if (!q->Get().ok()) return false;
      }
      return true;
    }));
    all.push_back(consumers.back());
  }
  for (int i = 0; i < 2; ++i) {
    producers.push_back(
        Fork(i, all, [&q](int64_t n) { return Produce64(*q, n); }));
    all.push_back(producers.back());
  }
  for (auto _ : state) {
    for (Worker& w : consumers) Command(w, kBatch / 2);
    for (Worker& w : producers) Command(w, kBatch / 2);
    for (Worker& w : consumers) AwaitAck(w);
    state.PauseTiming();
    for (Worker& w : producers) AwaitAck(w);
    state.ResumeTiming();
  }
  Finish(all);
  state.counters["items/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Queue2p2c)->Name("mp_queue_2p2c")->UseRealTime();

void BM_Queue1MiB(benchmark::State& state) {
  constexpr size_t kSize = size_t{1} << 20;
  absl::StatusOr<Queue<std::string>> q = Queue<std::string>::Create(8);
  if (!q.ok()) Die("Queue::Create");
  std::vector<Worker> none;
  Worker producer = Fork(1, none, [&q](int64_t n) {
    const std::string item(kSize, 'm');
    for (int64_t i = 0; i < n; ++i) {
      if (!q->Put(item).ok()) return false;
    }
    return true;
  });
  bench::Pin(0);
  Command(producer, state.max_iterations);
  for (auto _ : state) {
    absl::StatusOr<std::string> item = q->Get();
    if (!item.ok() || item->size() != kSize) Die("get");
    benchmark::DoNotOptimize(item->data());
  }
  AwaitAck(producer);
  std::vector<Worker> workers = {producer};
  Finish(workers);
  state.counters["MB/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kSize),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Queue1MiB)
    ->Name(bench::FigureName("mp_queue_1MiB"))
    ->UseRealTime();

}  // namespace
}  // namespace mp
