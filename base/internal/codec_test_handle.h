// A real OS handle for the codec's tests and fuzzer: an open descriptor on
// POSIX, an event object on Windows. Nothing is read from or written to it;
// the tests need something Duplicate() works on.

#ifndef MP_BASE_INTERNAL_CODEC_TEST_HANDLE_H_
#define MP_BASE_INTERNAL_CODEC_TEST_HANDLE_H_

#include "absl/status/statusor.h"
#include "base/handle.h"

namespace mp {
namespace base_internal {

absl::StatusOr<OwnedHandle> MakeTestHandle();

}  // namespace base_internal
}  // namespace mp

#endif  // MP_BASE_INTERNAL_CODEC_TEST_HANDLE_H_
