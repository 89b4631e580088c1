// Python's message framing on byte streams (multiprocessing.connection's
// Connection._send_bytes / _recv_bytes): a 4-byte big-endian signed length;
// for payloads over 0x7fffffff bytes the length -1 and then an 8-byte
// big-endian unsigned length.

#ifndef MP_PIPE_INTERNAL_FRAMING_H_
#define MP_PIPE_INTERNAL_FRAMING_H_

#include <cstddef>
#include <cstdint>

namespace mp {
namespace pipe_internal {

inline constexpr size_t kShortHeader = 4;
inline constexpr size_t kLongHeader = 12;
inline constexpr uint64_t kMaxShortLength = 0x7fffffff;

// Writes the header for a payload of `length` bytes into `out` (room for
// kLongHeader) and returns its size.
inline size_t EncodeHeader(uint64_t length, unsigned char* out) {
  if (length <= kMaxShortLength) {
    for (int i = 0; i < 4; ++i) out[i] = (length >> (24 - 8 * i)) & 0xff;
    return kShortHeader;
  }
  for (int i = 0; i < 4; ++i) out[i] = 0xff;
  for (int i = 0; i < 8; ++i) out[4 + i] = (length >> (56 - 8 * i)) & 0xff;
  return kLongHeader;
}

// What the first four bytes say.
enum class ShortHeader { kLength, kLongFollows, kNegative };

inline ShortHeader DecodeShortHeader(const unsigned char* in,
                                     uint64_t* length) {
  uint32_t v = (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) |
               (uint32_t{in[2]} << 8) | uint32_t{in[3]};
  if (v == 0xffffffffu) return ShortHeader::kLongFollows;
  if (v > kMaxShortLength) return ShortHeader::kNegative;
  *length = v;
  return ShortHeader::kLength;
}

inline uint64_t DecodeLongLength(const unsigned char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace pipe_internal
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_FRAMING_H_
