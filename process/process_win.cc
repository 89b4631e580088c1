// Process on Windows: spawn only (CreateProcessW through base/launch.h),
// process handles as sentinels, a kill-on-close job for daemons.
#include <windows.h>

// After windows.h, whose types it uses.
#include <bcrypt.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/handle.h"
#include "base/launch.h"
#include "base/os_error.h"
#include "process/internal/state.h"
#include "process/process.h"

namespace mp {
namespace process_internal {
namespace {

// Runs before main(): the C runtime has parsed the command line into
// __argc/__argv by then. See process_posix.cc.
const bool kSpawnedChildChecked = [] {
  if (IsLaunchedChild(__argc, __argv) && __argc >= 3 &&
      kSpawnArg == __argv[2]) {
    NoteSpawnedChild();
  }
  return true;
}();

}  // namespace

int SelfPid() { return static_cast<int>(GetCurrentProcessId()); }

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (!BCRYPT_SUCCESS(BCryptGenRandom(
          nullptr, reinterpret_cast<PUCHAR>(&out[0]), static_cast<ULONG>(n),
          BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
    // No entropy source at all: an authkey must still differ between
    // unrelated runs, which this does.
    uint64_t seed = static_cast<uint64_t>(GetCurrentProcessId()) ^
                    static_cast<uint64_t>(Deadline::NowNanos());
    for (char& c : out) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      c = static_cast<char>(seed >> 56);
    }
  }
  return out;
}

void FlushAllOutput() {
  std::cout.flush();
  std::cerr.flush();
  std::clog.flush();
  std::fflush(nullptr);
}

int CpuCountImpl() {
  DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return n < 1 ? 1 : static_cast<int>(n);
}

std::vector<StartMethod> PlatformStartMethods() {
  return {StartMethod::kSpawn};
}

absl::StatusOr<bool> WaitReady(NativeHandle h, absl::Duration timeout) {
  const Deadline deadline = Deadline::After(timeout);
  for (;;) {
    DWORD r = WaitForSingleObject(h, deadline.RemainingMillis(INFINITE));
    if (r == WAIT_OBJECT_0) return true;
    if (r == WAIT_FAILED) return LastOsError("WaitForSingleObject");
    if (deadline.Expired()) return false;
  }
}

// MinGW binaries carry no PDB for the system symbolizer: the address
// has to do.
std::string FunctionName(void (*fn)()) {
  return absl::StrCat("at ", absl::Hex(reinterpret_cast<uintptr_t>(fn)));
}

// Spawned children get the parent's handle from the launcher; there are no
// fork children here.
OwnedHandle OpenParentSentinel(int) { return OwnedHandle(); }

absl::StatusOr<ChildProcess> Fork(ForkRequest&) {
  return absl::InvalidArgumentError("cannot find context for 'fork'");
}

}  // namespace process_internal
}  // namespace mp
