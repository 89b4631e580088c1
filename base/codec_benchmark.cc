// The codec on the values a queue or pipe carries: one operation is one
// mp::Encode (into a new std::string, as Queue.Put does) or one mp::Decode
// (into a new value); the `encodeto` figure appends to a reused buffer
// instead, the cost without the allocation.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/codec.h"
#include "benchmark/benchmark.h"

namespace mp {
namespace {

// 64 bytes, trivially copyable: one memcpy each way.
struct Struct64 {
  int64_t id;
  double values[6];
  int32_t flags;
  int32_t kind;
};
static_assert(sizeof(Struct64) == 64, "the figure is for 64 bytes");

Struct64 MakeStruct() { return Struct64{7, {1, 2, 3, 4, 5, 6}, 8, 9}; }

std::map<int64_t, std::string> MakeMap() {
  std::map<int64_t, std::string> m;
  for (int64_t i = 0; i < 1000; ++i) {
    m.emplace(i * 7919, absl::StrCat("value number ", i, " ....."));
  }
  return m;
}

template <typename T>
void EncodeLoop(benchmark::State& state, const T& value) {
  for (auto _ : state) {
    absl::StatusOr<std::string> bytes = Encode(value);
    benchmark::DoNotOptimize(bytes);
  }
}

template <typename T>
void DecodeLoop(benchmark::State& state, const T& value) {
  std::string bytes = *Encode(value);
  for (auto _ : state) {
    absl::StatusOr<T> back = Decode<T>(bytes);
    benchmark::DoNotOptimize(back);
  }
}

void BM_EncodeStruct64(benchmark::State& state) {
  EncodeLoop(state, MakeStruct());
}
void BM_EncodeToStruct64(benchmark::State& state) {
  Struct64 s = MakeStruct();
  std::string buffer;
  for (auto _ : state) {
    buffer.clear();
    benchmark::DoNotOptimize(EncodeTo(s, &buffer));
    benchmark::DoNotOptimize(buffer.data());
  }
}
void BM_DecodeStruct64(benchmark::State& state) {
  DecodeLoop(state, MakeStruct());
}
void BM_EncodeString1MiB(benchmark::State& state) {
  EncodeLoop(state, std::string(1 << 20, 'x'));
}
void BM_DecodeString1MiB(benchmark::State& state) {
  DecodeLoop(state, std::string(1 << 20, 'x'));
}
void BM_EncodeMap1000(benchmark::State& state) { EncodeLoop(state, MakeMap()); }
void BM_DecodeMap1000(benchmark::State& state) { DecodeLoop(state, MakeMap()); }
void BM_EncodeVectorDouble1M(benchmark::State& state) {
  EncodeLoop(state, std::vector<double>(1 << 20, 0.5));
}
void BM_DecodeVectorDouble1M(benchmark::State& state) {
  DecodeLoop(state, std::vector<double>(1 << 20, 0.5));
}

BENCHMARK(BM_EncodeStruct64)
    ->Name("mp_codec_encode_struct64")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(BM_EncodeToStruct64)
    ->Name("mp_codec_encodeto_struct64")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(BM_DecodeStruct64)
    ->Name("mp_codec_decode_struct64")
    ->Unit(benchmark::kNanosecond)
    ->UseRealTime();
BENCHMARK(BM_EncodeString1MiB)
    ->Name("mp_codec_encode_string1MiB")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_DecodeString1MiB)
    ->Name("mp_codec_decode_string1MiB")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_EncodeMap1000)
    ->Name("mp_codec_encode_map1000")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_DecodeMap1000)
    ->Name("mp_codec_decode_map1000")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_EncodeVectorDouble1M)
    ->Name("mp_codec_encode_vector_double1M")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_DecodeVectorDouble1M)
    ->Name("mp_codec_decode_vector_double1M")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace mp
