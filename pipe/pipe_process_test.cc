// Connections as Process arguments, under every start method the platform
// has (fork and spawn on Linux, spawn on Windows): an echo child, the
// example programs of examples/tour_pipe.cc (the Seed* tests: a producer and
// a consumer with unused ends closed, a one-way pipe between two children),
// and Wait() over children's connections and sentinels (CPython's test_wait
// and test_wait_sentinel).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/internal/test_util.h"
#include "pipe/pipe.h"
#include "process/process.h"

namespace mp {
namespace {

using pipe_test::CollectUntilEof;
using pipe_test::MakePipe;

// Echoes every message back until EOF. A forked child has a copy of the
// parent's end too, which it must close to ever see EOF (every copy of a
// writing end must be closed).
int EchoChild(Connection& conn, Connection& parent_end) {
  if (!parent_end.Close().ok()) return 2;
  while (true) {
    absl::StatusOr<std::string> m = conn.RecvBytes();
    if (IsEof(m.status())) return 0;
    if (!m.ok() || !conn.SendBytes(*m).ok()) return 2;
  }
}
MP_REGISTER(EchoChild);

// The consumer: closes its copy of the input end, receives until
// EOFError, reports what it got.
int Consumer(Connection& output_p, Connection& input_p, Connection& report) {
  if (!input_p.Close().ok()) return 2;
  std::vector<int> items;
  while (true) {
    absl::StatusOr<int> item = output_p.Recv<int>();
    if (IsEof(item.status())) break;
    if (!item.ok()) return 3;
    items.push_back(*item);
  }
  return report.Send(items).ok() ? 0 : 4;
}
MP_REGISTER(Consumer);

// A writer and a reader, two children over a one-way pipe.
int Put(Connection& writer) {
  for (const char* v : {"A", "B", "C"}) {
    if (!writer.Send(std::string(v)).ok()) return 2;
  }
  return 0;
}
MP_REGISTER(Put);

int Get(Connection& reader, Connection& writer, Connection& report) {
  // A forked Get has a copy of the writer: close it, or EOF never comes.
  if (!writer.Close().ok()) return 4;
  std::string got;
  while (true) {
    absl::StatusOr<std::string> v = reader.Recv<std::string>();
    if (IsEof(v.status())) break;
    if (!v.ok()) return 2;
    got += *v;
  }
  return report.Send(got).ok() ? 0 : 3;
}
MP_REGISTER(Get);

// CPython's _child_test_wait: ten messages, a little apart.
int Sender(int id, Connection& w) {
  for (int i = 0; i < 10; ++i) {
    if (!w.Send(std::make_pair(id, i)).ok()) return 2;
    absl::SleepFor(absl::Milliseconds(2));  // the child's work
  }
  return 0;
}
MP_REGISTER(Sender);

// Runs until told to stop.
int WaitForGo(Connection& go) { return go.RecvBytes().ok() ? 0 : 2; }
MP_REGISTER(WaitForGo);

class PipeProcessTest : public testing::TestWithParam<std::string> {
 protected:
  Context ctx() const { return *GetContext(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(StartMethods, PipeProcessTest,
                         testing::ValuesIn(GetAllStartMethods()),
                         [](const testing::TestParamInfo<std::string>& i) {
                           return i.param;
                         });

TEST_P(PipeProcessTest, EchoChildRoundTrips) {
  auto [conn, child_conn] = MakePipe(/*duplex=*/true);
  Process p = ctx().Process(EchoChild, std::ref(child_conn), std::ref(conn));
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(child_conn.Close().ok());
  for (size_t size : {0, 1, 100, 5000, 1 << 20}) {
    std::string msg(size, static_cast<char>('a' + size % 26));
    ASSERT_TRUE(conn.SendBytes(msg).ok());
    absl::StatusOr<std::string> back = conn.RecvBytes();
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == msg) << "size " << size;
  }
  std::map<std::string, std::vector<int>> obj = {{"x", {1, 2, 3}}};
  ASSERT_TRUE(conn.Send(obj).ok());
  EXPECT_EQ((*conn.Recv<std::map<std::string, std::vector<int>>>()), obj);
  ASSERT_TRUE(conn.Close().ok());
  ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(PipeProcessTest, SeedProducerConsumer) {
  auto [output_p, input_p] = MakePipe(/*duplex=*/true);
  auto [report_r, report_w] = MakePipe(/*duplex=*/false);
  Process cons = ctx().Process(Consumer, std::ref(output_p), std::ref(input_p),
                               std::ref(report_w));
  ASSERT_TRUE(cons.Start().ok());
  ASSERT_TRUE(report_w.Close().ok());
  // The producer closes the output end it does not use...
  ASSERT_TRUE(output_p.Close().ok());
  for (int item : {1, 2, 3, 4}) ASSERT_TRUE(input_p.Send(item).ok());
  // ...and its input end when done: the consumer's recv then gets EOF.
  ASSERT_TRUE(input_p.Close().ok());
  absl::StatusOr<std::vector<int>> got = report_r.Recv<std::vector<int>>();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<int>{1, 2, 3, 4}));
  ASSERT_TRUE(cons.Join().ok());
  EXPECT_EQ(cons.exitcode(), 0);
}

TEST_P(PipeProcessTest, SeedOneWayPipeBetweenTwoChildren) {
  auto [reader, writer] = MakePipe(/*duplex=*/false);
  auto [report_r, report_w] = MakePipe(/*duplex=*/false);
  Process pw = ctx().Process(Put, std::ref(writer));
  Process pr = ctx().Process(Get, std::ref(reader), std::ref(writer),
                             std::ref(report_w));
  ASSERT_TRUE(pw.Start().ok());
  ASSERT_TRUE(pr.Start().ok());
  // Every end this process does not use is closed, or Get never sees EOF.
  ASSERT_TRUE(reader.Close().ok());
  ASSERT_TRUE(writer.Close().ok());
  ASSERT_TRUE(report_w.Close().ok());
  EXPECT_EQ(*report_r.Recv<std::string>(), "ABC");
  ASSERT_TRUE(pw.Join().ok());
  ASSERT_TRUE(pr.Join().ok());
  EXPECT_EQ(pw.exitcode(), 0);
  EXPECT_EQ(pr.exitcode(), 0);
}

TEST_P(PipeProcessTest, WaitCollectsMessagesThenEofsFromFourChildren) {
  std::vector<Connection> readers;
  std::vector<Process> procs;
  for (int id = 0; id < 4; ++id) {
    auto [r, w] = MakePipe(/*duplex=*/false);
    procs.push_back(ctx().Process(Sender, id, std::ref(w)));
    ASSERT_TRUE(procs.back().Start().ok());
    ASSERT_TRUE(w.Close().ok());
    readers.push_back(std::move(r));
  }
  std::map<int, std::vector<int>> got;
  ASSERT_NO_FATAL_FAILURE(CollectUntilEof(
      readers, [](Connection& r) { return r.Recv<std::pair<int, int>>(); },
      &got));
  for (int id = 0; id < 4; ++id) {
    EXPECT_EQ(got[id], (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  }
  for (Process& p : procs) {
    ASSERT_TRUE(p.Join().ok());
    EXPECT_EQ(p.exitcode(), 0);
  }
}

TEST_P(PipeProcessTest, WaitOnAProcessSentinel) {
  auto [go_r, go_w] = MakePipe(/*duplex=*/false);
  auto [a, b] = MakePipe(/*duplex=*/true);
  Process p = ctx().Process(WaitForGo, std::ref(go_r));
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(go_r.Close().ok());
  absl::Time start = absl::Now();
  absl::StatusOr<std::vector<size_t>> ready =
      Wait({a, p}, absl::Milliseconds(100));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(ready->empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  ASSERT_TRUE(go_w.SendBytes("go").ok());
  ready = Wait({a, p}, absl::Seconds(60));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, (std::vector<size_t>{1}));
  ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(p.exitcode(), 0);
  // The sentinel as a plain handle says the same.
  ready = Wait({p.sentinel()}, absl::ZeroDuration());
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, (std::vector<size_t>{0}));
}

}  // namespace
}  // namespace mp
