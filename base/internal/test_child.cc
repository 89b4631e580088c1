#include "base/internal/test_child.h"

#include <cstdio>
#include <map>
#include <string>
#include <utility>

#include "base/internal/test_util.h"
#include "base/launch.h"
#include "gtest/gtest.h"

#ifndef _WIN32
#include <unistd.h>
#endif

namespace mp {
namespace test_util {
namespace {

std::map<std::string, ChildMain>& Registry() {
  static auto* registry = new std::map<std::string, ChildMain>;
  return *registry;
}

}  // namespace

ChildRegistrar::ChildRegistrar(const char* name, ChildMain fn) {
  Registry()[name] = fn;
}

absl::StatusOr<ChildProcess> SpawnEncoded(
    const std::string& name, const std::string& payload,
    const std::vector<NativeHandle>& handles) {
  LaunchOptions options;
  options.args = {name};
  options.payload = payload;
  options.handles = handles;
  options.kill_with_parent = true;
  return LaunchSelf(options);
}

#ifndef _WIN32
absl::StatusOr<ChildProcess> ForkChild(absl::FunctionRef<int()> fn) {
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) _exit(fn());
  return ChildProcess::Adopt(pid);
}

absl::StatusOr<ChildProcess> ForkAndHold(absl::FunctionRef<bool()> setup) {
  auto [read_end, write_end] = test_util::MakePipe();
  absl::StatusOr<ChildProcess> child = ForkChild([&] {
    read_end.reset();
    if (!test_util::WriteAll(write_end.get(), setup() ? "y" : "n")) return 1;
    test_util::SleepForever();
  });
  if (!child.ok()) return child.status();
  write_end.reset();  // so that a child that dies early gives end of file
  if (test_util::ReadSome(read_end.get(), 1) == "y") return child;
  child->Kill().IgnoreError();
  child->Wait().IgnoreError();
  return absl::InternalError("the forked child's setup failed");
}
#endif

int ExitCode(absl::StatusOr<ChildProcess>& child) {
  if (!child.ok()) {
    ADD_FAILURE() << child.status();
    return -1000;
  }
  absl::StatusOr<int> code = child->Wait();
  if (!code.ok()) {
    ADD_FAILURE() << code.status();
    return -1001;
  }
  return *code;
}

absl::StatusOr<std::vector<OwnedHandle>> DuplicateAll(
    const std::vector<NativeHandle>& handles) {
  std::vector<OwnedHandle> copies;
  for (NativeHandle h : handles) {
    OwnedHandle borrowed(h);
    absl::StatusOr<OwnedHandle> copy = borrowed.Duplicate();
    borrowed.release();  // still the sender's
    if (!copy.ok()) return copy.status();
    copies.push_back(*std::move(copy));
  }
  return copies;
}

int TestMain(int argc, char** argv) {
  if (IsLaunchedChild(argc, argv)) {
    absl::StatusOr<LaunchInfo> info = TakeLaunchInfo(argc, argv);
    if (!info.ok() || info->args.size() != 1) {
      std::fprintf(stderr, "test child: bad launch\n");
      return 120;
    }
    auto it = Registry().find(info->args[0]);
    if (it == Registry().end()) {
      std::fprintf(stderr, "test child: no child '%s'\n",
                   info->args[0].c_str());
      return 121;
    }
    Decoder d(info->payload, &info->handles);
    return it->second(d);
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

}  // namespace test_util
}  // namespace mp
