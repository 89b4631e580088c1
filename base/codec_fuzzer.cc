// libFuzzer target for the codec: decodes arbitrary bytes as several
// composite types (base/internal/codec_fuzz.h says which, and what it
// checks). Built and run by tools/fuzz_codec.sh, outside Bazel, with clang's
// -fsanitize=fuzzer,address,undefined. codec_test runs the same checks on
// deterministic mutations in CI.
//
// With MP_CODEC_FUZZ_SEEDS=<dir> set, it first writes valid encodings of
// every fuzzed type into <dir>, to start the corpus from.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/handle.h"
#include "base/internal/codec_fuzz.h"
#include "base/internal/codec_test_handle.h"

namespace {

std::vector<mp::OwnedHandle>* handles = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  handles = new std::vector<mp::OwnedHandle>();
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<mp::OwnedHandle> h = mp::base_internal::MakeTestHandle();
    if (!h.ok()) {
      std::fprintf(stderr, "codec_fuzzer: %s\n", h.status().ToString().c_str());
      std::abort();
    }
    handles->push_back(*std::move(h));
  }
  if (const char* dir = std::getenv("MP_CODEC_FUZZ_SEEDS")) {
    std::vector<std::string> seeds = mp::base_internal::FuzzSeeds(*handles);
    for (size_t i = 0; i < seeds.size(); ++i) {
      std::ofstream(absl::StrCat(dir, "/seed", i), std::ios::binary)
          << seeds[i];
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::Status s = mp::base_internal::FuzzDecode(
      absl::string_view(reinterpret_cast<const char*>(data), size), *handles);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::abort();
  }
  return 0;
}
