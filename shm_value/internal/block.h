// What Value, RawValue, Array and RawArray (shm_value/value.h) are made of:
// a Block, one segment of shared memory holding a Header, the lock if the
// elements have their own, and the elements; TypedBlock gives it a type.
#ifndef MP_SHM_VALUE_INTERNAL_BLOCK_H_
#define MP_SHM_VALUE_INTERNAL_BLOCK_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/codec.h"
#include "base/status.h"
#include "lock/internal/lock_handle.h"
#include "lock/internal/shared_state.h"
#include "lock/lock.h"

namespace mp {
namespace shm_value_internal {

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
  Block(const Block&) = default;
  Block& operator=(const Block&) = default;
  // A moved-from Block is empty, as a default one: valid() false, data()
  // nullptr, length() 0.
  Block(Block&& other) noexcept
      : state_(std::move(other.state_)),
        lock_(std::move(other.lock_)),
        data_(std::exchange(other.data_, nullptr)),
        length_(std::exchange(other.length_, 0)) {}
  Block& operator=(Block&& other) noexcept {
    state_ = std::move(other.state_);
    lock_ = std::move(other.lock_);
    data_ = std::exchange(other.data_, nullptr);
    length_ = std::exchange(other.length_, 0);
    return *this;
  }

  static absl::StatusOr<Block> Create(uint32_t magic, size_t elem_size,
                                      size_t elem_align, size_t length,
                                      Locking locking, AnyLock given);

  bool valid() const { return state_.valid(); }
  void* data() const { return data_; }
  size_t length() const { return length_; }
  const AnyLock& lock() const { return lock_; }

  // Runs `f` holding the lock (if any); an owner-death news is kept for the
  // next explicit acquirer. Only on a valid Block: the callers check first,
  // to name themselves in the error. Inline: Update() is a hot path.
  template <typename F>
  absl::Status WithLock(F&& f) const {
    if (!lock_.valid()) {
      f();
      return absl::OkStatus();
    }
    const lock_internal::LockHandle& lock = lock_.handle();
    absl::Status s = lock.Acquire(absl::InfiniteDuration(), "Block.WithLock");
    if (ABSL_PREDICT_FALSE(!s.ok())) {
      if (!IsOwnerDied(s)) return s;
      f();
      // The dead owner's news stays for whoever takes the lock on purpose.
      return lock.ReleaseKeepingOwnerDied();
    }
    f();
    return lock.Release("Block.WithLock");
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
    MP_ASSIGN_OR_RETURN(
        Block b, Block::Create(kMagic, sizeof(T), alignof(T), length, locking,
                               std::move(lock)));
    if (!initial.empty()) {
      std::memcpy(b.data(), initial.data(), initial.size() * sizeof(T));
    }
    Derived out;
    static_cast<TypedBlock&>(out).block_ = std::move(b);
    return out;
  }

  T* ptr() const { return static_cast<T*>(block_.data()); }

  Block block_;
};

}  // namespace shm_value_internal
}  // namespace mp

#endif  // MP_SHM_VALUE_INTERNAL_BLOCK_H_
