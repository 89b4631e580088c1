#include "base/codec.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/handle.h"
#include "base/internal/codec_fuzz.h"
#include "base/internal/codec_test_handle.h"
#include "base/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mp {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Types for the tests.

struct Point {
  int32_t x = 0;
  std::string label;

  friend void MpEncode(Encoder& e, const Point& p) { e.Write(p.x, p.label); }
  friend absl::Status MpDecode(Decoder& d, Point& p) {
    return d.Read(p.x, p.label);
  }
  friend bool operator==(const Point& a, const Point& b) {
    return a.x == b.x && a.label == b.label;
  }
  friend bool operator<(const Point& a, const Point& b) {
    return std::tie(a.x, a.label) < std::tie(b.x, b.label);
  }
};

// A user type with an invariant its decoder checks.
struct Range {
  int32_t lo = 0;
  int32_t hi = 0;

  friend void MpEncode(Encoder& e, const Range& r) { e.Write(r.lo, r.hi); }
  friend absl::Status MpDecode(Decoder& d, Range& r) {
    absl::Status s = d.Read(r.lo, r.hi);
    if (s.ok() && r.lo > r.hi) return DecodeError("Range: lo > hi");
    return s;
  }
};

// Has a bool, so it spells out its encoding rather than travelling bitwise.
struct Flags {
  bool on = false;
  uint8_t level = 0;

  friend void MpEncode(Encoder& e, const Flags& f) { e.Write(f.on, f.level); }
  friend absl::Status MpDecode(Decoder& d, Flags& f) {
    return d.Read(f.on, f.level);
  }
};

// Trivially copyable and without MpEncode: copied bitwise.
struct Pixel {
  uint8_t r = 0, g = 0, b = 0, a = 0;
  friend bool operator==(const Pixel& x, const Pixel& y) {
    return std::memcmp(&x, &y, sizeof(Pixel)) == 0;
  }
};

struct Vec3 {
  double x, y, z;
  friend bool operator==(const Vec3& a, const Vec3& b) {
    return a.x == b.x && a.y == b.y && a.z == b.z;
  }
};

enum class Color : uint8_t { kRed = 1, kGreen = 2 };
enum Plain { kZero, kOne, kBig = 1 << 20 };

// An enum whose decoder accepts only its enumerators.
enum class Mode : int16_t { kRead = 0, kWrite = 1 };
void MpEncode(Encoder& e, Mode m) { e.Write(static_cast<int16_t>(m)); }
absl::Status MpDecode(Decoder& d, Mode& m) {
  int16_t v;
  absl::Status s = d.Read(v);
  if (!s.ok()) return s;
  if (v != 0 && v != 1) return DecodeError("Mode: unknown value");
  m = static_cast<Mode>(v);
  return absl::OkStatus();
}

// Recursive through std::vector, so its depth is data-driven.
struct Tree {
  int32_t value = 0;
  std::vector<Tree> children;

  friend void MpEncode(Encoder& e, const Tree& t) {
    e.Write(t.value, t.children);
  }
  friend absl::Status MpDecode(Decoder& d, Tree& t) {
    return d.Read(t.value, t.children);
  }
};

Tree Chain(int levels) {
  Tree t{levels, {}};
  for (int i = levels - 1; i > 0; --i) t = Tree{i, {std::move(t)}};
  return t;
}

// Writes nothing at all.
struct Nothing {
  friend void MpEncode(Encoder&, const Nothing&) {}
  friend absl::Status MpDecode(Decoder&, Nothing&) { return absl::OkStatus(); }
};

// Refuses to be encoded.
struct Unsendable {
  friend void MpEncode(Encoder& e, const Unsendable&) {
    e.Write(int32_t{42});  // written, then discarded by EncodeTo
    e.Fail(absl::FailedPreconditionError("Unsendable: not today"));
  }
  friend absl::Status MpDecode(Decoder&, Unsendable&) {
    return absl::OkStatus();
  }
};

// Throws what an allocation that fails throws, as a standard container
// deep inside a decode would.
struct ThrowsBadAlloc {
  friend void MpEncode(Encoder& e, const ThrowsBadAlloc&) { e.Write('x'); }
  friend absl::Status MpDecode(Decoder&, ThrowsBadAlloc&) {
    throw std::bad_alloc();
  }
};
struct ThrowsLengthError {
  friend void MpEncode(Encoder& e, const ThrowsLengthError&) { e.Write('x'); }
  friend absl::Status MpDecode(Decoder&, ThrowsLengthError&) {
    std::vector<char> v;
    v.reserve(v.max_size() + 1);
    return absl::OkStatus();
  }
};

// The bytes held by containers with a CountingAllocator: now and at most.
struct AllocationCount {
  size_t live = 0;
  size_t peak = 0;
};

AllocationCount& Allocated() {
  static AllocationCount count;
  return count;
}

template <typename T>
struct CountingAllocator {
  using value_type = T;
  CountingAllocator() = default;
  template <typename U>
  CountingAllocator(const CountingAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t n) {
    T* p = std::allocator<T>().allocate(n);
    AllocationCount& count = Allocated();
    count.live += n * sizeof(T);
    count.peak = std::max(count.peak, count.live);
    return p;
  }
  void deallocate(T* p, size_t n) {
    Allocated().live -= n * sizeof(T);
    std::allocator<T>().deallocate(p, n);
  }
  friend bool operator==(const CountingAllocator&, const CountingAllocator&) {
    return true;
  }
  friend bool operator!=(const CountingAllocator&, const CountingAllocator&) {
    return false;
  }
};

template <typename T>
using CountedVector = std::vector<T, CountingAllocator<T>>;

// Decodes `bytes` as a T and returns the status and the most bytes that
// T's CountingAllocators held at once while it did.
template <typename T>
std::pair<absl::Status, size_t> DecodeCounted(absl::string_view bytes) {
  Allocated() = AllocationCount();
  absl::Status s = Decode<T>(bytes).status();
  return {s, Allocated().peak};
}

template <typename T>
T RoundTrip(const T& value) {
  absl::StatusOr<std::string> bytes = Encode(value);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok()) return T{};
  absl::StatusOr<T> back = Decode<T>(*bytes);
  EXPECT_TRUE(back.ok()) << back.status();
  if (!back.ok()) return T{};
  return *std::move(back);
}

template <typename T>
void ExpectRoundTrip(const T& value) {
  EXPECT_TRUE(RoundTrip(value) == value);
}

template <typename T>
std::string Bytes(const T& value) {
  absl::StatusOr<std::string> bytes = Encode(value);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

// Decoding `bytes` as T fails with a DecodeError whose message has `text`.
template <typename T>
::testing::AssertionResult DecodeFails(absl::string_view bytes,
                                       absl::string_view text) {
  absl::Status s = Decode<T>(bytes).status();
  if (!IsDecodeError(s)) {
    return ::testing::AssertionFailure() << "not a DecodeError: " << s;
  }
  if (!absl::StrContains(s.message(), text)) {
    return ::testing::AssertionFailure()
           << "message \"" << s.message() << "\" lacks \"" << text << "\"";
  }
  return ::testing::AssertionSuccess();
}

std::string Str(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// ---------------------------------------------------------------------------
// Scalars.

template <typename T>
void ExpectLimitsRoundTrip() {
  using L = std::numeric_limits<T>;
  for (T v : {T{}, L::min(), L::max(), L::lowest(), static_cast<T>(1)}) {
    EXPECT_EQ(RoundTrip(v), v);
    EXPECT_EQ(Bytes(v).size(), sizeof(T));
  }
}

TEST(CodecTest, ArithmeticTypesRoundTrip) {
  ExpectLimitsRoundTrip<char>();
  ExpectLimitsRoundTrip<signed char>();
  ExpectLimitsRoundTrip<unsigned char>();
  ExpectLimitsRoundTrip<wchar_t>();
  ExpectLimitsRoundTrip<char16_t>();
  ExpectLimitsRoundTrip<char32_t>();
  ExpectLimitsRoundTrip<short>();
  ExpectLimitsRoundTrip<unsigned short>();
  ExpectLimitsRoundTrip<int>();
  ExpectLimitsRoundTrip<unsigned>();
  ExpectLimitsRoundTrip<long>();
  ExpectLimitsRoundTrip<unsigned long>();
  ExpectLimitsRoundTrip<long long>();
  ExpectLimitsRoundTrip<unsigned long long>();
  ExpectLimitsRoundTrip<float>();
  ExpectLimitsRoundTrip<double>();
  ExpectLimitsRoundTrip<long double>();
  EXPECT_EQ(RoundTrip(std::numeric_limits<double>::infinity()),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(RoundTrip(-0.0), 0.0);
  EXPECT_TRUE(std::signbit(RoundTrip(-0.0)));
}

TEST(CodecTest, FloatingPointKeepsItsBits) {
  double nan = std::numeric_limits<double>::quiet_NaN();
  double back = RoundTrip(nan);
  EXPECT_EQ(std::memcmp(&nan, &back, sizeof(double)), 0);
}

TEST(CodecTest, NumbersAreLittleEndianFixedWidth) {
  EXPECT_EQ(Bytes(uint32_t{0x01020304}), Str({4, 3, 2, 1}));
  EXPECT_EQ(Bytes(int16_t{-2}), Str({0xfe, 0xff}));
  EXPECT_EQ(Bytes(uint64_t{1}), Str({1, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(CodecTest, BoolIsOneCheckedByte) {
  EXPECT_EQ(Bytes(true), Str({1}));
  EXPECT_EQ(Bytes(false), Str({0}));
  EXPECT_EQ(*Decode<bool>(Str({1})), true);
  EXPECT_EQ(*Decode<bool>(Str({0})), false);
  EXPECT_TRUE((DecodeFails<bool>(Str({2}), "invalid bool byte 0x02")));
  EXPECT_TRUE((DecodeFails<bool>(Str({0xff}), "invalid bool byte 0xff")));
  EXPECT_TRUE((DecodeFails<bool>("", "truncated")));
}

TEST(CodecTest, EnumsTravelAsTheirUnderlyingType) {
  EXPECT_EQ(Bytes(Color::kGreen), Str({2}));
  ExpectRoundTrip(Color::kRed);
  EXPECT_EQ(Bytes(kBig), Bytes(static_cast<int>(kBig)));
  ExpectRoundTrip(kOne);
  ExpectRoundTrip(kBig);
}

TEST(CodecTest, EnumsCanCheckTheirValues) {
  EXPECT_EQ(Bytes(Mode::kWrite), Bytes(int16_t{1}));
  ExpectRoundTrip(Mode::kWrite);
  EXPECT_TRUE((DecodeFails<Mode>(Bytes(int16_t{7}), "Mode: unknown value")));
}

// ---------------------------------------------------------------------------
// Strings and sequences.

TEST(CodecTest, StringsRoundTrip) {
  ExpectRoundTrip(std::string());
  ExpectRoundTrip(std::string("hello"));
  ExpectRoundTrip(std::string("with\0nul", 8));
  ExpectRoundTrip(std::string(100000, 'x'));
  ExpectRoundTrip(std::u16string(u"\u00e9t\u00e9"));
  ExpectRoundTrip(std::u32string(U"\U0001F600"));
  ExpectRoundTrip(std::wstring(L"wide"));
}

TEST(CodecTest, StringWireFormatIsVarintLengthThenBytes) {
  EXPECT_EQ(Bytes(std::string("abc")), Str({3, 'a', 'b', 'c'}));
  std::string s300(300, 'z');
  std::string bytes = Bytes(s300);
  ASSERT_EQ(bytes.size(), 302u);
  EXPECT_EQ(bytes.substr(0, 2), Str({0xac, 0x02}));  // 300 as LEB128
  EXPECT_EQ(Bytes(std::u16string(u"A")), Str({1, 'A', 0}));
}

TEST(CodecTest, StringViewsEncodeLikeStrings) {
  EXPECT_EQ(Bytes(absl::string_view("view")), Bytes(std::string("view")));
  EXPECT_EQ(Bytes(std::string_view("view")), Bytes(std::string("view")));
  EXPECT_EQ(*Decode<std::string>(Bytes(absl::string_view("v"))), "v");
  EXPECT_EQ(Bytes(absl::string_view()), Str({0}));
}

TEST(CodecTest, VectorsRoundTrip) {
  ExpectRoundTrip(std::vector<int>{});
  ExpectRoundTrip(std::vector<int>{1, -2, 3});
  ExpectRoundTrip(std::vector<std::string>{"a", "", "ccc"});
  ExpectRoundTrip(std::vector<std::vector<int>>{{1}, {}, {2, 3}});
  ExpectRoundTrip(std::vector<Pixel>{{1, 2, 3, 4}, {5, 6, 7, 8}});
  ExpectRoundTrip(std::vector<Vec3>{{1, 2, 3}, {-1, 0.5, 1e300}});
  ExpectRoundTrip(std::vector<Color>{Color::kGreen, Color::kRed});
  ExpectRoundTrip(std::vector<Point>{{1, "a"}, {2, "b"}});
  ExpectRoundTrip(std::vector<double>(100000, 0.25));
}

TEST(CodecTest, BitwiseVectorsAreCountThenTheElementBytes) {
  std::vector<uint16_t> v{0x0102, 0x0304};
  EXPECT_EQ(Bytes(v), Str({2, 2, 1, 4, 3}));
  std::vector<Pixel> p{{1, 2, 3, 4}};
  EXPECT_EQ(Bytes(p), Str({1, 1, 2, 3, 4}));
}

TEST(CodecTest, VectorBoolIsOneCheckedBytePerElement) {
  std::vector<bool> v{true, false, true};
  EXPECT_EQ(Bytes(v), Str({3, 1, 0, 1}));
  ExpectRoundTrip(v);
  ExpectRoundTrip(std::vector<bool>{});
  ExpectRoundTrip(std::vector<bool>(1000, true));
  EXPECT_TRUE((DecodeFails<std::vector<bool>>(Str({2, 1, 3}), "invalid bool")));
  // An element is its bool, not the proxy's bits.
  EXPECT_EQ(Bytes(v[0]), Str({1}));
  EXPECT_EQ(Bytes(v[1]), Str({0}));
}

TEST(CodecTest, SpansEncodeLikeVectors) {
  std::vector<int> v{4, 5, 6};
  EXPECT_EQ(Bytes(absl::Span<const int>(v)), Bytes(v));
  EXPECT_EQ(Bytes(absl::MakeSpan(v)), Bytes(v));
  std::vector<std::string> s{"x", "yz"};
  EXPECT_EQ(Bytes(absl::Span<const std::string>(s)), Bytes(s));
}

TEST(CodecTest, ArraysHaveNoCount) {
  std::array<int32_t, 2> a{1, 2};
  EXPECT_EQ(Bytes(a), Str({1, 0, 0, 0, 2, 0, 0, 0}));
  ExpectRoundTrip(a);
  ExpectRoundTrip(std::array<std::string, 2>{"p", "q"});
  ExpectRoundTrip(std::array<int, 0>{});
  EXPECT_EQ(Bytes(std::array<int, 0>{}), "");
  std::array<bool, 3> b{true, false, true};
  EXPECT_EQ(Bytes(b), Str({1, 0, 1}));
  ExpectRoundTrip(b);
  EXPECT_TRUE(
      (DecodeFails<std::array<bool, 3>>(Str({1, 0, 5}), "invalid bool")));
  ExpectRoundTrip(std::vector<std::array<float, 3>>{{1, 2, 3}, {4, 5, 6}});
}

// ---------------------------------------------------------------------------
// Product and sum types.

TEST(CodecTest, PairsAndTuplesAreTheirMembersInOrder) {
  EXPECT_EQ(Bytes(std::make_pair(uint8_t{1}, std::string("a"))),
            Str({1, 1, 'a'}));
  ExpectRoundTrip(std::make_pair(1, std::string("one")));
  ExpectRoundTrip(std::make_tuple(1, 2.5, std::string("x"), true));
  ExpectRoundTrip(std::tuple<>());
  EXPECT_EQ(Bytes(std::tuple<>()), "");
}

TEST(CodecTest, OptionalIsATagByte) {
  EXPECT_EQ(Bytes(std::optional<uint8_t>()), Str({0}));
  EXPECT_EQ(Bytes(std::optional<uint8_t>(7)), Str({1, 7}));
  ExpectRoundTrip(std::optional<std::string>());
  ExpectRoundTrip(std::optional<std::string>("s"));
  ExpectRoundTrip(std::optional<std::optional<int>>(std::optional<int>()));
  EXPECT_TRUE((DecodeFails<std::optional<uint8_t>>(
      Str({2, 7}), "invalid optional tag byte 0x02")));
  EXPECT_TRUE((DecodeFails<std::optional<bool>>(Str({1, 2}), "invalid bool")));
}

TEST(CodecTest, DecodingEmptyOptionalResetsTheTarget) {
  std::optional<int> v = 5;
  ASSERT_TRUE(DecodeTo(Str({0}), &v).ok());
  EXPECT_FALSE(v.has_value());
}

TEST(CodecTest, VariantIsIndexThenAlternative) {
  using V = std::variant<std::monostate, int32_t, std::string>;
  EXPECT_EQ(Bytes(V()), Str({0}));
  EXPECT_EQ(Bytes(V(int32_t{1})), Str({1, 1, 0, 0, 0}));
  EXPECT_EQ(Bytes(V(std::string("a"))), Str({2, 1, 'a'}));
  ExpectRoundTrip(V());
  ExpectRoundTrip(V(7));
  ExpectRoundTrip(V("seven"));
  // Same type twice: the index tells them apart.
  using Twice = std::variant<int, int>;
  Twice second(std::in_place_index<1>, 5);
  EXPECT_EQ(RoundTrip(second).index(), 1u);
  EXPECT_TRUE((DecodeFails<V>(Str({3}), "variant index 3 out of range for 3")));
  EXPECT_TRUE((DecodeFails<V>(Str({0x80, 0x01}), "variant index 128")));
}

// Not trivially copyable, so libstdc++ constructs it in place and a throw
// leaves the variant valueless.
struct ThrowsOnInt {
  ThrowsOnInt() = default;
  explicit ThrowsOnInt(int) { throw 1; }
  ThrowsOnInt(const ThrowsOnInt&) {}
  friend void MpEncode(Encoder&, const ThrowsOnInt&) {}
  friend absl::Status MpDecode(Decoder&, ThrowsOnInt&) {
    return absl::OkStatus();
  }
};

TEST(CodecTest, ValuelessVariantDoesNotEncode) {
  std::variant<int, ThrowsOnInt> v;
  try {
    v.emplace<1>(0);
  } catch (int) {
  }
  ASSERT_TRUE(v.valueless_by_exception());
  absl::StatusOr<std::string> bytes = Encode(v);
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  // With a value it travels as its index alone.
  v.emplace<1>();
  EXPECT_EQ(Bytes(v), Str({1}));
  EXPECT_EQ(Decode<decltype(v)>(Str({1}))->index(), 1u);
}

TEST(CodecTest, DurationsRoundTripExactly) {
  for (absl::Duration d : {
           absl::ZeroDuration(),
           absl::Nanoseconds(1),
           -absl::Nanoseconds(1),
           absl::Nanoseconds(1) / 4,
           -absl::Nanoseconds(1) / 4,
           absl::Milliseconds(-1500),
           absl::Seconds(1),
           absl::Hours(-100000),
           absl::Seconds(INT64_MAX),
           absl::Seconds(INT64_MIN),
           absl::Seconds(INT64_MAX) + absl::Nanoseconds(999999999) +
               absl::Nanoseconds(1) / 4 * 3,
           absl::InfiniteDuration(),
           -absl::InfiniteDuration(),
       }) {
    EXPECT_EQ(RoundTrip(d), d) << d;
  }
  EXPECT_EQ(Bytes(absl::Milliseconds(-1500)),
            Bytes(std::make_pair(int64_t{-2}, uint32_t{2000000000})));
  EXPECT_EQ(Bytes(absl::InfiniteDuration()),
            Bytes(std::make_pair(INT64_MAX, ~uint32_t{0})));
}

TEST(CodecTest, MalformedDurationsAreRefused) {
  EXPECT_TRUE((DecodeFails<absl::Duration>(
      Bytes(std::make_pair(int64_t{0}, uint32_t{4000000000u})), "Duration")));
  EXPECT_TRUE((DecodeFails<absl::Duration>(
      Bytes(std::make_pair(int64_t{5}, ~uint32_t{0})), "Duration")));
}

// ---------------------------------------------------------------------------
// Maps and sets.

TEST(CodecTest, MapsAndSetsRoundTrip) {
  ExpectRoundTrip(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  ExpectRoundTrip(std::map<int, std::string>{});
  ExpectRoundTrip(std::set<int64_t>{-1, 0, 99});
  ExpectRoundTrip(std::unordered_map<int, std::string>{{1, "x"}, {2, "y"}});
  ExpectRoundTrip(std::unordered_set<std::string>{"p", "q", ""});
  ExpectRoundTrip(absl::flat_hash_map<std::string, std::vector<int>>{
      {"k", {1, 2}}, {"l", {}}});
  ExpectRoundTrip(absl::flat_hash_set<int>{3, 4, 5});
  ExpectRoundTrip(std::map<Point, std::set<Point>>{
      {{1, "a"}, {{2, "b"}, {3, "c"}}}, {{0, "z"}, {}}});
  ExpectRoundTrip(std::map<int, int, std::greater<int>>{{1, 1}, {2, 2}});
}

TEST(CodecTest, OrderedKeysMustBeStrictlyIncreasing) {
  using M = std::map<uint8_t, uint8_t>;
  EXPECT_EQ(Bytes(M{{1, 10}, {2, 20}}), Str({2, 1, 10, 2, 20}));
  EXPECT_TRUE((DecodeFails<M>(Str({2, 2, 20, 1, 10}), "out of order")));
  EXPECT_TRUE((DecodeFails<M>(Str({2, 1, 10, 1, 11}), "out of order")));
  EXPECT_TRUE((DecodeFails<std::set<uint8_t>>(Str({2, 5, 5}), "out of order")));
  // The container's own order, not operator<.
  using G = std::set<uint8_t, std::greater<uint8_t>>;
  EXPECT_EQ(Bytes(G{1, 2}), Str({2, 2, 1}));
  EXPECT_TRUE((DecodeFails<G>(Str({2, 1, 2}), "out of order")));
}

TEST(CodecTest, UnorderedDuplicatesAreRefused) {
  EXPECT_TRUE((DecodeFails<std::unordered_map<uint8_t, uint8_t>>(
      Str({2, 1, 10, 1, 11}), "duplicate key")));
  EXPECT_TRUE((DecodeFails<absl::flat_hash_set<uint8_t>>(Str({2, 3, 3}),
                                                         "duplicate key")));
}

// ---------------------------------------------------------------------------
// User types.

TEST(CodecTest, UserTypesRoundTrip) {
  ExpectRoundTrip(Point{3, "three"});
  EXPECT_EQ(Bytes(Point{1, "a"}), Str({1, 0, 0, 0, 1, 'a'}));
  Flags f = RoundTrip(Flags{true, 3});
  EXPECT_TRUE(f.on);
  EXPECT_EQ(f.level, 3);
  EXPECT_TRUE((DecodeFails<Flags>(Str({2, 3}), "invalid bool")));
}

TEST(CodecTest, UserDecodersCheckInvariants) {
  EXPECT_EQ(RoundTrip(Range{1, 2}).hi, 2);
  EXPECT_TRUE((DecodeFails<Range>(Bytes(std::make_pair(int32_t{5}, int32_t{1})),
                                  "Range: lo > hi")));
  // Inside a container the error comes through unchanged.
  EXPECT_TRUE((DecodeFails<std::vector<Range>>(
      Str({1}) + Bytes(std::make_pair(int32_t{5}, int32_t{1})),
      "Range: lo > hi")));
}

TEST(CodecTest, EncoderFailReachesTheCallerAndLeavesOutputUnchanged) {
  std::string out = "prefix";
  absl::Status s = EncodeTo(std::make_pair(1, Unsendable{}), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "Unsendable: not today");
  EXPECT_EQ(out, "prefix");
  EXPECT_TRUE(Decode<Unsendable>("").ok());
}

TEST(CodecTest, EncodeToAppends) {
  std::string out = "ab";
  ASSERT_TRUE(EncodeTo(std::string("c"), &out).ok());
  EXPECT_EQ(out, Str({'a', 'b', 1, 'c'}));
}

TEST(CodecTest, DecodeToReusesTheTarget) {
  std::vector<std::string> v{"old", "values", "here"};
  ASSERT_TRUE(DecodeTo(Bytes(std::vector<std::string>{"new"}), &v).ok());
  EXPECT_EQ(v, std::vector<std::string>{"new"});
  std::map<int, int> m{{1, 1}};
  ASSERT_TRUE(DecodeTo(Bytes(std::map<int, int>{{2, 2}}), &m).ok());
  EXPECT_EQ(m, (std::map<int, int>{{2, 2}}));
}

TEST(CodecTest, NestedCombinationsRoundTrip) {
  using V = std::variant<int, std::string, std::vector<Point>>;
  std::map<std::string, std::vector<std::optional<V>>> m{
      {"first", {V(1), std::nullopt, V("two")}},
      {"second", {V(std::vector<Point>{{1, "p"}, {2, "q"}})}},
      {"empty", {}},
  };
  ExpectRoundTrip(m);
  std::vector<std::tuple<std::set<int>, std::array<std::optional<bool>, 2>,
                         std::pair<Color, absl::Duration>>>
      v{{{1, 2}, {true, std::nullopt}, {Color::kRed, absl::Seconds(3)}},
        {{}, {std::nullopt, false}, {Color::kGreen, absl::ZeroDuration()}}};
  ExpectRoundTrip(v);
  absl::flat_hash_map<int, std::unordered_map<std::string, std::set<Point>>> h{
      {1, {{"a", {{1, "x"}}}}}, {2, {}}};
  ExpectRoundTrip(h);
}

// ---------------------------------------------------------------------------
// Untrusted input.

TEST(CodecTest, TrailingBytesAreRefused) {
  EXPECT_TRUE((DecodeFails<int32_t>(Str({1, 0, 0, 0, 9}),
                                    "1 bytes left over after the value")));
  EXPECT_TRUE((DecodeFails<std::string>(Str({1, 'a', 'b'}), "left over")));
  EXPECT_TRUE((DecodeFails<std::tuple<>>(Str({0}), "left over")));
}

TEST(CodecTest, TruncatedInputIsADecodeErrorAtEveryLength) {
  auto check = [](const auto& value) {
    using T = std::decay_t<decltype(value)>;
    std::string bytes = Bytes(value);
    ASSERT_TRUE(Decode<T>(bytes).ok());
    for (size_t n = 0; n < bytes.size(); ++n) {
      absl::Status s =
          Decode<T>(absl::string_view(bytes).substr(0, n)).status();
      EXPECT_TRUE(IsDecodeError(s)) << "prefix " << n << ": " << s;
    }
  };
  check(std::make_tuple(int64_t{1}, std::string("abc"), std::vector<int>{1, 2},
                        std::optional<double>(1.0)));
  check(std::map<std::string, std::vector<Point>>{{"a", {{1, "x"}, {2, ""}}},
                                                  {"b", {}}});
  check(std::vector<std::variant<std::monostate, bool, std::u16string>>{
      std::monostate(), true, std::u16string(u"wide")});
  check(Chain(5));
  check(absl::Seconds(5));
  check(std::string(300, 'q'));
}

TEST(CodecTest, HugeCountsFailBeforeAllocating) {
  // Counts that would need exabytes if believed.
  std::string huge = Str({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f});
  EXPECT_TRUE((DecodeFails<std::string>(huge, "exceeds the 0 bytes left")));
  EXPECT_TRUE((DecodeFails<std::vector<int64_t>>(huge + "abc", "exceeds")));
  EXPECT_TRUE((DecodeFails<std::vector<std::string>>(huge, "exceeds")));
  EXPECT_TRUE((DecodeFails<std::map<int, int>>(huge, "exceeds")));
  EXPECT_TRUE((DecodeFails<std::unordered_map<int, int>>(huge, "exceeds")));
  EXPECT_TRUE((DecodeFails<std::vector<bool>>(huge, "exceeds")));
  EXPECT_TRUE((DecodeFails<std::u32string>(huge, "exceeds")));
  EXPECT_TRUE((DecodeFails<std::vector<Point>>(huge, "exceeds")));
  // One element more than the bytes can hold: 3 int32s need 12 bytes.
  EXPECT_TRUE((DecodeFails<std::vector<int32_t>>(
      Str({3}) + std::string(11, '\0'),
      "count 3 of elements of at least 4 bytes exceeds the 11")));
  // Pairs of int64 take at least 16 bytes each.
  EXPECT_TRUE((DecodeFails<std::map<int64_t, int64_t>>(
      Str({2}) + std::string(31, '\0'), "at least 16 bytes")));
}

// A count: an unsigned LEB128 varint.
std::string Count(uint64_t n) {
  std::string out;
  while (n >= 0x80) {
    out.push_back(static_cast<char>(n | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out;
}

// 64 KiB in memory, and its alternative std::monostate one byte on the wire.
using Big = std::array<char, 65536>;
using BigOrNothing = std::variant<std::monostate, Big>;

TEST(CodecTest, CountsBeyondTheBytesLeftAllocateNothing) {
  // 2^32 int64s claimed, 64 bytes sent.
  auto [s, peak] = DecodeCounted<CountedVector<int64_t>>(
      Count(uint64_t{1} << 32) + std::string(64, '\0'));
  EXPECT_TRUE(IsDecodeError(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("count 4294967296"));
  EXPECT_EQ(peak, 0u);
  // Strings too: the length is refused before the string is made.
  using CountedString =
      std::basic_string<char, std::char_traits<char>, CountingAllocator<char>>;
  std::tie(s, peak) =
      DecodeCounted<CountedString>(Count(uint64_t{1} << 40) + "abc");
  EXPECT_THAT(std::string(s.message()), HasSubstr("exceeds the 3 bytes left"));
  EXPECT_EQ(peak, 0u);
  using CountedU32String =
      std::basic_string<char32_t, std::char_traits<char32_t>,
                        CountingAllocator<char32_t>>;
  std::tie(s, peak) =
      DecodeCounted<CountedU32String>(Count(3) + std::string(11, 'x'));
  EXPECT_THAT(std::string(s.message()), HasSubstr("exceeds the 11 bytes left"));
  EXPECT_EQ(peak, 0u);
  // A variant takes its index and the smallest alternative.
  EXPECT_TRUE((DecodeFails<std::vector<std::variant<Big, int32_t>>>(
      Count(2) + std::string(9, '\0'), "at least 5 bytes exceeds the 9")));
}

TEST(CodecTest, ContainersGrowAsTheirElementsDecode) {
  // 200 elements of 64 KiB, which the bytes left could cover at one byte
  // each, and the third is bad. Believed, the count would take 13 MB at
  // once; the decode stops having held room for a few.
  std::string bytes = Count(200) + Str({0, 0, 7}) + std::string(197, '\0');
  auto [s, peak] = DecodeCounted<CountedVector<BigOrNothing>>(bytes);
  EXPECT_TRUE(IsDecodeError(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("variant index 7"));
  EXPECT_LE(peak, 8 * sizeof(BigOrNothing));

  // Smaller elements: the room reserved before they decode stays within
  // the bytes left. 128 bytes a string, so the input ends after 781 of the
  // 100000 claimed.
  std::string strings = Count(100000) + std::string(100000, '\x7f');
  std::tie(s, peak) = DecodeCounted<CountedVector<std::string>>(strings);
  EXPECT_THAT(std::string(s.message()), HasSubstr("exceeds the 31 bytes left"));
  EXPECT_LE(peak, strings.size());

  // Nested: each inner count is a claim of its own.
  std::string nested =
      Count(1000) + Count(50) + Str({0, 7}) + std::string(1000, '\0');
  std::tie(s, peak) =
      DecodeCounted<CountedVector<CountedVector<BigOrNothing>>>(nested);
  EXPECT_THAT(std::string(s.message()), HasSubstr("variant index 7"));
  EXPECT_LE(peak, nested.size() + 4 * sizeof(BigOrNothing));

  // Elements that take no bytes: the count is held to one byte each, and
  // the first element that takes none ends the decode.
  std::string empties = Count(1000) + std::string(1000, '\0');
  std::tie(s, peak) =
      DecodeCounted<CountedVector<std::array<int64_t, 0>>>(empties);
  EXPECT_THAT(std::string(s.message()), HasSubstr("zero bytes"));
  EXPECT_LE(peak, empties.size());

  // A hash set reserves for the bytes left, not for the count.
  std::string keys = Count(250000) + std::string(8, '\0');  // 0, then 0 again
  keys += std::string(250000 * 4 - 8, '\1');
  using Plain = absl::flat_hash_set<int32_t>;
  using CountedSet =
      absl::flat_hash_set<int32_t, Plain::hasher, Plain::key_equal,
                          CountingAllocator<int32_t>>;
  std::tie(s, peak) = DecodeCounted<CountedSet>(keys);
  EXPECT_THAT(std::string(s.message()), HasSubstr("duplicate key"));
  EXPECT_LE(peak, keys.size());

  // A tree map allocates a node per element as it decodes.
  using Entry = std::pair<const int32_t, std::optional<Big>>;
  using CountedMap = std::map<int32_t, std::optional<Big>, std::less<int32_t>,
                              CountingAllocator<Entry>>;
  std::string entries =
      Count(200) + Str({0, 0, 0, 0, 0, 1, 0, 0, 0, 9}) + std::string(990, '\0');
  std::tie(s, peak) = DecodeCounted<CountedMap>(entries);
  EXPECT_THAT(std::string(s.message()), HasSubstr("optional tag"));
  EXPECT_LE(peak, 2 * sizeof(Entry) + 256);
}

TEST(CodecTest, DecodedMemoryIsLimited) {
  // The abort case: a megabyte of one-byte elements that are 64 KiB each in
  // memory, valid, but 64 GiB decoded. Refused at the count, before any
  // element.
  const size_t n = size_t{1} << 20;
  std::string bytes = Count(n) + std::string(n, '\0');
  auto [s, peak] = DecodeCounted<CountedVector<BigOrNothing>>(bytes);
  EXPECT_TRUE(IsDecodeError(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("may still decode into"));
  EXPECT_EQ(peak, 0u);

  // The limit is on the decode as a whole: inner counts that fit one by one
  // add up past it.
  std::string nested = Count(64);
  for (int i = 0; i < 64; ++i) nested += Count(1000) + std::string(1000, '\0');
  using Page = std::optional<std::array<char, 4096>>;
  std::tie(s, peak) = DecodeCounted<CountedVector<CountedVector<Page>>>(nested);
  EXPECT_THAT(std::string(s.message()), HasSubstr("may still decode into"));
  const size_t limit = nested.size() * kDecodeExpansion + kDecodeAllowance;
  EXPECT_LE(peak, 2 * limit);
  // Maps count their nodes.
  std::string entries = Count(20000);
  for (int32_t k = 0; k < 20000; ++k) entries += Bytes(k) + Str({0});
  EXPECT_TRUE((DecodeFails<std::map<int32_t, std::optional<Big>>>(
      entries, "may still decode into")));

  // Within the limit, such values decode: a few large elements from a few
  // bytes, or many small ones.
  ExpectRoundTrip(std::vector<BigOrNothing>(200));
  ExpectRoundTrip(std::vector<std::string>(1000000));
  ExpectRoundTrip(std::vector<std::map<int, int>>(100000));
}

TEST(CodecTest, RunningOutOfMemoryIsAStatus) {
  absl::StatusOr<std::string> bytes = Encode(std::vector<ThrowsBadAlloc>(1));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::Status s = Decode<std::vector<ThrowsBadAlloc>>(*bytes).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("out of memory"));
  bytes = Encode(ThrowsLengthError());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(Decode<ThrowsLengthError>(*bytes).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(CodecTest, MalformedVarintsAreRefused) {
  // Eleven bytes, or a tenth byte with more than bit 63.
  EXPECT_TRUE((DecodeFails<std::string>(std::string(10, '\x80') + Str({1}),
                                        "malformed varint")));
  EXPECT_TRUE((DecodeFails<std::string>(std::string(9, '\xff') + Str({2}),
                                        "malformed varint")));
  // Not the shortest form.
  EXPECT_TRUE(
      (DecodeFails<std::string>(Str({0x80, 0x00}), "malformed varint")));
  EXPECT_TRUE((DecodeFails<std::string>(Str({0x81, 0x80, 0x00, 'a'}),
                                        "malformed varint")));
  EXPECT_TRUE((DecodeFails<std::string>(Str({0x80}), "truncated")));
  // The largest value is fine as a varint (and then too large a count).
  EXPECT_TRUE((DecodeFails<std::string>(std::string(9, '\xff') + Str({1}),
                                        "count 18446744073709551615")));
}

TEST(CodecTest, ElementsThatEncodeToNothingAreRefused) {
  absl::StatusOr<std::string> bytes = Encode(std::vector<std::monostate>(3));
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Encode(std::vector<Nothing>(2)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Encode(std::map<int, Nothing>{{1, {}}}).status().code(),
            absl::StatusCode::kOk);
  EXPECT_EQ(Encode(std::vector<std::tuple<>>(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Empty containers of them are fine.
  ExpectRoundTrip(std::vector<std::monostate>());
  // A count the bytes could cover, of elements that take none.
  EXPECT_TRUE((DecodeFails<std::vector<std::monostate>>(Str({2, 'x', 'y'}),
                                                        "zero bytes")));
  EXPECT_TRUE((DecodeFails<std::vector<Nothing>>(Str({1, 'x'}), "zero bytes")));
  EXPECT_TRUE((DecodeFails<std::map<std::tuple<>, Nothing>>(Str({1, 'x'}),
                                                            "zero bytes")));
}

TEST(CodecTest, NestingOfUserTypesIsLimited) {
  Tree ok = Chain(kMaxCodecDepth);
  absl::StatusOr<std::string> bytes = Encode(ok);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_TRUE(Decode<Tree>(*bytes).ok());

  absl::StatusOr<std::string> deep = Encode(Chain(kMaxCodecDepth + 1));
  EXPECT_EQ(deep.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(deep.status().message()), HasSubstr("nested"));

  // Hand-made input a million levels deep must not exhaust the stack.
  std::string evil;
  for (int i = 0; i < 1000000; ++i) evil += Str({0, 0, 0, 0, 1});
  evil += Str({0, 0, 0, 0, 0});
  EXPECT_TRUE((DecodeFails<Tree>(evil, "nested deeper than 64 levels")));
}

// ---------------------------------------------------------------------------
// OS handles.

class CodecHandleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (OwnedHandle& h : handles_) {
      absl::StatusOr<OwnedHandle> made = base_internal::MakeTestHandle();
      ASSERT_TRUE(made.ok()) << made.status();
      h = *std::move(made);
    }
  }
  OwnedHandle handles_[2];
};

TEST_F(CodecHandleTest, NoTableMeansNoHandles) {
  absl::StatusOr<std::string> bytes = Encode(handles_[0]);
  EXPECT_EQ(bytes.status(), absl::FailedPreconditionError(
                                "cannot send an OS handle over this channel"));
  std::string out;
  Encoder e(&out);
  EXPECT_EQ(e.AddHandle(handles_[0].get()).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CodecHandleTest, InvalidHandlesAreNotSent) {
  std::vector<NativeHandle> table;
  absl::StatusOr<std::string> bytes = Encode(OwnedHandle(), &table);
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(table.empty());
}

TEST_F(CodecHandleTest, EachHandleIsSentOnceAndReferencedByIndex) {
  std::vector<NativeHandle> table;
  std::string out;
  Encoder e(&out, &table);
  EXPECT_TRUE(e.AddHandle(handles_[0].get()).ok());
  EXPECT_TRUE(e.AddHandle(handles_[1].get()).ok());
  EXPECT_TRUE(e.AddHandle(handles_[0].get()).ok());
  e.Write(handles_[1]);
  ASSERT_TRUE(e.status().ok());
  EXPECT_EQ(out, Str({0, 1, 0, 1}));
  EXPECT_EQ(table,
            (std::vector<NativeHandle>{handles_[0].get(), handles_[1].get()}));
}

TEST_F(CodecHandleTest, FirstTakerMovesLaterTakersDuplicate) {
  const NativeHandle raw0 = handles_[0].get();
  const NativeHandle raw1 = handles_[1].get();
  std::vector<NativeHandle> sent;
  // Two references to handle 0, one to handle 1.
  std::string bytes;
  {
    Encoder e(&bytes, &sent);
    e.Write(uint8_t{3});
    ASSERT_TRUE(e.AddHandle(raw0).ok());
    ASSERT_TRUE(e.AddHandle(raw1).ok());
    ASSERT_TRUE(e.AddHandle(raw0).ok());
  }
  std::vector<OwnedHandle> received;
  received.push_back(std::move(handles_[0]));
  received.push_back(std::move(handles_[1]));
  absl::StatusOr<std::vector<OwnedHandle>> v =
      Decode<std::vector<OwnedHandle>>(bytes, &received);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 3u);
  EXPECT_EQ((*v)[0].get(), raw0);
  EXPECT_EQ((*v)[1].get(), raw1);
  EXPECT_TRUE((*v)[2].valid());
  EXPECT_NE((*v)[2].get(), raw0);
  EXPECT_NE((*v)[2].get(), raw1);
  // Both were taken: the table holds moved-from entries only.
  EXPECT_FALSE(received[0].valid());
  EXPECT_FALSE(received[1].valid());
}

TEST_F(CodecHandleTest, UntakenHandlesStayInTheTable) {
  const NativeHandle raw1 = handles_[1].get();
  std::vector<OwnedHandle> received;
  received.push_back(std::move(handles_[0]));
  received.push_back(std::move(handles_[1]));
  absl::StatusOr<OwnedHandle> h = Decode<OwnedHandle>(Str({0}), &received);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(h->valid());
  EXPECT_FALSE(received[0].valid());
  EXPECT_EQ(received[1].get(), raw1);
}

TEST_F(CodecHandleTest, BadReferencesAreDecodeErrors) {
  std::vector<OwnedHandle> received;
  received.push_back(std::move(handles_[0]));
  EXPECT_TRUE((DecodeFails<OwnedHandle>(Str({0}), "none came with it")));
  EXPECT_TRUE(IsDecodeError(Decode<OwnedHandle>(Str({1}), &received).status()));
  EXPECT_THAT(
      std::string(Decode<OwnedHandle>(Str({1}), &received).status().message()),
      HasSubstr("handle index 1 out of range for 1 handles"));
  std::vector<OwnedHandle> holes(1);
  EXPECT_THAT(
      std::string(Decode<OwnedHandle>(Str({0}), &holes).status().message()),
      HasSubstr("not valid"));
  EXPECT_TRUE(received[0].valid());
}

TEST_F(CodecHandleTest, FailedEncodeLeavesTheTableAsItWas) {
  std::vector<NativeHandle> table{handles_[1].get()};
  std::string out = "x";
  std::pair<OwnedHandle, Unsendable> p;
  p.first = std::move(handles_[0]);
  absl::Status s = EncodeTo(p, &out, &table);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(out, "x");
  EXPECT_EQ(table, std::vector<NativeHandle>{handles_[1].get()});
}

// ---------------------------------------------------------------------------
// Corruption: the fuzzer's checks on mutated valid encodings.

class CodecCorruptionTest : public CodecHandleTest {};

TEST_F(CodecCorruptionTest, SeedsPassTheFuzzChecks) {
  std::vector<std::string> seeds = base_internal::FuzzSeeds(handles_);
  EXPECT_EQ(seeds.size(), 7u);
  for (const std::string& seed : seeds) {
    EXPECT_TRUE(base_internal::FuzzDecode(seed, handles_).ok());
  }
}

TEST_F(CodecCorruptionTest, EveryPrefixAndEveryByteFlip) {
  for (const std::string& seed : base_internal::FuzzSeeds(handles_)) {
    for (size_t n = 0; n < seed.size(); ++n) {
      absl::Status s = base_internal::FuzzDecode(seed.substr(0, n), handles_);
      ASSERT_TRUE(s.ok()) << s << " (prefix " << n << ")";
    }
    for (size_t i = 0; i < seed.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string m = seed;
        m[i] = static_cast<char>(m[i] ^ (1 << bit));
        absl::Status s = base_internal::FuzzDecode(m, handles_);
        ASSERT_TRUE(s.ok()) << s << " (byte " << i << " bit " << bit << ")";
      }
    }
  }
}

TEST_F(CodecCorruptionTest, RandomMutations) {
  std::vector<std::string> seeds = base_internal::FuzzSeeds(handles_);
  std::mt19937 rng(20240601);
  auto pick = [&rng](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  static const char kInteresting[] = {0, 1, 2, 0x7f, '\x80', '\xff'};
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string m = seeds[pick(seeds.size())];
    int edits = 1 + static_cast<int>(pick(4));
    for (int k = 0; k < edits; ++k) {
      size_t at = pick(m.size() + 1);
      switch (pick(6)) {
        case 0:  // set a byte to anything
          if (at < m.size()) m[at] = static_cast<char>(pick(256));
          break;
        case 1:  // set a byte to a boundary value
          if (at < m.size()) m[at] = kInteresting[pick(sizeof(kInteresting))];
          break;
        case 2:  // insert a byte
          m.insert(at, 1, static_cast<char>(pick(256)));
          break;
        case 3:  // delete a byte
          if (at < m.size()) m.erase(at, 1);
          break;
        case 4:  // repeat a chunk
          if (at < m.size()) m.insert(at, m.substr(at, 1 + pick(8)));
          break;
        case 5:  // truncate
          m.resize(at);
          break;
      }
    }
    absl::Status s = base_internal::FuzzDecode(m, handles_);
    ASSERT_TRUE(s.ok()) << s << " (iteration " << iteration << ")";
  }
}

}  // namespace
}  // namespace mp
