#include "tools/soak/soak.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "process/process.h"

namespace mp {
namespace soak {

Crew::Crew(Slot* slots, int n, std::function<Process(int slot)> make)
    : slots_(slots), n_(n), make_(std::move(make)), reported_call_(n, 0) {
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) workers_.push_back(Process());
}

Crew::~Crew() {
  for (Process& w : workers_) {
    if (w.IsAlive()) w.Kill().IgnoreError();
    w.Join(kStuck).IgnoreError();
  }
}

bool Crew::Start(int slot) {
  slots_[slot].call_start.store(0);
  slots_[slot].holding.store(0);
  workers_[slot] = make_(slot);
  absl::Status s = workers_[slot].Start();
  if (!s.ok()) {
    std::fprintf(stderr, "soak: a worker did not start: %s\n",
                 std::string(s.message()).c_str());
  }
  return s.ok();
}

bool Crew::StartAll() {
  for (int i = 0; i < n_; ++i) {
    if (!Start(i)) return false;
  }
  return true;
}

std::optional<Crew::Victim> Crew::Kill(int slot) {
  Process& w = workers_[slot];
  w.Kill().IgnoreError();  // OK too for one that has ended by itself
  if (!w.Join(kStuck).ok()) {
    std::fprintf(stderr, "soak: a killed worker did not end\n");
    return std::nullopt;
  }
  if (w.exitcode() != -9 && w.exitcode() != 0) ++failures_;
  const Victim victim{slot, slots_[slot].holding.load() != 0};
  if (!Start(slot)) return std::nullopt;
  return victim;
}

int Crew::RestartFinished() {
  int restarted = 0;
  for (int i = 0; i < n_; ++i) {
    if (workers_[i].IsAlive()) continue;
    if (workers_[i].exitcode() != 0) ++failures_;
    if (!Start(i)) return -1;
    ++restarted;
  }
  return restarted;
}

int Crew::JoinAll(const std::vector<int>& slots) {
  int stuck = 0;
  for (int i : slots) {
    Process& w = workers_[i];
    if (!w.Join(kStuck).ok()) {
      std::fprintf(stderr, "soak: worker %d did not end within %s\n", i,
                   absl::FormatDuration(kStuck).c_str());
      ++stuck;
      w.Kill().IgnoreError();
      w.Join(kStuck).IgnoreError();
    } else if (w.exitcode() != 0) {
      ++failures_;
    }
  }
  return stuck;
}

int Crew::CountStuckCalls() {
  int stuck = 0;
  const int64_t now = Deadline::NowNanos();
  for (int i = 0; i < n_; ++i) {
    const int64_t start = slots_[i].call_start.load();
    if (start != 0 && start != reported_call_[i] &&
        now - start > absl::ToInt64Nanoseconds(kStuck)) {
      std::fprintf(stderr, "soak: worker %d is stuck in a call\n", i);
      reported_call_[i] = start;
      ++stuck;
    }
  }
  return stuck;
}

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: soak queue|lock|all [--minutes M] [--seconds S] "
               "[--seed N]\n");
  return 2;
}

}  // namespace

}  // namespace soak
}  // namespace mp

int main(int argc, char** argv) {
  mp::ChildMain(argc, argv);
  if (argc < 2) return mp::soak::Usage();
  const std::string what = argv[1];
  mp::soak::Options options;
  options.duration = absl::Minutes(1);
  options.seed = static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()));
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    double x = 0;
    if (!absl::SimpleAtod(argv[i + 1], &x) || x < 0) return mp::soak::Usage();
    if (flag == "--minutes") {
      options.duration = absl::Minutes(x);
    } else if (flag == "--seconds") {
      options.duration = absl::Seconds(x);
    } else if (flag == "--seed") {
      options.seed = static_cast<uint32_t>(x);
    } else {
      return mp::soak::Usage();
    }
  }
  if (argc % 2 != 0) return mp::soak::Usage();
  std::printf("soak %s: %s, seed %u\n", what.c_str(),
              absl::FormatDuration(options.duration).c_str(), options.seed);
  std::fflush(stdout);
  if (what == "queue") return mp::soak::SoakQueue(options);
  if (what == "lock") return mp::soak::SoakLock(options);
  if (what == "all") {
    mp::soak::Options half = options;
    half.duration = options.duration / 2;
    const int q = mp::soak::SoakQueue(half);
    const int l = mp::soak::SoakLock(half);
    return q != 0 ? q : l;
  }
  return mp::soak::Usage();
}
