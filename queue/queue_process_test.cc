// Queues shared with child processes passed as Process arguments, under
// every start method this platform has (fork and spawn on Linux, spawn on
// Windows): CPython's cross-process queue tests, small example programs like
// those of examples/tour_queue.cc (the Seed* tests, numbered by scenario),
// and a many-producer many-consumer stress test.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "process/process.h"
#include "queue/queue.h"

namespace mp {
namespace {

// Long enough never to fire in a healthy run; short enough that a bug
// fails the test instead of hanging it.
constexpr absl::Duration kPatience = absl::Seconds(60);

// ---------------------------------------------------------------------------
// Child targets.

int PutRange(Queue<int> q, int from, int to) {
  for (int i = from; i < to; ++i) {
    if (!q.Put(i).ok()) return 1;
  }
  return 0;
}
MP_REGISTER(PutRange);

int GetOne(Queue<std::string> q, std::string expected) {
  absl::StatusOr<std::string> item = q.Get(kPatience);
  if (!item.ok()) return 1;
  return *item == expected ? 0 : 2;
}
MP_REGISTER(GetOne);

int PutBig(Queue<std::string> q, int size) {
  std::string item(static_cast<size_t>(size), '\0');
  for (size_t i = 0; i < item.size(); ++i) item[i] = static_cast<char>(i * 7);
  return q.Put(item).ok() ? 0 : 1;
}
MP_REGISTER(PutBig);

// CPython's test_task_done worker: squares what it gets, marks it done,
// stops at a negative item.
int Square(JoinableQueue<int> tasks, Queue<int> results) {
  for (;;) {
    absl::StatusOr<int> v = tasks.Get(kPatience);
    if (!v.ok()) return 1;
    if (*v < 0) return tasks.TaskDone().ok() ? 0 : 2;
    if (!results.Put(*v * *v).ok()) return 3;
    if (!tasks.TaskDone().ok()) return 4;
  }
}
MP_REGISTER(Square);

// A writer puts a, b, c, d; the reader, started after it ended,
// reads qsize() items.
int Seed000Write(Queue<std::string> q) {
  for (const char* s : {"a", "b", "c", "d"}) {
    if (!q.Put(s).ok()) return 1;
  }
  return 0;
}
MP_REGISTER(Seed000Write);

int Seed000Read(Queue<std::string> q, Queue<std::string> seen) {
  int64_t n = q.Qsize();
  for (int64_t i = 0; i < n; ++i) {
    absl::StatusOr<std::string> v = q.Get(kPatience);
    if (!v.ok() || !seen.Put(*v).ok()) return 1;
  }
  return static_cast<int>(n);
}
MP_REGISTER(Seed000Read);

// Producers put into a JoinableQueue(5) and join it; daemon
// consumers get and mark done forever.
int Seed001Produce(JoinableQueue<std::string> q, std::string tag, int n) {
  for (int i = 0; i < n; ++i) {
    if (!q.Put(tag + std::to_string(i)).ok()) return 1;
  }
  return q.Join(kPatience).ok() ? 0 : 2;
}
MP_REGISTER(Seed001Produce);

int Seed001Consume(JoinableQueue<std::string> q, Queue<std::string> seen) {
  for (;;) {
    absl::StatusOr<std::string> v = q.Get();
    if (!v.ok()) return 1;
    if (!seen.Put(*v).ok()) return 2;
    if (!q.TaskDone().ok()) return 3;
  }
}
MP_REGISTER(Seed001Consume);

// One child puts a list, another gets it.
int Seed003Put(Queue<std::vector<int>> q, std::vector<int> data) {
  return q.Put(data).ok() ? 0 : 1;
}
MP_REGISTER(Seed003Put);

int Seed003Get(Queue<std::vector<int>> q, std::vector<int> expected) {
  absl::StatusOr<std::vector<int>> v = q.Get(kPatience);
  return v.ok() && *v == expected ? 0 : 1;
}
MP_REGISTER(Seed003Get);

// A reader that loops forever until terminated.
int Seed004Read(Queue<std::string> q, Queue<std::string> seen) {
  for (;;) {
    absl::StatusOr<std::string> v = q.Get();
    if (!v.ok() || !seen.Put(*v).ok()) return 1;
  }
}
MP_REGISTER(Seed004Read);

// The stress test: producer `id` puts (id, 0) .. (id, n-1).
int StressProduce(Queue<std::pair<int32_t, int32_t>> q, int id, int n) {
  for (int i = 0; i < n; ++i) {
    if (!q.Put({id, i}).ok()) return 1;
  }
  return 0;
}
MP_REGISTER(StressProduce);

// Gets until a (-1, -1) item, checks each producer's items arrive in order,
// and sends back everything it got, in one item.
int StressConsume(Queue<std::pair<int32_t, int32_t>> q,
                  Queue<std::vector<std::pair<int32_t, int32_t>>> results,
                  int producers) {
  std::vector<std::pair<int32_t, int32_t>> got;
  std::vector<int32_t> last(static_cast<size_t>(producers), -1);
  for (;;) {
    absl::StatusOr<std::pair<int32_t, int32_t>> v = q.Get(absl::Minutes(4));
    if (!v.ok()) return 1;
    if (v->first < 0) break;
    if (v->first >= producers) return 2;
    if (v->second <= last[static_cast<size_t>(v->first)]) return 3;
    last[static_cast<size_t>(v->first)] = v->second;
    got.push_back(*v);
  }
  return results.Put(got).ok() ? 0 : 4;
}
MP_REGISTER(StressConsume);

// ---------------------------------------------------------------------------

class QueueProcessTest : public ::testing::TestWithParam<StartMethod> {
 protected:
  template <typename F, typename... Args>
  Process Make(F&& f, Args&&... args) {
    Process p(std::forward<F>(f), std::forward<Args>(args)...);
    EXPECT_TRUE(p.set_start_method(GetParam()).ok());
    return p;
  }

  static void StartAll(std::vector<Process>& ps) {
    for (Process& p : ps) ASSERT_TRUE(p.Start().ok());
  }
  static void JoinAll(std::vector<Process>& ps, int code = 0,
                      absl::Duration patience = kPatience) {
    for (Process& p : ps) {
      ASSERT_TRUE(p.Join(patience).ok());
      EXPECT_EQ(p.exitcode(), code);
    }
  }
};

template <typename Q>
Q NewQueue(int64_t maxsize = 0) {
  auto q = Q::Create(maxsize);
  EXPECT_TRUE(q.ok()) << q.status();
  return *std::move(q);
}

// CPython's test_fork: the parent puts 0-9, a child 10-19 and exits; the
// parent then gets 0..19 in order (the child's items outlive it).
TEST_P(QueueProcessTest, ParentAndChildPutParentGetsInOrder) {
  auto q = NewQueue<Queue<int>>();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.Put(i).ok());
  Process p = Make(PutRange, q, 10, 20);
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Join(kPatience).ok());
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(q.Qsize(), 20);
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<int> v = q.Get(kPatience);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, i);
  }
  EXPECT_TRUE(q.Empty());
  EXPECT_TRUE(IsEmpty(q.GetNowait().status()));
}

// Close() is per process: a child started after the parent closed its
// queue has it open (Python's Queue._after_fork resets _closed).
TEST_P(QueueProcessTest, ClosedInTheParentOpenInTheChild) {
  auto q = NewQueue<Queue<int>>();
  ASSERT_TRUE(q.Close().ok());
  EXPECT_TRUE(IsClosed(q.Put(1)));
  Process p = Make(PutRange, q, 0, 3);
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Join(kPatience).ok());
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(q.Qsize(), 3);
  EXPECT_TRUE(IsClosed(q.Get().status()));
}

TEST_P(QueueProcessTest, ChildBlockedInGetIsWokenByParentsPut) {
  auto q = NewQueue<Queue<std::string>>();
  Process p = Make(GetOne, q, "hello");
  ASSERT_TRUE(p.Start().ok());
  absl::SleepFor(absl::Milliseconds(50));  // stands for the parent's work
  ASSERT_TRUE(q.Put("hello").ok());
  ASSERT_TRUE(p.Join(kPatience).ok());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(QueueProcessTest, BigItemFromAChildThatExited) {
  auto q = NewQueue<Queue<std::string>>();
  constexpr int kSize = 64 << 20;
  Process p = Make(PutBig, q, kSize);
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Join(kPatience).ok());
  EXPECT_EQ(p.exitcode(), 0);
  absl::StatusOr<std::string> v = q.Get(kPatience);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), static_cast<size_t>(kSize));
  for (size_t i = 0; i < v->size(); i += 4093) {
    ASSERT_EQ((*v)[i], static_cast<char>(i * 7)) << i;
  }
}

// CPython's test_task_done: four worker processes, ten items; Join returns
// once every item is done.
TEST_P(QueueProcessTest, JoinableQueueWithFourWorkers) {
  auto tasks = NewQueue<JoinableQueue<int>>();
  auto results = NewQueue<Queue<int>>();
  std::vector<Process> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(Make(Square, tasks, results));
  ASSERT_NO_FATAL_FAILURE(StartAll(workers));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(tasks.Put(i).ok());
  ASSERT_TRUE(tasks.Join(kPatience).ok());
  EXPECT_EQ(results.Qsize(), 10);
  int sum = 0;
  while (!results.Empty()) sum += *results.Get();
  EXPECT_EQ(sum, 285);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(tasks.Put(-1).ok());
  ASSERT_NO_FATAL_FAILURE(JoinAll(workers));
  EXPECT_TRUE(tasks.Join(absl::ZeroDuration()).ok());
  EXPECT_EQ(tasks.TaskDone().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(QueueProcessTest, Seed000WriterThenReader) {
  auto q = NewQueue<Queue<std::string>>();
  auto seen = NewQueue<Queue<std::string>>();
  Process pw = Make(Seed000Write, q);
  ASSERT_TRUE(pw.Start().ok());
  ASSERT_TRUE(pw.Join(kPatience).ok());
  EXPECT_EQ(pw.exitcode(), 0);
  EXPECT_EQ(q.Qsize(), 4);  // exact, where Python's fails on macOS
  Process pr = Make(Seed000Read, q, seen);
  ASSERT_TRUE(pr.Start().ok());
  ASSERT_TRUE(pr.Join(kPatience).ok());
  EXPECT_EQ(pr.exitcode(), 4);
  for (const char* s : {"a", "b", "c", "d"}) EXPECT_EQ(*seen.Get(), s);
  EXPECT_TRUE(q.Empty());
}

TEST_P(QueueProcessTest, Seed001OneProducerOneDaemonConsumer) {
  auto q = NewQueue<JoinableQueue<std::string>>(5);
  auto seen = NewQueue<Queue<std::string>>();
  Process p = Make(Seed001Produce, q, "*", 10);
  Process c = Make(Seed001Consume, q, seen);
  ASSERT_TRUE(c.set_daemon(true).ok());
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(c.Start().ok());
  ASSERT_TRUE(p.Join(kPatience).ok());  // returns once all 10 are done
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(seen.Qsize(), 10);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*seen.Get(), "*" + std::to_string(i));
  EXPECT_TRUE(c.IsAlive());  // still waiting for more
  ASSERT_TRUE(c.Terminate().ok());
  ASSERT_TRUE(c.Join(kPatience).ok());
}

TEST_P(QueueProcessTest, Seed001ThreeProducersTwoDaemonConsumers) {
  auto q = NewQueue<JoinableQueue<std::string>>(5);
  auto seen = NewQueue<Queue<std::string>>();
  std::vector<Process> producers, consumers;
  for (const char* tag : {"$$", "@@", "**"}) {
    producers.push_back(Make(Seed001Produce, q, tag, 3));
  }
  for (int i = 0; i < 2; ++i) {
    consumers.push_back(Make(Seed001Consume, q, seen));
    ASSERT_TRUE(consumers.back().set_daemon(true).ok());
  }
  ASSERT_NO_FATAL_FAILURE(StartAll(producers));
  ASSERT_NO_FATAL_FAILURE(StartAll(consumers));
  ASSERT_NO_FATAL_FAILURE(JoinAll(producers));
  std::vector<std::string> got;
  while (!seen.Empty()) got.push_back(*seen.Get());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"$$0", "$$1", "$$2", "**0", "**1",
                                           "**2", "@@0", "@@1", "@@2"}));
  for (Process& c : consumers) {
    ASSERT_TRUE(c.Terminate().ok());
    ASSERT_TRUE(c.Join(kPatience).ok());
  }
}

TEST_P(QueueProcessTest, Seed003OneChildPutsAnotherGets) {
  auto q = NewQueue<Queue<std::vector<int>>>();
  Process p = Make(Seed003Put, q, std::vector<int>{1, 2, 3});
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.Join(kPatience).ok());
  Process p1 = Make(Seed003Get, q, std::vector<int>{1, 2, 3});
  ASSERT_TRUE(p1.Start().ok());
  ASSERT_TRUE(p1.Join(kPatience).ok());
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(p1.exitcode(), 0);
}

TEST_P(QueueProcessTest, Seed004EndlessReaderIsTerminated) {
  auto q = NewQueue<Queue<std::string>>();
  auto seen = NewQueue<Queue<std::string>>();
  Process pr = Make(Seed004Read, q, seen);
  ASSERT_TRUE(pr.Start().ok());
  for (const char* v : {"A", "B", "C"}) {
    ASSERT_TRUE(q.Put(v).ok());
    absl::StatusOr<std::string> echoed = seen.Get(kPatience);
    ASSERT_TRUE(echoed.ok()) << echoed.status();
    EXPECT_EQ(*echoed, v);
  }
  ASSERT_TRUE(pr.Terminate().ok());
  ASSERT_TRUE(pr.Join(kPatience).ok());
  EXPECT_LT(*pr.exitcode(), 0);
  // The queue still works for everyone else.
  ASSERT_TRUE(q.Put("D").ok());
  EXPECT_EQ(*q.Get(), "D");
}

// 4 producers x 4 consumers x 100000 items, each in its own process: every
// item is received exactly once, each producer's in order.
TEST_P(QueueProcessTest, StressFourByFour) {
  constexpr int kProducers = 4, kConsumers = 4, kItems = 100000;
  auto q = NewQueue<Queue<std::pair<int32_t, int32_t>>>();
  auto results = NewQueue<Queue<std::vector<std::pair<int32_t, int32_t>>>>();
  std::vector<Process> producers, consumers;
  for (int i = 0; i < kConsumers; ++i) {
    consumers.push_back(Make(StressConsume, q, results, kProducers));
  }
  for (int i = 0; i < kProducers; ++i) {
    producers.push_back(Make(StressProduce, q, i, kItems));
  }
  ASSERT_NO_FATAL_FAILURE(StartAll(consumers));
  ASSERT_NO_FATAL_FAILURE(StartAll(producers));
  // Under Wine on a loaded 2-CPU machine, eight processes passing 400000
  // items through kernel objects take about a minute; Linux, under one
  // second.
  ASSERT_NO_FATAL_FAILURE(JoinAll(producers, 0, absl::Minutes(4)));
  for (int i = 0; i < kConsumers; ++i) ASSERT_TRUE(q.Put({-1, -1}).ok());
  std::vector<std::vector<int32_t>> by_producer(kProducers);
  for (int i = 0; i < kConsumers; ++i) {
    auto got = results.Get(kPatience);
    ASSERT_TRUE(got.ok()) << got.status();
    for (const auto& [p, seq] : *got) by_producer[p].push_back(seq);
  }
  ASSERT_NO_FATAL_FAILURE(JoinAll(consumers));
  for (int p = 0; p < kProducers; ++p) {
    std::vector<int32_t>& seqs = by_producer[p];
    std::sort(seqs.begin(), seqs.end());
    ASSERT_EQ(seqs.size(), static_cast<size_t>(kItems)) << "producer " << p;
    for (int i = 0; i < kItems; ++i) ASSERT_EQ(seqs[i], i);
  }
  EXPECT_TRUE(q.Empty());
}

std::vector<StartMethod> Methods() {
  std::vector<StartMethod> methods;
  for (const std::string& name : GetAllStartMethods()) {
    methods.push_back(GetContext(name)->start_method());
  }
  return methods;
}

INSTANTIATE_TEST_SUITE_P(Methods, QueueProcessTest,
                         ::testing::ValuesIn(Methods()),
                         [](const ::testing::TestParamInfo<StartMethod>& info) {
                           return std::string(StartMethodName(info.param));
                         });

}  // namespace
}  // namespace mp
