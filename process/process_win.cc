// Process on Windows: spawn only (CreateProcessW through base/launch.h),
// process handles as sentinels, a kill-on-close job for daemons.
#include <windows.h>

// After windows.h, whose types it uses.
#include <bcrypt.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
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
#include "process/internal/type_name.h"
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

namespace {

// The name of the function at `address` from the COFF symbol table that
// MinGW leaves in the executable (the system symbolizer wants a PDB, which
// MinGW does not write); empty if there is none. GCC's names come back
// mangled.
std::string CoffSymbolAt(const void* address) {
  const auto* base = reinterpret_cast<const char*>(GetModuleHandleW(nullptr));
  const auto* dos = reinterpret_cast<const IMAGE_DOS_HEADER*>(base);
  const auto* nt =
      reinterpret_cast<const IMAGE_NT_HEADERS*>(base + dos->e_lfanew);
  const IMAGE_FILE_HEADER& file = nt->FileHeader;
  if (file.PointerToSymbolTable == 0 || file.NumberOfSymbols == 0) return "";
  const IMAGE_SECTION_HEADER* sections = IMAGE_FIRST_SECTION(nt);
  const uintptr_t rva =
      reinterpret_cast<uintptr_t>(address) - reinterpret_cast<uintptr_t>(base);
  // The symbol table is not mapped into memory: read it from the file.
  wchar_t path[MAX_PATH];
  DWORD n = GetModuleFileNameW(nullptr, path, MAX_PATH);
  if (n == 0 || n == MAX_PATH) return "";
  std::ifstream in(path, std::ios::binary);
  const size_t symbols_size =
      size_t{file.NumberOfSymbols} * IMAGE_SIZEOF_SYMBOL;
  std::string table(symbols_size + 4, '\0');
  in.seekg(file.PointerToSymbolTable);
  if (!in.read(&table[0], static_cast<std::streamsize>(table.size()))) {
    return "";
  }
  uint32_t strings_size;
  std::memcpy(&strings_size, &table[symbols_size], 4);
  std::string strings(strings_size < 4 ? 4 : strings_size, '\0');
  in.seekg(file.PointerToSymbolTable + symbols_size);
  if (!in.read(&strings[0], static_cast<std::streamsize>(strings.size()))) {
    return "";
  }
  for (DWORD i = 0; i < file.NumberOfSymbols; ++i) {
    IMAGE_SYMBOL sym;
    std::memcpy(&sym, &table[size_t{i} * IMAGE_SIZEOF_SYMBOL],
                IMAGE_SIZEOF_SYMBOL);
    if (sym.SectionNumber > 0 && sym.SectionNumber <= file.NumberOfSections &&
        ISFCN(sym.Type) &&
        sections[sym.SectionNumber - 1].VirtualAddress + sym.Value == rva) {
      if (sym.N.Name.Short != 0) {
        return std::string(
            reinterpret_cast<const char*>(sym.N.ShortName),
            strnlen(reinterpret_cast<const char*>(sym.N.ShortName), 8));
      }
      if (sym.N.Name.Long >= strings.size()) return "";
      return std::string(strings.c_str() + sym.N.Name.Long);
    }
    i += sym.NumberOfAuxSymbols;
  }
  return "";
}

}  // namespace

std::string FunctionName(void (*fn)()) {
  std::string name = CoffSymbolAt(reinterpret_cast<const void*>(fn));
  if (!name.empty()) return absl::StrCat("\"", Demangle(name.c_str()), "\"");
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
