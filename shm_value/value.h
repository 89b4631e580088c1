// Value and Array: Python's multiprocessing.Value / Array and RawValue /
// RawArray (multiprocessing.sharedctypes), a T or an array of T in shared
// memory.
//
// T is any trivially copyable type: the Python typecodes 'i' (int), 'd'
// (double), 'h' (short), 'q' (long long), 'c' (char) and plain structs.
// Value and Array come with a lock by default (their own RLock, as in
// Python, kept in their own segment) or use one you give them (a Lock or an
// RLock); Get/Set/Update take it for you. RawValue and RawArray have none.
//
// Update(f) runs f on the value (or the whole array) under the lock: one
// call for Python's `with v.get_lock(): v.value += 1`. get_lock() returns
// the lock for longer critical sections, get_obj() the raw memory for use
// under it.
//
// Owner death: if the lock comes from a process that died holding it, the
// accessors here still do their work, and leave the news
// (mp::OwnerDiedError()) for the next explicit get_lock().Acquire(), whose
// caller can check and repair the data.
//
// Copies are handles to the same memory; pass them to child processes as
// Process arguments (fork copies them, spawn sends the segment's handle
// through the codec).
//
// Example (the seeds' counter):
//
//   absl::StatusOr<mp::Value<int>> v = mp::Value<int>::Create(0);
//   // in each of two processes:
//   for (int i = 0; i < 5; ++i) {
//     v->Update([](int& x) { x += 1; }).IgnoreError();
//   }
//   // parent, after joining them:
//   int total = *v->Get();   // 10
//
//   absl::StatusOr<mp::Array<double>> a =
//       mp::Array<double>::Create({1.0, 2.0, 3.0});
//   a->Set(0, 4.5).IgnoreError();
//   absl::StatusOr<std::vector<double>> all = a->GetSlice(0, a->size());

#ifndef MP_SHM_VALUE_VALUE_H_
#define MP_SHM_VALUE_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/codec.h"
#include "base/status.h"
#include "lock/internal/shared_state.h"
#include "lock/lock.h"

namespace mp {
namespace value_internal {

// The start of every Value/Array segment; the data follows at data_offset.
struct alignas(64) Header {
  static constexpr uint32_t kValueMagic = 0x554c4156;     // "VALU"
  static constexpr uint32_t kArrayMagic = 0x59525241;     // "ARRY"
  static constexpr uint32_t kRawValueMagic = 0x4c415652;  // "RVAL"
  static constexpr uint32_t kRawArrayMagic = 0x52524152;  // "RARR"

  uint32_t magic = 0;
  uint32_t elem_size = 0;
  uint64_t length = 0;
  uint64_t data_offset = 0;
  uint32_t own_lock = 0;  // 1: `lock` is the elements' own RLock
  // Its own cache line, where the data starts too, right after it (in this
  // struct's tail padding, which nothing here writes), rounded up to the
  // elements' alignment: a Value<int> changing hands between two CPUs
  // under its lock moves one line.
  alignas(64) lock_internal::LockState lock;

  absl::Status AttachInThisProcess() { return lock.AttachInThisProcess(); }
  bool PinnedInThisProcess() const { return lock.PinnedInThisProcess(); }
  void ForgetInThisProcess() { lock.ForgetInThisProcess(); }
};

// How a Value or Array is locked.
enum class Locking { kOwn, kGiven, kNone };

// The untyped part: a segment holding `length` elements of `elem_size`
// bytes aligned to `elem_align`, and its lock.
class Block {
 public:
  Block() = default;

  static absl::StatusOr<Block> Create(uint32_t magic, size_t elem_size,
                                      size_t elem_align, size_t length,
                                      Locking locking, AnyLock given);

  bool valid() const { return state_.valid(); }
  void* data() const { return data_; }
  size_t length() const { return length_; }
  const AnyLock& lock() const { return lock_; }

  // Runs `f` holding the lock (if any); an owner-death news is kept for the
  // next explicit acquirer. Inline: Update() is a hot path.
  template <typename F>
  absl::Status WithLock(F&& f) const {
    if (!state_.valid()) return EmptyObjectError("Value");
    if (!lock_.valid()) {
      f();
      return absl::OkStatus();
    }
    const lock_internal::LockHandle& lock = lock_.handle();
    absl::Status s = lock.Acquire(absl::InfiniteDuration());
    if (ABSL_PREDICT_FALSE(!s.ok())) {
      if (!IsOwnerDied(s)) return s;
      f();
      // The dead owner's news stays for whoever takes the lock on purpose.
      return lock.ReleaseKeepingOwnerDied();
    }
    f();
    return lock.Release();
  }

  void Encode(Encoder& e, absl::string_view what) const;
  // Checks the segment holds the kind `magic` of elements of that size.
  static absl::Status Decode(Decoder& d, absl::string_view what, uint32_t magic,
                             size_t elem_size, size_t elem_align, Block* out);

 private:
  lock_internal::SharedState<Header> state_;
  AnyLock lock_;
  void* data_ = nullptr;  // where the elements start
  size_t length_ = 0;
};

absl::Status OutOfRange(size_t index, size_t length);

// The name a kind of segment (`magic`) goes by in errors.
constexpr absl::string_view KindName(uint32_t magic) {
  switch (magic) {
    case Header::kValueMagic:
      return "Value";
    case Header::kRawValueMagic:
      return "RawValue";
    case Header::kArrayMagic:
      return "Array";
    default:
      return "RawArray";
  }
}

// What Value, RawValue, Array and RawArray (`Derived`) share: a Block of T
// of one kind (`kMagic`), made with a copy of some initial elements, and
// passed to other processes as a Process argument.
template <typename Derived, typename T, uint32_t kMagic>
class TypedBlock {
 public:
  bool valid() const { return block_.valid(); }

  friend void MpEncode(Encoder& e, const Derived& v) {
    static_cast<const TypedBlock&>(v).block_.Encode(e, KindName(kMagic));
  }
  friend absl::Status MpDecode(Decoder& d, Derived& v) {
    return Block::Decode(d, KindName(kMagic), kMagic, sizeof(T), alignof(T),
                         &static_cast<TypedBlock&>(v).block_);
  }

 protected:
  // `length` elements: a copy of `initial`, zeros after it.
  static absl::StatusOr<Derived> Make(size_t length,
                                      absl::Span<const T> initial,
                                      Locking locking, AnyLock lock) {
    absl::StatusOr<Block> b = Block::Create(kMagic, sizeof(T), alignof(T),
                                            length, locking, std::move(lock));
    if (!b.ok()) return b.status();
    if (!initial.empty()) {
      std::memcpy(b->data(), initial.data(), initial.size() * sizeof(T));
    }
    Derived out;
    static_cast<TypedBlock&>(out).block_ = *std::move(b);
    return out;
  }

  T* ptr() const { return static_cast<T*>(block_.data()); }

  Block block_;
};

}  // namespace value_internal

template <typename T>
class Value
    : public value_internal::TypedBlock<Value<T>, T,
                                        value_internal::Header::kValueMagic> {
  static_assert(std::is_trivially_copyable_v<T>,
                "mp::Value<T> needs a trivially copyable T");
  using Base = value_internal::TypedBlock<Value<T>, T,
                                          value_internal::Header::kValueMagic>;
  using Base::block_;
  using Base::ptr;

 public:
  // No value; every call fails with kFailedPrecondition.
  Value() = default;

  // A value holding `initial`, with its own RLock.
  static absl::StatusOr<Value> Create(const T& initial = T{}) {
    return Base::Make(1, {&initial, 1}, value_internal::Locking::kOwn,
                      AnyLock());
  }
  // A value holding `initial`, guarded by `lock` (a Lock or an RLock).
  static absl::StatusOr<Value> Create(const T& initial, AnyLock lock) {
    if (!lock.valid()) return EmptyObjectError("Value.Create (its lock)");
    return Base::Make(1, {&initial, 1}, value_internal::Locking::kGiven,
                      std::move(lock));
  }

  // The value, read under the lock.
  absl::StatusOr<T> Get() const {
    T out;
    absl::Status s =
        block_.WithLock([&] { std::memcpy(&out, ptr(), sizeof(T)); });
    if (!s.ok()) return s;
    return out;
  }
  // Replaces the value, under the lock.
  absl::Status Set(const T& value) {
    return block_.WithLock([&] { std::memcpy(ptr(), &value, sizeof(T)); });
  }
  // Runs `f(T&)` on the value under the lock; returns the new value.
  template <typename F>
  absl::StatusOr<T> Update(F f) {
    T out;
    absl::Status s = block_.WithLock([&] {
      T v;
      std::memcpy(&v, ptr(), sizeof(T));
      f(v);
      std::memcpy(ptr(), &v, sizeof(T));
      out = v;
    });
    if (!s.ok()) return s;
    return out;
  }

  // The lock (Python's get_lock()), and the raw value for use under it
  // (get_obj()).
  const AnyLock& get_lock() const { return block_.lock(); }
  T* get_obj() const { return ptr(); }
};

template <typename T>
class RawValue : public value_internal::TypedBlock<
                     RawValue<T>, T, value_internal::Header::kRawValueMagic> {
  static_assert(std::is_trivially_copyable_v<T>,
                "mp::RawValue<T> needs a trivially copyable T");
  using Base =
      value_internal::TypedBlock<RawValue<T>, T,
                                 value_internal::Header::kRawValueMagic>;
  using Base::ptr;

 public:
  using Base::valid;

  RawValue() = default;

  // A value holding `initial`, without a lock.
  static absl::StatusOr<RawValue> Create(const T& initial = T{}) {
    return Base::Make(1, {&initial, 1}, value_internal::Locking::kNone,
                      AnyLock());
  }

  // No lock: a concurrent writer can tear a T wider than one atomic store.
  // An empty RawValue fails (mp::EmptyObjectError) and writes nothing.
  absl::StatusOr<T> Get() const {
    if (!valid()) return EmptyObjectError("RawValue.Get");
    T out;
    std::memcpy(&out, ptr(), sizeof(T));
    return out;
  }
  absl::Status Set(const T& value) {
    if (!valid()) return EmptyObjectError("RawValue.Set");
    std::memcpy(ptr(), &value, sizeof(T));
    return absl::OkStatus();
  }
  T* get_obj() const { return ptr(); }
};

template <typename T>
class Array
    : public value_internal::TypedBlock<Array<T>, T,
                                        value_internal::Header::kArrayMagic> {
  static_assert(std::is_trivially_copyable_v<T>,
                "mp::Array<T> needs a trivially copyable T");
  using Base = value_internal::TypedBlock<Array<T>, T,
                                          value_internal::Header::kArrayMagic>;
  using Base::block_;
  using Base::ptr;

 public:
  using Base::valid;

  // No array; every call fails with kFailedPrecondition.
  Array() = default;

  // `length` zero-filled elements / a copy of `values`, with their own RLock
  // or guarded by `lock`.
  static absl::StatusOr<Array> Create(size_t length) {
    return Base::Make(length, {}, value_internal::Locking::kOwn, AnyLock());
  }
  static absl::StatusOr<Array> Create(absl::Span<const T> values) {
    return Base::Make(values.size(), values, value_internal::Locking::kOwn,
                      AnyLock());
  }
  static absl::StatusOr<Array> Create(std::initializer_list<T> values) {
    return Create(absl::Span<const T>(values.begin(), values.size()));
  }
  static absl::StatusOr<Array> Create(size_t length, AnyLock lock) {
    if (!lock.valid()) return EmptyObjectError("Array.Create (its lock)");
    return Base::Make(length, {}, value_internal::Locking::kGiven,
                      std::move(lock));
  }
  static absl::StatusOr<Array> Create(absl::Span<const T> values,
                                      AnyLock lock) {
    if (!lock.valid()) return EmptyObjectError("Array.Create (its lock)");
    return Base::Make(values.size(), values, value_internal::Locking::kGiven,
                      std::move(lock));
  }

  // Python's len().
  size_t size() const { return block_.length(); }

  // Element `i`, under the lock; kOutOfRange past the end.
  absl::StatusOr<T> Get(size_t i) const {
    if (!valid()) return EmptyObjectError("Array.Get");
    if (i >= size()) return value_internal::OutOfRange(i, size());
    T out;
    absl::Status s =
        block_.WithLock([&] { std::memcpy(&out, ptr() + i, sizeof(T)); });
    if (!s.ok()) return s;
    return out;
  }
  absl::Status Set(size_t i, const T& value) {
    if (!valid()) return EmptyObjectError("Array.Set");
    if (i >= size()) return value_internal::OutOfRange(i, size());
    return block_.WithLock([&] { std::memcpy(ptr() + i, &value, sizeof(T)); });
  }

  // Python's a[start:stop]: both clamped to the length, empty if
  // start >= stop.
  absl::StatusOr<std::vector<T>> GetSlice(size_t start, size_t stop) const {
    if (!valid()) return EmptyObjectError("Array.GetSlice");
    stop = stop < size() ? stop : size();
    start = start < stop ? start : stop;
    std::vector<T> out(stop - start);
    absl::Status s = block_.WithLock([&] {
      if (!out.empty())
        std::memcpy(out.data(), ptr() + start, out.size() * sizeof(T));
    });
    if (!s.ok()) return s;
    return out;
  }
  // Python's a[start:start + len(values)] = values: the slice must lie
  // within the array (kOutOfRange otherwise; nothing is written).
  absl::Status SetSlice(size_t start, absl::Span<const T> values) {
    if (!valid()) return EmptyObjectError("Array.SetSlice");
    if (start > size() || values.size() > size() - start) {
      return value_internal::OutOfRange(start + values.size(), size() + 1);
    }
    return block_.WithLock([&] {
      if (!values.empty()) {
        std::memcpy(ptr() + start, values.data(), values.size() * sizeof(T));
      }
    });
  }

  // Runs `f(absl::Span<T>)` on the whole array under the lock.
  template <typename F>
  absl::Status Update(F f) {
    if (!valid()) return EmptyObjectError("Array.Update");
    return block_.WithLock([&] { f(absl::Span<T>(ptr(), size())); });
  }

  const AnyLock& get_lock() const { return block_.lock(); }
  absl::Span<T> get_obj() const { return absl::Span<T>(ptr(), size()); }
};

template <typename T>
class RawArray : public value_internal::TypedBlock<
                     RawArray<T>, T, value_internal::Header::kRawArrayMagic> {
  static_assert(std::is_trivially_copyable_v<T>,
                "mp::RawArray<T> needs a trivially copyable T");
  using Base =
      value_internal::TypedBlock<RawArray<T>, T,
                                 value_internal::Header::kRawArrayMagic>;
  using Base::block_;
  using Base::ptr;

 public:
  using Base::valid;

  RawArray() = default;

  static absl::StatusOr<RawArray> Create(size_t length) {
    return Base::Make(length, {}, value_internal::Locking::kNone, AnyLock());
  }
  static absl::StatusOr<RawArray> Create(absl::Span<const T> values) {
    return Base::Make(values.size(), values, value_internal::Locking::kNone,
                      AnyLock());
  }
  static absl::StatusOr<RawArray> Create(std::initializer_list<T> values) {
    return Create(absl::Span<const T>(values.begin(), values.size()));
  }

  size_t size() const { return block_.length(); }
  // No lock. kOutOfRange past the end.
  absl::StatusOr<T> Get(size_t i) const {
    if (!valid()) return EmptyObjectError("RawArray.Get");
    if (i >= size()) return value_internal::OutOfRange(i, size());
    T out;
    std::memcpy(&out, ptr() + i, sizeof(T));
    return out;
  }
  absl::Status Set(size_t i, const T& value) {
    if (!valid()) return EmptyObjectError("RawArray.Set");
    if (i >= size()) return value_internal::OutOfRange(i, size());
    std::memcpy(ptr() + i, &value, sizeof(T));
    return absl::OkStatus();
  }
  absl::Span<T> get_obj() const { return absl::Span<T>(ptr(), size()); }
};

}  // namespace mp

#endif  // MP_SHM_VALUE_VALUE_H_
