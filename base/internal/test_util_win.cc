#include <windows.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/handle.h"
#include "base/internal/test_util.h"

namespace mp {
namespace test_util {

std::pair<OwnedHandle, OwnedHandle> MakePipe() {
  HANDLE r = nullptr, w = nullptr;
  if (!CreatePipe(&r, &w, nullptr, 0)) std::abort();
  return {OwnedHandle(r), OwnedHandle(w)};
}

bool WriteAll(NativeHandle h, absl::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    DWORD n = 0;
    if (!WriteFile(h, data.data() + done,
                   static_cast<DWORD>(data.size() - done), &n, nullptr)) {
      return false;
    }
    done += n;
  }
  return true;
}

std::string ReadSome(NativeHandle h, size_t max) {
  std::string buf(max, '\0');
  DWORD n = 0;
  if (!ReadFile(h, buf.data(), static_cast<DWORD>(max), &n, nullptr)) n = 0;
  buf.resize(n);
  return buf;
}

// Children take their standard handles from GetStdHandle (base/launch.h),
// so swapping that handle captures what they write.
CaptureOutput::CaptureOutput(Stream stream, const std::string& path)
    : stream_(stream), path_(path) {
  std::cout.flush();
  std::fflush(nullptr);
  DWORD id = stream == kStdout ? STD_OUTPUT_HANDLE : STD_ERROR_HANDLE;
  saved_.reset(GetStdHandle(id));
  HANDLE file =
      CreateFileA(path.c_str(), GENERIC_WRITE, FILE_SHARE_READ, nullptr,
                  CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) std::abort();
  SetStdHandle(id, file);
}

CaptureOutput::~CaptureOutput() {
  if (!finished_) Finish();
}

std::string CaptureOutput::Finish() {
  finished_ = true;
  DWORD id = stream_ == kStdout ? STD_OUTPUT_HANDLE : STD_ERROR_HANDLE;
  CloseHandle(GetStdHandle(id));
  // The saved handle is the process's own standard handle: give it back
  // rather than close it.
  SetStdHandle(id, saved_.release());
  std::ifstream in(path_, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  // The C runtime writes text-mode line ends.
  return absl::StrReplaceAll(contents.str(), {{"\r\n", "\n"}});
}

bool SentinelReady(NativeHandle sentinel, absl::Duration timeout) {
  DWORD ms = timeout == absl::InfiniteDuration()
                 ? INFINITE
                 : static_cast<DWORD>(absl::ToInt64Milliseconds(timeout));
  return WaitForSingleObject(sentinel, ms) == WAIT_OBJECT_0;
}

ProcessWatch::ProcessWatch(int pid)
    : handle_(OpenProcess(SYNCHRONIZE, FALSE, static_cast<DWORD>(pid))) {}

bool ProcessWatch::WaitGone(absl::Duration timeout) {
  if (!handle_.valid()) return true;  // already gone when opened
  return SentinelReady(handle_.get(), timeout);
}

void KillPid(int pid) {
  HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, static_cast<DWORD>(pid));
  if (h == nullptr) return;
  TerminateProcess(h, 1);
  CloseHandle(h);
}

}  // namespace test_util
}  // namespace mp
