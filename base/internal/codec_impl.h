// The codec's implementation: a Codec<T> for each supported type, and the
// byte-level primitives they share. Included by base/codec.h; not for direct
// use.
//
// The wire format, little-endian hosts only (all of mp's targets):
//
//   bool                    1 byte, 0 or 1 (anything else is refused)
//   other arithmetic types, the object representation, sizeof(T) bytes
//     enums, trivially
//     copyable structs
//   count, length, index    unsigned LEB128 varint, shortest form only
//   std::basic_string,      count, then the elements (one memcpy when the
//     std::vector             element type is copied bitwise)
//   std::vector<bool>       count, then one byte 0 or 1 per element
//   std::array<T, N>        the N elements (no count)
//   std::pair, std::tuple   the members in order
//   std::optional           1 byte 0 (empty) or 1 (then the value)
//   std::variant            index, then the alternative
//   std::monostate          nothing
//   maps and sets           count, then each key (and value); ordered
//                           containers in strictly increasing key order,
//                           which the decoder checks, so no duplicates
//   absl::Duration          int64 seconds rounded down, then uint32
//                           quarter-nanoseconds (0xffffffff = infinite,
//                           with seconds INT64_MAX or INT64_MIN)
//   OS handle               index into the handle table
//   user type               whatever its MpEncode writes

#ifndef MP_BASE_INTERNAL_CODEC_IMPL_H_
#define MP_BASE_INTERNAL_CODEC_IMPL_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/codec.h"
#include "base/handle.h"
#include "base/status.h"

namespace mp {
namespace base_internal {

// The error messages, out of line: they are the cold path.
absl::Status TruncatedError(size_t needed, size_t remaining);
absl::Status CountError(uint64_t count, size_t min_element_size,
                        size_t remaining);
absl::Status MemoryLimitError(uint64_t count, size_t element_memory,
                              size_t budget);
absl::Status BadVarintError();
absl::Status BadByteError(const char* what, unsigned char byte);
absl::Status VariantIndexError(uint64_t index, size_t alternatives);
absl::Status KeyOrderError();
absl::Status DuplicateKeyError();
absl::Status EmptyElementDecodeError();
absl::Status EmptyElementEncodeError();
absl::Status DepthDecodeError();
absl::Status DepthEncodeError();
absl::Status ValuelessVariantError();
absl::Status BadDurationError();
absl::Status TrailingBytesError(size_t remaining);
absl::Status OutOfMemoryError();
absl::Status SlowGetVarint(const char** pos, const char* end, uint64_t* value);

// The byte-level primitives of Encoder and Decoder, for the codecs below.
struct Wire {
  static size_t Size(const Encoder& e) { return e.out_->size(); }
  static void PutRaw(Encoder& e, const void* data, size_t size) {
    e.out_->append(static_cast<const char*>(data), size);
  }
  static void PutByte(Encoder& e, unsigned char byte) {
    e.out_->push_back(static_cast<char>(byte));
  }
  static void PutVarint(Encoder& e, uint64_t value) {
    if (value < 0x80) return PutByte(e, static_cast<unsigned char>(value));
    char buf[10];
    size_t n = 0;
    while (value >= 0x80) {
      buf[n++] = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    buf[n++] = static_cast<char>(value);
    e.out_->append(buf, n);
  }
  static bool Ok(const Encoder& e) { return e.status_.ok(); }
  static void Fail(Encoder& e, absl::Status status) {
    e.Fail(std::move(status));
  }
  static int& Depth(Encoder& e) { return e.depth_; }

  static absl::Status GetRaw(Decoder& d, void* data, size_t size) {
    if (d.remaining() < size) return TruncatedError(size, d.remaining());
    if (size != 0) std::memcpy(data, d.pos_, size);
    d.pos_ += size;
    return absl::OkStatus();
  }
  static absl::Status GetByte(Decoder& d, unsigned char* byte) {
    if (d.pos_ == d.end_) return TruncatedError(1, 0);
    *byte = static_cast<unsigned char>(*d.pos_++);
    return absl::OkStatus();
  }
  static absl::Status GetVarint(Decoder& d, uint64_t* value) {
    if (d.pos_ != d.end_ && static_cast<unsigned char>(*d.pos_) < 0x80) {
      *value = static_cast<unsigned char>(*d.pos_++);
      return absl::OkStatus();
    }
    return SlowGetVarint(&d.pos_, d.end_, value);
  }
  // A count of elements that each take at least `min_element_size` bytes
  // of input (and at least one: see the header comment) and
  // `element_memory` bytes of memory once decoded, which the count takes
  // from the decode's budget up front: a count is refused before any of its
  // elements decode if they would not fit.
  static absl::Status GetCount(Decoder& d, size_t min_element_size,
                               size_t element_memory, size_t* count) {
    uint64_t n;
    MP_RETURN_IF_ERROR(GetVarint(d, &n));
    size_t unit = std::max<size_t>(min_element_size, 1);
    if (n > d.remaining() / unit) {
      return CountError(n, min_element_size, d.remaining());
    }
    if (element_memory != 0 && n > d.budget_ / element_memory) {
      return MemoryLimitError(n, element_memory, d.budget_);
    }
    *count = static_cast<size_t>(n);
    d.budget_ -= *count * element_memory;
    return absl::OkStatus();
  }
  // How many of `count` elements of `element_memory` bytes a container
  // reserves room for before it decodes them: no more than the bytes left
  // would fill, so that a count the rest of the input does not bear out
  // allocates little. The container grows past that as elements decode.
  static size_t ReserveCount(const Decoder& d, size_t count,
                             size_t element_memory) {
    return std::min(count, d.remaining() / std::max<size_t>(element_memory, 1));
  }
  // A view of the next `size` bytes, which the caller has checked exist.
  static const char* Take(Decoder& d, size_t size) {
    const char* p = d.pos_;
    d.pos_ += size;
    return p;
  }
  static int& Depth(Decoder& d) { return d.depth_; }
};

// ADL detection of the customisation point.
template <typename T, typename = void>
struct HasMpEncode : std::false_type {};
template <typename T>
struct HasMpEncode<T, std::void_t<decltype(MpEncode(std::declval<Encoder&>(),
                                                    std::declval<const T&>()))>>
    : std::true_type {};
template <typename T, typename = void>
struct HasMpDecode : std::false_type {};
template <typename T>
struct HasMpDecode<T, std::void_t<decltype(MpDecode(std::declval<Decoder&>(),
                                                    std::declval<T&>()))>>
    : std::true_type {};

template <typename T>
inline constexpr bool kIsUser = HasMpEncode<T>::value || HasMpDecode<T>::value;

template <typename T>
inline constexpr bool kAlwaysFalse = false;

// How the primary Codec treats a type the specializations below do not
// cover.
enum class Category {
  kUser,
  kBool,
  kBitwise,
  kPointer,
  kCArray,
  kNotDefaultConstructible,
  kUnsupported,
};

template <typename T>
constexpr Category CategoryOf() {
  if (kIsUser<T>) return Category::kUser;
  if (std::is_same_v<T, bool>) return Category::kBool;
  if (std::is_pointer_v<T> || std::is_member_pointer_v<T> ||
      std::is_null_pointer_v<T>) {
    return Category::kPointer;
  }
  if (std::is_array_v<T>) return Category::kCArray;
  if (!std::is_trivially_copyable_v<T>) return Category::kUnsupported;
  if (!std::is_default_constructible_v<T>) {
    return Category::kNotDefaultConstructible;
  }
  return Category::kBitwise;
}

// The Codec for a type T says:
//   kBitwise  its wire format is its object representation (so a
//             contiguous run of them is one memcpy);
//   kMinSize  the fewest bytes any value of it encodes to (0 if unknown);
//   Encode / Decode.
template <typename T, typename Enable>
struct Codec {
  static constexpr Category kCategory = CategoryOf<T>();
  static constexpr bool kBitwise = kCategory == Category::kBitwise;
  static constexpr size_t kMinSize = kBitwise                       ? sizeof(T)
                                     : kCategory == Category::kBool ? 1
                                                                    : 0;

  static void Encode(Encoder& e, const T& value) {
    CheckSupported();
    if constexpr (kCategory == Category::kUser && !HasMpEncode<T>::value) {
      static_assert(kAlwaysFalse<T>, "this type has MpDecode but no MpEncode");
    } else if constexpr (kCategory == Category::kUser) {
      static_assert(
          std::is_void_v<decltype(MpEncode(e, value))>,
          "MpEncode must return void (report failures with Encoder::Fail)");
      if (!Wire::Ok(e)) return;
      if (Wire::Depth(e) >= kMaxCodecDepth) {
        return Wire::Fail(e, DepthEncodeError());
      }
      ++Wire::Depth(e);
      MpEncode(e, value);
      --Wire::Depth(e);
    } else if constexpr (kCategory == Category::kBool) {
      Wire::PutByte(e, value ? 1 : 0);
    } else if constexpr (kCategory == Category::kBitwise) {
      Wire::PutRaw(e, &value, sizeof(T));
    }
  }

  static absl::Status Decode(Decoder& d, T& value) {
    CheckSupported();
    if constexpr (kCategory == Category::kUser && !HasMpDecode<T>::value) {
      static_assert(kAlwaysFalse<T>, "this type has MpEncode but no MpDecode");
      return absl::OkStatus();
    } else if constexpr (kCategory == Category::kUser) {
      static_assert(std::is_same_v<decltype(MpDecode(d, value)), absl::Status>,
                    "MpDecode must return absl::Status");
      if (Wire::Depth(d) >= kMaxCodecDepth) return DepthDecodeError();
      ++Wire::Depth(d);
      absl::Status s = MpDecode(d, value);
      --Wire::Depth(d);
      return s;
    } else if constexpr (kCategory == Category::kBool) {
      unsigned char b;
      MP_RETURN_IF_ERROR(Wire::GetByte(d, &b));
      if (b > 1) return BadByteError("bool", b);
      value = b != 0;
      return absl::OkStatus();
    } else {
      return Wire::GetRaw(d, &value, sizeof(T));
    }
  }

 private:
  static constexpr void CheckSupported() {
    static_assert(kCategory != Category::kPointer,
                  "mp cannot encode a raw pointer: the address means nothing "
                  "in another process; send the value it points to (or a "
                  "std::optional of it), and an OS handle with "
                  "Encoder::AddHandle or as an mp::OwnedHandle");
    static_assert(kCategory != Category::kCArray,
                  "mp does not encode C arrays: use std::array, std::vector "
                  "or std::string (a string literal needs std::string or "
                  "absl::string_view)");
    static_assert(kCategory != Category::kNotDefaultConstructible,
                  "mp copies trivially copyable types bitwise only when they "
                  "are default-constructible (a lambda with captures is not: "
                  "send the data it captures)");
    static_assert(kCategory != Category::kUnsupported,
                  "mp does not know how to encode this type: give it "
                  "MpEncode/MpDecode functions (see base/codec.h)");
  }
};

// Encodes the elements of a container whose count is already written.
template <typename T, bool kContiguous, typename Range>
void EncodeElements(Encoder& e, const Range& range) {
  if constexpr (kContiguous && Codec<T>::kBitwise) {
    if (std::size(range) != 0) {
      Wire::PutRaw(e, std::data(range), std::size(range) * sizeof(T));
    }
  } else if constexpr (Codec<T>::kMinSize == 0) {
    // The decoder refuses an element that takes no bytes; refuse here what
    // it would refuse.
    for (const auto& x : range) {
      size_t before = Wire::Size(e);
      Codec<T>::Encode(e, x);
      if (Wire::Size(e) == before && Wire::Ok(e)) {
        return Wire::Fail(e, EmptyElementEncodeError());
      }
    }
  } else {
    for (const auto& x : range) Codec<T>::Encode(e, x);
  }
}

// Decodes one element of a container; each must take at least one byte.
template <typename T>
absl::Status DecodeElement(Decoder& d, T& x) {
  if constexpr (Codec<T>::kMinSize == 0) {
    size_t before = d.remaining();
    absl::Status s = Codec<T>::Decode(d, x);
    if (s.ok() && d.remaining() == before) return EmptyElementDecodeError();
    return s;
  } else {
    return Codec<T>::Decode(d, x);
  }
}

template <typename C, typename Tr, typename A>
struct Codec<std::basic_string<C, Tr, A>> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1;
  using S = std::basic_string<C, Tr, A>;

  static void Encode(Encoder& e, const S& s) {
    Wire::PutVarint(e, s.size());
    Wire::PutRaw(e, s.data(), s.size() * sizeof(C));
  }
  static absl::Status Decode(Decoder& d, S& s) {
    size_t n;
    MP_RETURN_IF_ERROR(Wire::GetCount(d, sizeof(C), sizeof(C), &n));
    if constexpr (sizeof(C) == 1) {
      s.assign(reinterpret_cast<const C*>(Wire::Take(d, n)), n);
    } else {
      s.resize(n);
      if (n != 0) {
        std::memcpy(&s[0], Wire::Take(d, n * sizeof(C)), n * sizeof(C));
      }
    }
    return absl::OkStatus();
  }
};

// A view encodes like the string it views. Decode into std::string.
template <typename V>
struct StringViewCodec {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1;
  static void Encode(Encoder& e, V s) {
    Wire::PutVarint(e, s.size());
    Wire::PutRaw(e, s.data(), s.size());
  }
  template <typename U>
  static absl::Status Decode(Decoder&, U&) {
    static_assert(kAlwaysFalse<U>,
                  "a string view cannot be decoded (it would point into the "
                  "message buffer): decode into std::string");
    return absl::OkStatus();
  }
};
template <>
struct Codec<std::string_view> : StringViewCodec<std::string_view> {};
#if !defined(ABSL_USES_STD_STRING_VIEW)
template <>
struct Codec<absl::string_view> : StringViewCodec<absl::string_view> {};
#endif

template <typename T, typename A>
struct Codec<std::vector<T, A>> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1;
  using V = std::vector<T, A>;

  static void Encode(Encoder& e, const V& v) {
    Wire::PutVarint(e, v.size());
    EncodeElements<T, true>(e, v);
  }
  static absl::Status Decode(Decoder& d, V& v) {
    size_t n;
    MP_RETURN_IF_ERROR(Wire::GetCount(d, Codec<T>::kMinSize, sizeof(T), &n));
    if constexpr (Codec<T>::kBitwise) {
      // The count was checked against the bytes of its elements.
      v.resize(n);
      if (n != 0)
        std::memcpy(v.data(), Wire::Take(d, n * sizeof(T)), n * sizeof(T));
    } else {
      v.clear();
      v.reserve(Wire::ReserveCount(d, n, sizeof(T)));
      for (size_t i = 0; i < n; ++i) {
        // Doubling, as the vector would, but never past the count: the
        // decode holds no more than the count took from the budget.
        if (v.size() == v.capacity()) {
          v.reserve(std::min(n, std::max<size_t>(2 * v.capacity(), 1)));
        }
        MP_RETURN_IF_ERROR(DecodeElement(d, v.emplace_back()));
      }
    }
    return absl::OkStatus();
  }
};

// std::vector<bool> packs bits, so it cannot be copied as a block.
template <typename A>
struct Codec<std::vector<bool, A>> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1;
  using V = std::vector<bool, A>;

  static void Encode(Encoder& e, const V& v) {
    Wire::PutVarint(e, v.size());
    for (bool b : v) Wire::PutByte(e, b ? 1 : 0);
  }
  static absl::Status Decode(Decoder& d, V& v) {
    size_t n;
    MP_RETURN_IF_ERROR(Wire::GetCount(d, 1, 1, &n));
    const char* p = Wire::Take(d, n);
    v.resize(n);
    for (size_t i = 0; i < n; ++i) {
      unsigned char b = static_cast<unsigned char>(p[i]);
      if (b > 1) return BadByteError("bool", b);
      v[i] = b != 0;
    }
    return absl::OkStatus();
  }
};

// An element of a std::vector<bool> (a proxy holding a pointer) encodes as
// the bool it refers to. Decode into a bool.
template <>
struct Codec<std::vector<bool>::reference> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1;
  static void Encode(Encoder& e, bool b) { Wire::PutByte(e, b ? 1 : 0); }
  template <typename U>
  static absl::Status Decode(Decoder&, U&) {
    static_assert(kAlwaysFalse<U>,
                  "a std::vector<bool> element cannot be decoded into: decode "
                  "into a bool");
    return absl::OkStatus();
  }
};

// absl::Span<T> encodes like std::vector<T>. Decode into std::vector.
template <typename T>
struct Codec<absl::Span<T>> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1;
  using E = std::remove_const_t<T>;

  static void Encode(Encoder& e, absl::Span<T> v) {
    Wire::PutVarint(e, v.size());
    EncodeElements<E, true>(e, v);
  }
  template <typename U>
  static absl::Status Decode(Decoder&, U&) {
    static_assert(kAlwaysFalse<U>,
                  "an absl::Span cannot be decoded: decode into std::vector");
    return absl::OkStatus();
  }
};

template <typename T, size_t N>
struct Codec<std::array<T, N>> {
  static constexpr bool kBitwise =
      Codec<T>::kBitwise && sizeof(std::array<T, N>) == N * sizeof(T);
  static constexpr size_t kMinSize = N * Codec<T>::kMinSize;
  using Arr = std::array<T, N>;

  static void Encode(Encoder& e, const Arr& a) {
    if constexpr (N == 0) {
      return;
    } else if constexpr (Codec<T>::kBitwise) {
      Wire::PutRaw(e, a.data(), N * sizeof(T));
    } else {
      for (const T& x : a) Codec<T>::Encode(e, x);
    }
  }
  static absl::Status Decode(Decoder& d, Arr& a) {
    if constexpr (N == 0) {
      return absl::OkStatus();
    } else if constexpr (Codec<T>::kBitwise) {
      return Wire::GetRaw(d, a.data(), N * sizeof(T));
    } else {
      for (T& x : a) {
        MP_RETURN_IF_ERROR(Codec<T>::Decode(d, x));
      }
      return absl::OkStatus();
    }
  }
};

template <typename A, typename B>
struct Codec<std::pair<A, B>> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = Codec<A>::kMinSize + Codec<B>::kMinSize;
  static void Encode(Encoder& e, const std::pair<A, B>& p) {
    e.Write(p.first, p.second);
  }
  static absl::Status Decode(Decoder& d, std::pair<A, B>& p) {
    return d.Read(p.first, p.second);
  }
};

template <typename... Ts>
struct Codec<std::tuple<Ts...>> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = (size_t{0} + ... + Codec<Ts>::kMinSize);
  static void Encode(Encoder& e, const std::tuple<Ts...>& t) {
    std::apply([&e](const Ts&... xs) { e.Write(xs...); }, t);
  }
  static absl::Status Decode(Decoder& d, std::tuple<Ts...>& t) {
    return std::apply([&d](Ts&... xs) { return d.Read(xs...); }, t);
  }
};

template <>
struct Codec<std::monostate> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 0;
  static void Encode(Encoder&, std::monostate) {}
  static absl::Status Decode(Decoder&, std::monostate&) {
    return absl::OkStatus();
  }
};

template <typename T>
struct Codec<std::optional<T>> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1;
  static void Encode(Encoder& e, const std::optional<T>& v) {
    Wire::PutByte(e, v.has_value() ? 1 : 0);
    if (v.has_value()) Codec<T>::Encode(e, *v);
  }
  static absl::Status Decode(Decoder& d, std::optional<T>& v) {
    unsigned char tag;
    MP_RETURN_IF_ERROR(Wire::GetByte(d, &tag));
    if (tag > 1) return BadByteError("optional tag", tag);
    if (tag == 0) {
      v.reset();
      return absl::OkStatus();
    }
    return Codec<T>::Decode(d, v.emplace());
  }
};

template <typename... Ts>
struct Codec<std::variant<Ts...>> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1 + std::min({Codec<Ts>::kMinSize...});
  using V = std::variant<Ts...>;

  static void Encode(Encoder& e, const V& v) {
    if (v.valueless_by_exception())
      return Wire::Fail(e, ValuelessVariantError());
    Wire::PutVarint(e, v.index());
    std::visit(
        [&e](const auto& x) { Codec<std::decay_t<decltype(x)>>::Encode(e, x); },
        v);
  }
  static absl::Status Decode(Decoder& d, V& v) {
    uint64_t index;
    MP_RETURN_IF_ERROR(Wire::GetVarint(d, &index));
    if (index >= sizeof...(Ts)) return VariantIndexError(index, sizeof...(Ts));
    static constexpr std::array<absl::Status (*)(Decoder&, V&), sizeof...(Ts)>
        kDecoders = MakeDecoders(std::index_sequence_for<Ts...>{});
    return kDecoders[index](d, v);
  }

 private:
  template <size_t I>
  static absl::Status DecodeAlternative(Decoder& d, V& v) {
    return Codec<std::variant_alternative_t<I, V>>::Decode(
        d, v.template emplace<I>());
  }
  template <size_t... I>
  static constexpr std::array<absl::Status (*)(Decoder&, V&), sizeof...(I)>
  MakeDecoders(std::index_sequence<I...>) {
    return {&DecodeAlternative<I>...};
  }
};

template <>
struct Codec<absl::Duration> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 12;
  static constexpr uint32_t kInfiniteLo = ~uint32_t{0};
  static constexpr uint32_t kTicksPerSecond = 4000000000u;

  static void Encode(Encoder& e, absl::Duration d) {
    int64_t hi;
    uint32_t lo;
    if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
      hi = d > absl::ZeroDuration() ? INT64_MAX : INT64_MIN;
      lo = kInfiniteLo;
    } else {
      absl::Duration rem;
      hi = absl::IDivDuration(d, absl::Seconds(1), &rem);
      if (rem < absl::ZeroDuration()) {
        --hi;
        rem += absl::Seconds(1);
      }
      lo = static_cast<uint32_t>(absl::IDivDuration(rem, Tick(), &rem));
    }
    e.Write(hi, lo);
  }
  static absl::Status Decode(Decoder& d, absl::Duration& v) {
    int64_t hi;
    uint32_t lo;
    MP_RETURN_IF_ERROR(d.Read(hi, lo));
    if (lo == kInfiniteLo) {
      if (hi != INT64_MAX && hi != INT64_MIN) return BadDurationError();
      v = hi > 0 ? absl::InfiniteDuration() : -absl::InfiniteDuration();
    } else {
      if (lo >= kTicksPerSecond) return BadDurationError();
      v = absl::Seconds(hi) + Tick() * static_cast<int64_t>(lo);
    }
    return absl::OkStatus();
  }

 private:
  // absl::Duration's resolution: a quarter of a nanosecond.
  static absl::Duration Tick() { return absl::Nanoseconds(1) / 4; }
};

template <>
struct Codec<OwnedHandle> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1;
  static void Encode(Encoder& e, const OwnedHandle& h) {
    e.AddHandle(h.get()).IgnoreError();  // the Encoder keeps the failure
  }
  static absl::Status Decode(Decoder& d, OwnedHandle& h) {
    absl::StatusOr<OwnedHandle> taken = d.TakeHandle();
    if (!taken.ok()) return taken.status();
    h = *std::move(taken);
    return absl::OkStatus();
  }
};

// Maps and sets: any container with unique keys (insert() returns a pair
// whose .second says whether it inserted). Multimaps and multisets are not
// among them.
template <typename C, typename = void>
struct IsUniqueAssociative : std::false_type {};
template <typename C>
struct IsUniqueAssociative<
    C, std::void_t<typename C::key_type, typename C::value_type,
                   decltype(std::declval<C&>()
                                .insert(std::declval<typename C::value_type>())
                                .second)>> : std::true_type {};
template <typename C, typename = void>
struct IsMap : std::false_type {};
template <typename C>
struct IsMap<C, std::void_t<typename C::mapped_type>> : std::true_type {};
template <typename C, typename = void>
struct IsOrdered : std::false_type {};
template <typename C>
struct IsOrdered<C, std::void_t<typename C::key_compare>> : std::true_type {};
template <typename C, typename = void>
struct HasReserve : std::false_type {};
template <typename C>
struct HasReserve<C, std::void_t<decltype(std::declval<C&>().reserve(1))>>
    : std::true_type {};

template <typename C>
struct Codec<C,
             std::enable_if_t<IsUniqueAssociative<C>::value && !kIsUser<C>>> {
  static constexpr bool kBitwise = false;
  static constexpr size_t kMinSize = 1;
  using K = typename C::key_type;
  static constexpr bool kIsMap = IsMap<C>::value;
  // What an element costs in memory: itself, and roughly what a node-based
  // container adds to each (links, hash, the allocation's header).
  static constexpr size_t kElementMemory =
      sizeof(typename C::value_type) + 4 * sizeof(void*);

  static void Encode(Encoder& e, const C& c) {
    Wire::PutVarint(e, c.size());
    if constexpr (kIsMap) {
      using M = typename C::mapped_type;
      for (const auto& kv : c) {
        size_t before = Wire::Size(e);
        e.Write(kv.first, kv.second);
        if constexpr (Codec<K>::kMinSize + Codec<M>::kMinSize == 0) {
          if (Wire::Size(e) == before && Wire::Ok(e)) {
            return Wire::Fail(e, EmptyElementEncodeError());
          }
        }
      }
    } else {
      EncodeElements<K, false>(e, c);
    }
  }

  static absl::Status Decode(Decoder& d, C& c) {
    size_t min_element_size = Codec<K>::kMinSize;
    if constexpr (kIsMap) {
      min_element_size += Codec<typename C::mapped_type>::kMinSize;
    }
    size_t n;
    MP_RETURN_IF_ERROR(Wire::GetCount(d, min_element_size, kElementMemory, &n));
    c.clear();
    if constexpr (HasReserve<C>::value) {
      c.reserve(Wire::ReserveCount(d, n, kElementMemory));
    }
    for (size_t i = 0; i < n; ++i) {
      size_t before = d.remaining();
      K key{};
      MP_RETURN_IF_ERROR(Codec<K>::Decode(d, key));
      if constexpr (kIsMap) {
        typename C::mapped_type value{};
        MP_RETURN_IF_ERROR(Codec<typename C::mapped_type>::Decode(d, value));
        if (d.remaining() == before) return EmptyElementDecodeError();
        MP_RETURN_IF_ERROR(Insert(c, std::move(key), std::move(value)));
      } else {
        if (d.remaining() == before) return EmptyElementDecodeError();
        MP_RETURN_IF_ERROR(Insert(c, std::move(key)));
      }
    }
    return absl::OkStatus();
  }

 private:
  template <typename... Args>
  static absl::Status Insert(C& c, K&& key, Args&&... value) {
    if constexpr (IsOrdered<C>::value) {
      // Encoded in order: checking that keeps the format canonical and
      // makes each insertion O(1) at the end.
      if (!c.empty() && !c.key_comp()(LastKey(c), key)) {
        return KeyOrderError();
      }
      c.emplace_hint(c.end(), std::move(key), std::forward<Args>(value)...);
    } else {
      if (!c.emplace(std::move(key), std::forward<Args>(value)...).second) {
        return DuplicateKeyError();
      }
    }
    return absl::OkStatus();
  }
  static const K& LastKey(const C& c) {
    if constexpr (kIsMap) {
      return std::prev(c.end())->first;
    } else {
      return *std::prev(c.end());
    }
  }
};

}  // namespace base_internal

template <typename T>
absl::Status EncodeTo(const T& value, std::string* out,
                      std::vector<NativeHandle>* handles) {
  const size_t out_size = out->size();
  const size_t handles_size = handles == nullptr ? 0 : handles->size();
  Encoder e(out, handles);
  e.Write(value);
  if (!e.status().ok()) {
    out->resize(out_size);
    if (handles != nullptr) handles->resize(handles_size);
  }
  return e.status();
}

template <typename T>
absl::StatusOr<std::string> Encode(const T& value,
                                   std::vector<NativeHandle>* handles) {
  std::string out;
  MP_RETURN_IF_ERROR(EncodeTo(value, &out, handles));
  return out;
}

template <typename T>
absl::Status DecodeTo(absl::string_view bytes, T* out,
                      std::vector<OwnedHandle>* handles) {
  Decoder d(bytes, handles);
  absl::Status s;
#ifdef ABSL_HAVE_EXCEPTIONS
  // The standard containers report running out of memory only by throwing;
  // mp returns statuses, so this is where that becomes one.
  try {
    s = d.Read(*out);
  } catch (const std::bad_alloc&) {
    return base_internal::OutOfMemoryError();
  } catch (const std::length_error&) {
    return base_internal::OutOfMemoryError();
  }
#else
  s = d.Read(*out);
#endif
  if (!s.ok()) return s;
  if (d.remaining() != 0)
    return base_internal::TrailingBytesError(d.remaining());
  return absl::OkStatus();
}

template <typename T>
absl::StatusOr<T> Decode(absl::string_view bytes,
                         std::vector<OwnedHandle>* handles) {
  static_assert(std::is_default_constructible_v<T>,
                "mp::Decode<T> needs a default-constructible T to decode into");
  T value{};
  MP_RETURN_IF_ERROR(DecodeTo(bytes, &value, handles));
  return value;
}

}  // namespace mp

#endif  // MP_BASE_INTERNAL_CODEC_IMPL_H_
