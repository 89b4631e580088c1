// The codec: how mp turns C++ values into bytes and back when they cross a
// process boundary (pipe messages, queue items, pool arguments and results,
// manager values, spawn arguments). It is mp's counterpart of Python's
// `pickle` as `multiprocessing` uses it (ForkingPickler): a value is encoded
// in the sending process and decoded into a new, equal value in the other.
//
// Written here rather than taken from a serialization library because mp
// needs a wire format it controls end to end (no schema compiler, no
// reflection), decoding that treats every byte as hostile input, OS handles
// carried beside the bytes, and no dependency beyond Abseil so the mingw
// build stays simple.
//
// Example:
//
//   absl::StatusOr<std::string> bytes =
//       mp::Encode(std::map<std::string, std::vector<int>>{{"a", {1, 2}}});
//   ...
//   absl::StatusOr<std::map<std::string, std::vector<int>>> m =
//       mp::Decode<std::map<std::string, std::vector<int>>>(*bytes);
//   if (mp::IsDecodeError(m.status())) { ... corrupt or truncated ... }
//
// Supported types: arithmetic types, enums, std::string (and the other
// std::basic_string types), std::vector, std::array, std::pair, std::tuple,
// std::optional, std::variant, std::monostate, absl::Duration, maps and sets
// with unique keys (std::map, std::set, std::unordered_map,
// std::unordered_set, absl::flat_hash_map, absl::flat_hash_set, or any other
// container with a key_type whose insert() returns an (iterator, bool)
// pair), mp::OwnedHandle, trivially copyable structs (see Encoder::Write),
// user types with MpEncode/MpDecode (see Encoder), and nested combinations
// of all of these. absl::string_view, std::string_view and absl::Span<T> can
// be encoded (as std::string / std::vector<T>) but not decoded. Raw
// pointers, C arrays and anything else fail to compile with a message saying
// so.
//
// Both ends are the same program built for the same platform (mp's processes
// are forks or spawned copies of one executable), so types travel with their
// native sizes: it is not a storage format. Decoding never trusts a byte
// (see Decode).

#ifndef MP_BASE_CODEC_H_
#define MP_BASE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/handle.h"

#if !defined(ABSL_IS_LITTLE_ENDIAN)
#error "mp's codec writes its wire format as little-endian memory copies"
#endif

namespace mp {

// How deep user types (those with MpEncode/MpDecode) may nest.
inline constexpr int kMaxCodecDepth = 64;

// The memory one decode may hold in containers and strings: this many bytes
// per input byte, enough for values of the standard types whose elements
// take not much more memory than their encoding (an empty std::string,
// std::vector or std::map is a few dozen bytes from a one-byte count), ...
inline constexpr size_t kDecodeExpansion = 64;
// ... plus this many, so that a short message of a few large fixed-size
// elements (a std::variant holding a std::array) still decodes.
inline constexpr size_t kDecodeAllowance = size_t{16} << 20;

class Encoder;
class Decoder;

namespace base_internal {
template <typename T, typename Enable = void>
struct Codec;
struct Wire;
}  // namespace base_internal

// Appends the encoding of values to a std::string. Errors are sticky: the
// first one is kept in status() and the bytes written are to be discarded
// (mp::EncodeTo does that).
//
// User types. Define two functions that ADL finds, usually hidden friends:
//
//   struct Point {
//     int x = 0;
//     std::string label;
//     friend void MpEncode(mp::Encoder& e, const Point& p) {
//       e.Write(p.x, p.label);
//     }
//     friend absl::Status MpDecode(mp::Decoder& d, Point& p) {
//       return d.Read(p.x, p.label);
//     }
//   };
//
// MpDecode may check invariants and return mp::DecodeError("...") for a
// value the type does not accept; MpEncode reports a value that cannot be
// sent with Encoder::Fail. A decoded type must be default-constructible:
// MpDecode fills in a default-constructed object. Enums can have them too
// (as free functions in the enum's namespace), to check the value. User
// types can recurse (a tree node holding a std::vector of nodes), so they
// may nest at most kMaxCodecDepth levels, checked on both sides.
class Encoder {
 public:
  // `out` is appended to. `handles`, if given, receives the OS handles the
  // values refer to; the handles are not duplicated, so they must stay open
  // until the message is sent.
  explicit Encoder(std::string* out,
                   std::vector<NativeHandle>* handles = nullptr)
      : out_(out), handles_(handles) {}
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // Encodes each value in turn.
  //
  // Trivially copyable types without MpEncode/MpDecode are copied bitwise:
  // their object representation is the wire format, and a std::vector,
  // std::array or std::basic_string of them is a single memcpy. The codec
  // cannot look inside such a struct, so its decoder accepts any bytes.
  // That is right for plain data (integers, floating point, characters,
  // enums used as plain numbers) and wrong for:
  //   - bool members. A byte other than 0 or 1 makes a bool whose use is
  //     undefined behaviour, and C++17 cannot detect a bool member. The
  //     rule: a struct with a bool member defines MpEncode/MpDecode, whose
  //     Read(bool) checks the byte (a bool on its own, in a container, pair,
  //     tuple, optional or std::array, is always checked).
  //   - pointers and views (an address means nothing in another process).
  //     A raw pointer on its own does not compile, nor does a lambda (not
  //     default-constructible), but a struct holding a pointer, a
  //     std::string_view or an absl::Span looks like plain data.
  //   - invariants between members, and enums with a closed set of values:
  //     MpDecode is where those are checked.
  // Padding bytes travel too (their content is whatever was in memory).
  template <typename... Ts>
  void Write(const Ts&... values) {
    (base_internal::Codec<Ts>::Encode(*this, values), ...);
  }

  // Records `handle` in the handle table (once, however often it is added)
  // and writes its index (e.Write(owned_handle) does the same). The
  // transport sends the table beside the bytes (SCM_RIGHTS, DuplicateHandle,
  // inheritance at spawn), and the receiving side decodes with a table of
  // the handles it received (Decoder::TakeHandle). Fails (and fails the
  // encoder) without a table or for an invalid handle.
  absl::Status AddHandle(NativeHandle handle);

  // Marks the encoding as failed, for an MpEncode that finds its value
  // cannot be sent. The first failure wins.
  void Fail(absl::Status status);

  const absl::Status& status() const { return status_; }

 private:
  friend struct base_internal::Wire;

  std::string* out_;
  std::vector<NativeHandle>* handles_;
  absl::Status status_;
  int depth_ = 0;
};

// Reads values from bytes produced by an Encoder. Every method checks the
// input and returns mp::DecodeError for bytes it does not accept.
class Decoder {
 public:
  // `handles`, if given, is the table of OS handles that came with the
  // bytes; values that refer to a handle take it out of the table.
  explicit Decoder(absl::string_view in,
                   std::vector<OwnedHandle>* handles = nullptr)
      : pos_(in.data()),
        end_(in.data() + in.size()),
        handles_(handles),
        budget_(in.size() > (SIZE_MAX - kDecodeAllowance) / kDecodeExpansion
                    ? SIZE_MAX
                    : in.size() * kDecodeExpansion + kDecodeAllowance) {}
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes into each value in turn; stops at the first error.
  template <typename... Ts>
  absl::Status Read(Ts&... values) {
    absl::Status status;
    static_cast<void>(
        ((status = base_internal::Codec<Ts>::Decode(*this, values)).ok() &&
         ...));
    return status;
  }

  // Reads a handle index. The first value to take a handle gets the handle
  // itself (moved out of the table); a later one referring to the same
  // index gets a duplicate, so each decoded owner closes its own.
  absl::StatusOr<OwnedHandle> TakeHandle();

  // Bytes not yet read.
  size_t remaining() const { return static_cast<size_t>(end_ - pos_); }

 private:
  friend struct base_internal::Wire;

  const char* pos_;
  const char* end_;
  std::vector<OwnedHandle>* handles_;
  // For each table entry already taken, the handle its first taker got (the
  // source of later duplicates); kInvalidHandle if not taken yet.
  std::vector<NativeHandle> taken_;
  int depth_ = 0;
  // The bytes of container and string storage this decode may still
  // allocate (see Decode).
  size_t budget_;
};

// Appends the encoding of `value` to `*out` and its OS handles to
// `*handles`. On failure both are left as they were.
template <typename T>
absl::Status EncodeTo(const T& value, std::string* out,
                      std::vector<NativeHandle>* handles = nullptr);

// The encoding of `value`. Fails only for what cannot be sent: an OS handle
// without a handle table, user types nested deeper than kMaxCodecDepth, a
// valueless std::variant, a container of values that encode to nothing, or
// an MpEncode that called Fail().
template <typename T>
absl::StatusOr<std::string> Encode(
    const T& value, std::vector<NativeHandle>* handles = nullptr);

// Decodes a T that must take up all of `bytes`. `handles` is the table of OS
// handles that came with the bytes; afterwards it holds those the value did
// not take (moved-from entries for the others). On failure, handles already
// taken are closed along with the partly decoded value.
//
// Untrusted input: decoding never trusts a byte: truncated, oversized or
// malformed input gives mp::DecodeError (kDataLoss, IsDecodeError()), never
// a crash, an exception or undefined behaviour. A count is checked against
// the bytes left (count * smallest element encoding <= remaining) before
// anything is allocated, and every element of a container must take at
// least one byte (a container of values that encode to nothing, such as a
// std::vector<std::monostate>, is refused at encode time too). A count is
// a claim, not a size to allocate: a container reserves no more room than
// the bytes left could fill and grows as its elements decode, so a count
// that the rest of the input does not bear out costs little. And since an
// element can take far more memory than bytes on the wire (an empty
// std::optional<std::array<char, 65536>> is one byte), the memory that the
// containers and strings of one decode hold together is limited too:
// kDecodeExpansion bytes per input byte plus kDecodeAllowance, checked
// against each count before its elements decode, so a small message cannot
// expand into a huge decode. A value past that limit is refused as a
// DecodeError (memory that user types allocate in MpDecode is theirs to
// bound). If memory runs out all the same, Decode and DecodeTo return
// kResourceExhausted (Python's MemoryError). The standard containers nest
// only as deep as their type; user types can recurse (a tree node holding a
// std::vector of nodes), so they may nest at most kMaxCodecDepth levels,
// checked on both sides. Decoding also fails if bytes are left over after
// the value.
template <typename T>
absl::StatusOr<T> Decode(absl::string_view bytes,
                         std::vector<OwnedHandle>* handles = nullptr);

// Like Decode, but into an existing object, whose capacity (a vector's, a
// string's) is reused. On failure *out holds a valid but unspecified value.
template <typename T>
absl::Status DecodeTo(absl::string_view bytes, T* out,
                      std::vector<OwnedHandle>* handles = nullptr);

}  // namespace mp

#include "base/internal/codec_impl.h"  // IWYU pragma: export

#endif  // MP_BASE_CODEC_H_
