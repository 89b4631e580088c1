// Tour section: mp::Pipe, used the way Python programs use
// multiprocessing.Pipe: a duplex pipe where both ends send and receive, a
// producer and a consumer process (each process closes the end it does not
// use, so the consumer's recv ends with EOFError), and a one-way pipe
// between a writer and a reader process. The children's sleeps stand for
// their work (0.1 s, so that the tour runs quickly).
//
// Every target is a registered function, so the section runs the same under
// the spawn start method, the only one on Windows.
#include <cstdio>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status.h"
#include "examples/tour.h"
#include "pipe/pipe.h"
#include "process/process.h"

namespace mp {
namespace tour {
namespace {

constexpr absl::Duration kWork = absl::Milliseconds(100);

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

// Duplex: the child answers the parent's question on the same end.
int Answer(Connection& conn, Connection& parent_end) {
  Check(parent_end.Close());
  absl::StatusOr<std::string> question = conn.Recv<std::string>();
  if (!question.ok()) return 1;
  Say("  child received: %s\n", question->c_str());
  return conn.Send(std::string("42")).ok() ? 0 : 1;
}
MP_REGISTER(Answer);

// The consumer(pipe): closes the input end, then prints every item
// until EOFError.
void SeedConsumer(Connection& output_p, Connection& input_p) {
  Check(input_p.Close());  // close the pipe's input end
  while (true) {
    absl::StatusOr<int> item = output_p.Recv<int>();
    if (IsEof(item.status())) break;  // except EOFError: break
    if (!item.ok()) {
      Check(item.status());
      break;
    }
    Say("  %d\n", *item);
  }
}
MP_REGISTER(SeedConsumer);

// The writer put(p): sends A, B, C over the one-way pipe.
void SeedPut(Connection& writer, Connection& reader) {
  Check(reader.Close());
  for (const char* value : {"A", "B", "C"}) {
    Say("  send %s to the pipe...\n", value);
    Check(writer.Send(std::string(value)));
    absl::SleepFor(kWork);
  }
}
MP_REGISTER(SeedPut);

// The reader get(p). A reader that loops forever would have to be
// terminated; with every unused end closed this one stops on EOF instead.
void SeedGet(Connection& reader, Connection& writer) {
  Check(writer.Close());
  while (true) {
    absl::StatusOr<std::string> value = reader.Recv<std::string>();
    if (IsEof(value.status())) break;
    if (!value.ok()) {
      Check(value.status());
      break;
    }
    Say("  received %s from the pipe\n", value->c_str());
  }
  Say("  get: EOFError, every writer is closed\n");
}
MP_REGISTER(SeedGet);

}  // namespace

void TourPipe() {
  Heading("pipe: Pipe() is duplex; both ends send and receive");
  {
    absl::StatusOr<std::pair<Connection, Connection>> p = Pipe();
    if (!p.ok()) return Check(p.status());
    auto& [conn1, conn2] = *p;
    Process child(Answer, std::ref(conn2), std::ref(conn1));
    Check(child.Start());
    Check(conn2.Close());
    Check(conn1.Send(std::string("what is the answer?")));
    absl::StatusOr<std::string> answer = conn1.Recv<std::string>();
    if (answer.ok()) Say("  parent received: %s\n", answer->c_str());
    Check(child.Join());
  }

  Heading("pipe: a producer and a consumer process");
  {
    absl::StatusOr<std::pair<Connection, Connection>> p = Pipe(true);
    if (!p.ok()) return Check(p.status());
    auto& [output_p, input_p] = *p;
    // Start the consumer process.
    Process cons_p(SeedConsumer, std::ref(output_p), std::ref(input_p));
    Check(cons_p.Start());
    // Close the output end in the producer.
    Check(output_p.Close());
    Say("  producer closed its output end\n");
    // Produce the items.
    for (int item : {1, 2, 3, 4}) Check(input_p.Send(item));
    // Close the input end: done.
    Check(input_p.Close());
    // Wait for the consumer to finish.
    Check(cons_p.Join());
    Say("  consumer exited with %d\n", cons_p.exitcode().value_or(-1));
  }

  Heading("pipe: Pipe(duplex=False) between two processes");
  {
    absl::StatusOr<std::pair<Connection, Connection>> p = Pipe(false);
    if (!p.ok()) return Check(p.status());
    auto& [reader, writer] = *p;  // left end receives, right end sends
    Process pw(SeedPut, std::ref(writer), std::ref(reader));
    Process pr(SeedGet, std::ref(reader), std::ref(writer));
    Check(pw.Start());
    Check(pr.Start());
    // The parent uses neither end: closing them lets get see EOF.
    Check(reader.Close());
    Check(writer.Close());
    Check(pw.Join());
    Check(pr.Join());
  }

  Heading("pipe: Python's exceptions, as statuses");
  {
    absl::StatusOr<std::pair<Connection, Connection>> p = Pipe(false);
    if (!p.ok()) return Check(p.status());
    auto& [reader, writer] = *p;
    Check(writer.SendBytes(std::string(110, 'x')));
    char small[40];
    absl::StatusOr<size_t> n = reader.RecvBytesInto(absl::MakeSpan(small));
    Say("  recv_bytes_into(40 bytes): %s (needs %zu)\n",
        n.status().ToString().c_str(), MessageLength(n.status()).value_or(0));
    absl::StatusOr<std::string> kept = reader.RecvBytes();
    Say("  the message is still there: %zu bytes\n",
        kept.ok() ? kept->size() : 0);
    Say("  poll(0.1 s) on an empty pipe: %s\n",
        *reader.Poll(absl::Milliseconds(100)) ? "true" : "false");
    Check(writer.Close());
    Say("  recv after the writer closed: %s\n",
        reader.RecvBytes().status().ToString().c_str());
    Say("  send on the read end: %s\n",
        reader.SendBytes("x").ToString().c_str());
  }
}

}  // namespace tour
}  // namespace mp
