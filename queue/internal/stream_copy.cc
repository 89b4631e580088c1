#include "queue/internal/stream_copy.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define MP_QUEUE_STREAMING_STORES 1
#endif

namespace mp {
namespace queue_internal {

void StreamCopy(char* to, const char* from, size_t n) {
#ifdef MP_QUEUE_STREAMING_STORES
  // The ordinary way up to the destination's first 16-byte boundary, then
  // a line (four 16-byte stores) at a time, then the tail.
  size_t head = (16 - reinterpret_cast<uintptr_t>(to) % 16) % 16;
  if (head > n) head = n;
  std::memcpy(to, from, head);
  to += head;
  from += head;
  n -= head;
  for (; n >= 64; n -= 64, to += 64, from += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(from));
    const __m128i b =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(from + 16));
    const __m128i c =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(from + 32));
    const __m128i d =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(from + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(to), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(to + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(to + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(to + 48), d);
  }
#endif
  std::memcpy(to, from, n);
}

void StreamFence() {
#ifdef MP_QUEUE_STREAMING_STORES
  _mm_sfence();
#endif
}

}  // namespace queue_internal
}  // namespace mp
