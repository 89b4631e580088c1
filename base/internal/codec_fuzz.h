// The codec's fuzz logic, shared by the libFuzzer target (base/
// codec_fuzzer.cc, built by tools/fuzz_codec.sh) and the deterministic
// corruption test in base/codec_test.cc, so CI runs the same checks under
// asan and ubsan that the fuzzer runs.

#ifndef MP_BASE_INTERNAL_CODEC_FUZZ_H_
#define MP_BASE_INTERNAL_CODEC_FUZZ_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/handle.h"

namespace mp {
namespace base_internal {

// Decodes `data` as each of several composite types (and with and without
// a handle table holding duplicates of `handles`). Memory errors and
// undefined behaviour show up through the sanitizers; the other properties
// are checked here, and a non-OK return names the one that broke: decoding
// fails only with mp::DecodeError, and a decoded value encodes again, to
// the same bytes where the format is canonical (no unordered containers)
// and to an equal value where it is not.
absl::Status FuzzDecode(absl::string_view data,
                        absl::Span<const OwnedHandle> handles);

// Valid encodings of values of every type FuzzDecode tries: the seeds for
// mutation. `handles` is what the values holding handles refer to.
std::vector<std::string> FuzzSeeds(absl::Span<const OwnedHandle> handles);

}  // namespace base_internal
}  // namespace mp

#endif  // MP_BASE_INTERNAL_CODEC_FUZZ_H_
