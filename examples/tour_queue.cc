// Tour section: Queue, SimpleQueue and JoinableQueue, used the way Python
// programs use multiprocessing's queues: put and get, full and qsize, a
// writer process then a reader process, a list passed between two children,
// and producers with daemon consumers on a JoinableQueue.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "examples/tour.h"
#include "process/process.h"
#include "queue/queue.h"

namespace mp {
namespace tour {
namespace {

void Say(const std::string& line) {
  std::printf("  %s\n", line.c_str());
  std::fflush(stdout);
}

// A writer process, then a reader that reads qsize() items.
void Write(Queue<std::string> q) {
  for (const char* v : {"a", "b", "c", "d"}) {
    Say(std::string("writing: ") + v);
    q.Put(v).IgnoreError();
  }
}
MP_REGISTER(Write);

void Read(Queue<std::string> q) {
  for (int64_t i = q.Qsize(); i > 0; --i) {
    absl::StatusOr<std::string> v = q.Get();
    if (v.ok()) Say("read: " + *v);
  }
}
MP_REGISTER(Read);

// Producers put into a JoinableQueue(5) and wait for it to be
// processed; a daemon consumer gets and marks done forever.
void Produce(JoinableQueue<std::string> q, std::string tag) {
  for (int i = 0; i < 3; ++i) {
    std::string item = tag + std::to_string(i);
    q.Put(item).IgnoreError();
    Say("produce " + item);
  }
  q.Join().IgnoreError();
}
MP_REGISTER(Produce);

void Consume(JoinableQueue<std::string> q) {
  for (;;) {
    absl::StatusOr<std::string> item = q.Get();
    if (!item.ok()) return;
    Say("consumer got " + *item);
    q.TaskDone().IgnoreError();
  }
}
MP_REGISTER(Consume);

// A child puts a list; another child gets it.
void PutList(Queue<std::vector<int>> q) { q.Put({1, 2, 3}).IgnoreError(); }
MP_REGISTER(PutList);

void PrintList(Queue<std::vector<int>> q) {
  absl::StatusOr<std::vector<int>> v = q.Get();
  if (!v.ok()) return;
  std::string s = "[";
  for (size_t i = 0; i < v->size(); ++i) {
    s += (i ? ", " : "") + std::to_string((*v)[i]);
  }
  Say("got " + s + "]");
}
MP_REGISTER(PrintList);

void StartJoin(Process& p) {
  p.Start().IgnoreError();
  p.Join().IgnoreError();
}

}  // namespace

void TourQueue() {
  Heading("queue: put, get, full, qsize");
  absl::StatusOr<Queue<std::string>> q = Queue<std::string>::Create(3);
  if (!q.ok()) {
    Say("cannot create a queue: " + q.status().ToString());
    return;
  }
  for (const char* m : {"message 1", "message 2", "message 3"}) {
    q->Put(m).IgnoreError();
  }
  Say(std::string("full? ") + (q->Full() ? "True" : "False"));
  absl::Status s = q->Put("message 4", absl::Seconds(1));
  Say("put with a 1 s timeout on a full queue: " +
      std::string(PythonName(KindOf(s))));
  // Python's qsize() raised NotImplementedError on macOS; this one is exact
  // everywhere.
  Say("qsize: " + std::to_string(q->Qsize()));
  for (int64_t n = q->Qsize(); n > 0; --n) Say(*q->Get());
  Say("get_nowait on an empty queue: " +
      std::string(PythonName(KindOf(q->GetNowait().status()))));

  Heading("queue: a writer process, then a reader process");
  absl::StatusOr<Queue<std::string>> letters = Queue<std::string>::Create();
  if (!letters.ok()) return;
  Process pw(Write, *letters);
  StartJoin(pw);
  Process pr(Read, *letters);
  StartJoin(pr);

  Heading("queue: a list through a queue between two children");
  absl::StatusOr<Queue<std::vector<int>>> lists =
      Queue<std::vector<int>>::Create();
  if (!lists.ok()) return;
  Process p(PutList, *lists);
  StartJoin(p);
  Process p1(PrintList, *lists);
  StartJoin(p1);

  Heading("queue: three producers, two daemon consumers");
  absl::StatusOr<JoinableQueue<std::string>> jq =
      JoinableQueue<std::string>::Create(5);
  if (!jq.ok()) return;
  std::vector<Process> producers;
  for (const char* tag : {"$$", "@@", "**"})
    producers.emplace_back(Produce, *jq, tag);
  std::vector<Process> consumers;
  for (int i = 0; i < 2; ++i) {
    consumers.emplace_back(Consume, *jq);
    consumers.back().set_daemon(true).IgnoreError();
  }
  for (Process& c : consumers) c.Start().IgnoreError();
  for (Process& w : producers) w.Start().IgnoreError();
  for (Process& w : producers) w.Join().IgnoreError();
  Say("every item was processed: the producers' join() returned");
  for (Process& c : consumers) {
    c.Terminate().IgnoreError();
    c.Join().IgnoreError();
  }

  Heading("queue: close");
  q->Close().IgnoreError();
  s = q->Put("late");
  Say("put after close: " + s.ToString());
}

}  // namespace tour
}  // namespace mp
