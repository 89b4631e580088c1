// Python's message framing on byte streams (multiprocessing.connection's
// Connection._send_bytes / _recv_bytes): a 4-byte big-endian signed length;
// for payloads over 0x7fffffff bytes the length -1 and then an 8-byte
// big-endian unsigned length. Encoding, decoding, and reading a header with
// the platform's read.

#ifndef MP_PIPE_INTERNAL_FRAMING_H_
#define MP_PIPE_INTERNAL_FRAMING_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/status.h"

namespace mp {
namespace pipe_internal {

inline constexpr size_t kShortHeader = 4;
inline constexpr size_t kLongHeader = 12;
inline constexpr uint64_t kMaxShortLength = 0x7fffffff;

// The 8 bytes of a long header's length (and of the POSIX Pipe()'s bulk
// announcement).
inline void EncodeLongLength(uint64_t length, unsigned char* out) {
  for (int i = 0; i < 8; ++i) out[i] = (length >> (56 - 8 * i)) & 0xff;
}

// Writes the header for a payload of `length` bytes into `out` (room for
// kLongHeader) and returns its size.
inline size_t EncodeHeader(uint64_t length, unsigned char* out) {
  if (length <= kMaxShortLength) {
    for (int i = 0; i < 4; ++i) out[i] = (length >> (24 - 8 * i)) & 0xff;
    return kShortHeader;
  }
  for (int i = 0; i < 4; ++i) out[i] = 0xff;
  EncodeLongLength(length, out + kShortHeader);
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

// Whether end of file at the start of a read ends the stream cleanly
// (Python's EOFError: before a message's header) or cuts a message short.
enum class AtStart { kEofIsEof, kEofIsTruncation };

// What end of file means after `done` bytes of a read.
inline absl::Status EndOfFile(size_t done, AtStart at_start) {
  if (done == 0 && at_start == AtStart::kEofIsEof) return EofError();
  return absl::DataLossError("got end of file during message");
}

// Reads a header off a byte stream and returns the payload's length.
// `read_exact(char* out, size_t size, AtStart)` reads exactly `size` bytes
// (the platform's blocking, deadline and end-of-file handling).
template <typename ReadExact>
absl::StatusOr<uint64_t> ReadHeader(ReadExact&& read_exact) {
  unsigned char header[kLongHeader];
  char* raw = reinterpret_cast<char*>(header);
  MP_RETURN_IF_ERROR(read_exact(raw, kShortHeader, AtStart::kEofIsEof));
  uint64_t length = 0;
  switch (DecodeShortHeader(header, &length)) {
    case ShortHeader::kLength:
      return length;
    case ShortHeader::kLongFollows:
      MP_RETURN_IF_ERROR(read_exact(raw + kShortHeader,
                                    kLongHeader - kShortHeader,
                                    AtStart::kEofIsTruncation));
      return DecodeLongLength(header + kShortHeader);
    case ShortHeader::kNegative:
      break;
  }
  return absl::DataLossError("bad message length: negative length prefix");
}

}  // namespace pipe_internal
}  // namespace mp

#endif  // MP_PIPE_INTERNAL_FRAMING_H_
