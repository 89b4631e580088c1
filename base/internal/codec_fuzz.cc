#include "base/internal/codec_fuzz.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/handle.h"
#include "base/status.h"

namespace mp {
namespace base_internal {
namespace {

// A user type that recurses, so the nesting limit is exercised.
struct Tree {
  int32_t value = 0;
  std::vector<Tree> children;
  std::optional<std::string> label;

  friend void MpEncode(Encoder& e, const Tree& t) {
    e.Write(t.value, t.children, t.label);
  }
  friend absl::Status MpDecode(Decoder& d, Tree& t) {
    return d.Read(t.value, t.children, t.label);
  }
};

// Copied bitwise.
struct Pixel {
  uint8_t r, g, b, a;
};

using Flat = std::tuple<
    int32_t, bool, std::string, std::vector<uint16_t>, std::optional<double>,
    std::variant<std::monostate, int64_t, std::string, std::vector<bool>>>;
using Nested =
    std::map<std::string, std::vector<std::pair<int8_t, std::optional<bool>>>>;
using Mixed =
    std::tuple<std::set<int64_t>,
               std::array<std::variant<uint8_t, float, std::u16string>, 3>,
               absl::Duration, std::vector<Pixel>, Tree>;
using Unordered = std::tuple<std::unordered_map<int32_t, std::string>,
                             absl::flat_hash_set<uint64_t>,
                             std::vector<std::unordered_set<std::string>>>;
using Handles =
    std::tuple<std::vector<OwnedHandle>, std::optional<OwnedHandle>, uint8_t>;

absl::Status Violation(absl::string_view type, absl::string_view what) {
  return absl::InternalError(absl::StrCat("codec fuzz: ", type, ": ", what));
}

// Decoding fails only with a DecodeError.
absl::Status CheckFailure(absl::string_view type, const absl::Status& s) {
  if (IsDecodeError(s)) return absl::OkStatus();
  return Violation(type, absl::StrCat("decode failed with ", s.ToString()));
}

template <typename T>
absl::Status CheckCanonical(absl::string_view type, absl::string_view data) {
  absl::StatusOr<T> value = Decode<T>(data);
  if (!value.ok()) return CheckFailure(type, value.status());
  absl::StatusOr<std::string> again = Encode(*value);
  if (!again.ok()) {
    return Violation(type, absl::StrCat("decoded value does not encode: ",
                                        again.status().ToString()));
  }
  if (*again != data) return Violation(type, "re-encoding differs");
  return absl::OkStatus();
}

template <typename T>
absl::Status CheckEqual(absl::string_view type, absl::string_view data) {
  absl::StatusOr<T> value = Decode<T>(data);
  if (!value.ok()) return CheckFailure(type, value.status());
  absl::StatusOr<std::string> again = Encode(*value);
  if (!again.ok()) {
    return Violation(type, absl::StrCat("decoded value does not encode: ",
                                        again.status().ToString()));
  }
  absl::StatusOr<T> value2 = Decode<T>(*again);
  if (!value2.ok()) return Violation(type, "re-encoding does not decode");
  if (!(*value2 == *value)) return Violation(type, "round trip differs");
  return absl::OkStatus();
}

absl::Status CheckHandles(absl::string_view data,
                          absl::Span<const OwnedHandle> handles) {
  // Without a table, any reference to a handle is a DecodeError.
  absl::StatusOr<Handles> bare = Decode<Handles>(data);
  if (!bare.ok()) {
    MP_RETURN_IF_ERROR(CheckFailure("handles without a table", bare.status()));
  }
  // Each reference to an index past the first duplicates a handle; keep the
  // count of descriptors a message can make far from any process limit.
  if (data.size() > 256) return absl::OkStatus();
  std::vector<OwnedHandle> table;
  for (const OwnedHandle& h : handles) {
    absl::StatusOr<OwnedHandle> dup = h.Duplicate();
    if (!dup.ok()) return dup.status();
    table.push_back(*std::move(dup));
  }
  absl::StatusOr<Handles> value = Decode<Handles>(data, &table);
  if (!value.ok()) return CheckFailure("handles", value.status());
  std::vector<NativeHandle> seen;
  for (const OwnedHandle& t : table) {
    if (t.valid()) seen.push_back(t.get());
  }
  auto check = [&seen](const OwnedHandle& h) {
    if (!h.valid()) return Violation("handles", "decoded an invalid handle");
    for (NativeHandle s : seen) {
      if (s == h.get()) return Violation("handles", "two owners of a handle");
    }
    seen.push_back(h.get());
    return absl::OkStatus();
  };
  for (const OwnedHandle& h : std::get<0>(*value)) {
    MP_RETURN_IF_ERROR(check(h));
  }
  if (std::get<1>(*value).has_value()) {
    MP_RETURN_IF_ERROR(check(*std::get<1>(*value)));
  }
  std::vector<NativeHandle> out_table;
  absl::StatusOr<std::string> again = Encode(*value, &out_table);
  if (!again.ok()) return Violation("handles", "decoded value does not encode");
  return absl::OkStatus();
}

}  // namespace

absl::Status FuzzDecode(absl::string_view data,
                        absl::Span<const OwnedHandle> handles) {
  for (absl::Status s : {
           CheckCanonical<Flat>("Flat", data),
           CheckCanonical<Nested>("Nested", data),
           CheckCanonical<Mixed>("Mixed", data),
           CheckCanonical<Tree>("Tree", data),
           CheckEqual<Unordered>("Unordered", data),
           CheckHandles(data, handles),
       }) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::vector<std::string> FuzzSeeds(absl::Span<const OwnedHandle> handles) {
  std::vector<std::string> seeds;
  auto add = [&seeds](const auto& value) {
    std::vector<NativeHandle> table;
    absl::StatusOr<std::string> bytes = Encode(value, &table);
    if (bytes.ok()) seeds.push_back(*std::move(bytes));
  };
  add(Flat{-7, true, "hello", {1, 2, 65535}, 2.5, std::string("alt")});
  add(Flat{0, false, "", {}, std::nullopt, std::vector<bool>{true, false}});
  add(Nested{
      {"a", {{1, true}, {-2, std::nullopt}}}, {"bb", {}}, {"c", {{3, false}}}});
  Tree tree{1,
            {Tree{2, {}, "leaf"}, Tree{3, {Tree{4, {}, std::nullopt}}, "x"}},
            "root"};
  add(Mixed{{-5, 0, 1LL << 40},
            {uint8_t{7}, 1.5f, std::u16string(u"w")},
            absl::Milliseconds(-1500),
            {Pixel{1, 2, 3, 4}, Pixel{255, 0, 0, 255}},
            tree});
  add(tree);
  add(Unordered{{{1, "one"}, {-2, "minus two"}}, {7, 8, 9}, {{"p", "q"}, {}}});
  if (handles.size() >= 2) {
    // One handle referenced twice (the decoder's first taker moves it, the
    // second gets a duplicate): two owners of one descriptor, for as long as
    // it takes to encode them.
    Handles h;
    std::get<0>(h).emplace_back(handles[0].get());
    std::get<0>(h).emplace_back(handles[1].get());
    std::get<0>(h).emplace_back(handles[0].get());
    std::get<1>(h).emplace(handles[1].get());
    std::get<2>(h) = 9;
    add(h);
    for (OwnedHandle& x : std::get<0>(h)) x.release();
    std::get<1>(h)->release();
  }
  return seeds;
}

}  // namespace base_internal
}  // namespace mp
