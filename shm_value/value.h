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
// Copies are handles to the same memory; pass them to child processes as
// Process arguments (fork copies them, spawn sends the segment's handle
// through the codec).
//
// Example (a counter two processes increment):
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
#include <cstring>
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/status.h"
#include "lock/lock.h"
#include "shm_value/internal/block.h"  // what the four types are made of

namespace mp {

template <typename T>
class Value : public shm_value_internal::TypedBlock<
                  Value<T>, T, shm_value_internal::Header::kValueMagic> {
  static_assert(std::is_trivially_copyable_v<T>,
                "mp::Value<T> needs a trivially copyable T");
  using Base =
      shm_value_internal::TypedBlock<Value<T>, T,
                                     shm_value_internal::Header::kValueMagic>;
  using Base::block_;
  using Base::ptr;

 public:
  using Base::valid;

  // No value; every call fails with kFailedPrecondition.
  Value() = default;

  // A value holding `initial`, with its own RLock.
  static absl::StatusOr<Value> Create(const T& initial = T{}) {
    return Base::Make(1, {&initial, 1}, shm_value_internal::Locking::kOwn,
                      AnyLock());
  }
  // A value holding `initial`, guarded by `lock` (a Lock or an RLock).
  static absl::StatusOr<Value> Create(const T& initial, AnyLock lock) {
    if (!lock.valid()) return EmptyObjectError("Value.Create (its lock)");
    return Base::Make(1, {&initial, 1}, shm_value_internal::Locking::kGiven,
                      std::move(lock));
  }

  // The value, read under the lock.
  //
  // Owner death: if the lock comes from a process that died holding it,
  // Get(), Set() and Update() still do their work, and leave the news
  // (mp::OwnerDiedError()) for the next explicit get_lock().Acquire(), whose
  // caller can check and repair the data.
  absl::StatusOr<T> Get() const {
    if (!valid()) return EmptyObjectError("Value.Get");
    T out;
    MP_RETURN_IF_ERROR(
        block_.WithLock([&] { std::memcpy(&out, ptr(), sizeof(T)); }));
    return out;
  }
  // Replaces the value, under the lock.
  absl::Status Set(const T& value) {
    if (!valid()) return EmptyObjectError("Value.Set");
    return block_.WithLock([&] { std::memcpy(ptr(), &value, sizeof(T)); });
  }
  // Runs `f(T&)` on the value under the lock; returns the new value. One
  // call for Python's `with v.get_lock(): v.value += 1`.
  template <typename F>
  absl::StatusOr<T> Update(F f) {
    if (!valid()) return EmptyObjectError("Value.Update");
    T out;
    MP_RETURN_IF_ERROR(block_.WithLock([&] {
      T v;
      std::memcpy(&v, ptr(), sizeof(T));
      f(v);
      std::memcpy(ptr(), &v, sizeof(T));
      out = v;
    }));
    return out;
  }

  // The lock (Python's get_lock()), for critical sections longer than one
  // Update(), and the raw value for use under it (get_obj()). An empty lock
  // and nullptr when empty.
  const AnyLock& get_lock() const { return block_.lock(); }
  T* get_obj() const { return ptr(); }
};

template <typename T>
class RawValue
    : public shm_value_internal::TypedBlock<
          RawValue<T>, T, shm_value_internal::Header::kRawValueMagic> {
  static_assert(std::is_trivially_copyable_v<T>,
                "mp::RawValue<T> needs a trivially copyable T");
  using Base = shm_value_internal::TypedBlock<
      RawValue<T>, T, shm_value_internal::Header::kRawValueMagic>;
  using Base::ptr;

 public:
  using Base::valid;

  RawValue() = default;

  // A value holding `initial`, without a lock.
  static absl::StatusOr<RawValue> Create(const T& initial = T{}) {
    return Base::Make(1, {&initial, 1}, shm_value_internal::Locking::kNone,
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
class Array : public shm_value_internal::TypedBlock<
                  Array<T>, T, shm_value_internal::Header::kArrayMagic> {
  static_assert(std::is_trivially_copyable_v<T>,
                "mp::Array<T> needs a trivially copyable T");
  using Base =
      shm_value_internal::TypedBlock<Array<T>, T,
                                     shm_value_internal::Header::kArrayMagic>;
  using Base::block_;
  using Base::ptr;

 public:
  using Base::valid;

  // No array; every call fails with kFailedPrecondition.
  Array() = default;

  // `length` zero-filled elements / a copy of `values`, with their own RLock
  // or guarded by `lock`.
  static absl::StatusOr<Array> Create(size_t length) {
    return Base::Make(length, {}, shm_value_internal::Locking::kOwn, AnyLock());
  }
  static absl::StatusOr<Array> Create(absl::Span<const T> values) {
    return Base::Make(values.size(), values, shm_value_internal::Locking::kOwn,
                      AnyLock());
  }
  static absl::StatusOr<Array> Create(std::initializer_list<T> values) {
    return Create(absl::Span<const T>(values.begin(), values.size()));
  }
  static absl::StatusOr<Array> Create(size_t length, AnyLock lock) {
    if (!lock.valid()) return EmptyObjectError("Array.Create (its lock)");
    return Base::Make(length, {}, shm_value_internal::Locking::kGiven,
                      std::move(lock));
  }
  static absl::StatusOr<Array> Create(absl::Span<const T> values,
                                      AnyLock lock) {
    if (!lock.valid()) return EmptyObjectError("Array.Create (its lock)");
    return Base::Make(values.size(), values,
                      shm_value_internal::Locking::kGiven, std::move(lock));
  }

  // Python's len(); 0 when empty.
  size_t size() const { return block_.length(); }

  // Element `i`, under the lock; kOutOfRange past the end.
  absl::StatusOr<T> Get(size_t i) const {
    if (!valid()) return EmptyObjectError("Array.Get");
    if (i >= size()) return shm_value_internal::OutOfRange(i, size());
    T out;
    MP_RETURN_IF_ERROR(
        block_.WithLock([&] { std::memcpy(&out, ptr() + i, sizeof(T)); }));
    return out;
  }
  absl::Status Set(size_t i, const T& value) {
    if (!valid()) return EmptyObjectError("Array.Set");
    if (i >= size()) return shm_value_internal::OutOfRange(i, size());
    return block_.WithLock([&] { std::memcpy(ptr() + i, &value, sizeof(T)); });
  }

  // Python's a[start:stop]: both clamped to the length, empty if
  // start >= stop.
  absl::StatusOr<std::vector<T>> GetSlice(size_t start, size_t stop) const {
    if (!valid()) return EmptyObjectError("Array.GetSlice");
    stop = stop < size() ? stop : size();
    start = start < stop ? start : stop;
    std::vector<T> out(stop - start);
    MP_RETURN_IF_ERROR(block_.WithLock([&] {
      if (!out.empty()) {
        std::memcpy(out.data(), ptr() + start, out.size() * sizeof(T));
      }
    }));
    return out;
  }
  // Python's a[start:start + len(values)] = values: the slice must lie
  // within the array (kOutOfRange otherwise; nothing is written).
  absl::Status SetSlice(size_t start, absl::Span<const T> values) {
    if (!valid()) return EmptyObjectError("Array.SetSlice");
    if (start > size() || values.size() > size() - start) {
      return shm_value_internal::OutOfRange(start + values.size(), size() + 1);
    }
    return block_.WithLock([&] {
      if (!values.empty()) {
        std::memcpy(ptr() + start, values.data(), values.size() * sizeof(T));
      }
    });
  }

  // Runs `f(absl::Span<T>)` on the whole array under the lock. Owner death
  // as for Value::Get(): the accessors do their work and leave the news for
  // the next get_lock().Acquire().
  template <typename F>
  absl::Status Update(F f) {
    if (!valid()) return EmptyObjectError("Array.Update");
    return block_.WithLock([&] { f(absl::Span<T>(ptr(), size())); });
  }

  // As Value's: an empty lock and an empty span when empty.
  const AnyLock& get_lock() const { return block_.lock(); }
  absl::Span<T> get_obj() const { return absl::Span<T>(ptr(), size()); }
};

template <typename T>
class RawArray
    : public shm_value_internal::TypedBlock<
          RawArray<T>, T, shm_value_internal::Header::kRawArrayMagic> {
  static_assert(std::is_trivially_copyable_v<T>,
                "mp::RawArray<T> needs a trivially copyable T");
  using Base = shm_value_internal::TypedBlock<
      RawArray<T>, T, shm_value_internal::Header::kRawArrayMagic>;
  using Base::block_;
  using Base::ptr;

 public:
  using Base::valid;

  RawArray() = default;

  static absl::StatusOr<RawArray> Create(size_t length) {
    return Base::Make(length, {}, shm_value_internal::Locking::kNone,
                      AnyLock());
  }
  static absl::StatusOr<RawArray> Create(absl::Span<const T> values) {
    return Base::Make(values.size(), values, shm_value_internal::Locking::kNone,
                      AnyLock());
  }
  static absl::StatusOr<RawArray> Create(std::initializer_list<T> values) {
    return Create(absl::Span<const T>(values.begin(), values.size()));
  }

  size_t size() const { return block_.length(); }
  // No lock. kOutOfRange past the end.
  absl::StatusOr<T> Get(size_t i) const {
    if (!valid()) return EmptyObjectError("RawArray.Get");
    if (i >= size()) return shm_value_internal::OutOfRange(i, size());
    T out;
    std::memcpy(&out, ptr() + i, sizeof(T));
    return out;
  }
  absl::Status Set(size_t i, const T& value) {
    if (!valid()) return EmptyObjectError("RawArray.Set");
    if (i >= size()) return shm_value_internal::OutOfRange(i, size());
    std::memcpy(ptr() + i, &value, sizeof(T));
    return absl::OkStatus();
  }
  absl::Span<T> get_obj() const { return absl::Span<T>(ptr(), size()); }
};

}  // namespace mp

#endif  // MP_SHM_VALUE_VALUE_H_
