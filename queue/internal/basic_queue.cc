#include "queue/internal/basic_queue.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status.h"

namespace mp {
namespace queue_internal {

namespace {
// An encode buffer that grew past this is freed after use rather than kept
// for the thread's lifetime.
constexpr size_t kKeptBuffer = size_t{16} << 20;
}  // namespace

std::string& EncodeBuffer() {
  thread_local std::string buffer;
  buffer.clear();
  return buffer;
}

void DoneWithEncodeBuffer(std::string& buffer) {
  if (buffer.capacity() > kKeptBuffer) std::string().swap(buffer);
}

uint64_t HashTypeName(const char* name) {
  // FNV-1a: stable across processes of one executable, which is all that
  // is needed (spawned children run the same binary).
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char* p = name; *p != '\0'; ++p) {
    h ^= static_cast<unsigned char>(*p);
    h *= 0x100000001b3ull;
  }
  return h;
}

absl::Status NotCreatedError(absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": the queue was not created (use Create())"));
}

absl::Status ClosedQueueError(absl::string_view what) {
  return ClosedError(absl::StrCat(what, ": queue is closed"));
}

absl::Status EncodeItemError(const absl::Status& codec) {
  return absl::Status(codec.code(), absl::StrCat("Queue.Put: the item cannot "
                                                 "be encoded: ",
                                                 codec.message()));
}

absl::Status DecodeItemError(const absl::Status& codec) {
  return DecodeError(
      absl::StrCat("Queue.Get: the item cannot be decoded: ", codec.message()));
}

}  // namespace queue_internal
}  // namespace mp
