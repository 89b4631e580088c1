#include "shm_value/internal/block.h"

#include <cstddef>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/codec.h"
#include "base/status.h"
#include "lock/internal/lock_handle.h"
#include "lock/internal/shared_state.h"
#include "lock/lock.h"

namespace mp {
namespace shm_value_internal {
namespace {

using lock_internal::LockHandle;
using lock_internal::LockState;
using lock_internal::SharedState;

// The first byte after the lock, in the lock's cache line.
constexpr size_t kDataStart = offsetof(Header, lock) + sizeof(LockState);

size_t DataOffset(size_t elem_align) {
  return (kDataStart + elem_align - 1) / elem_align * elem_align;
}

absl::StatusOr<AnyLock> OwnLock(const SharedState<Header>& state) {
  MP_ASSIGN_OR_RETURN(
      SharedState<LockState> lock,
      SharedState<LockState>::View(state.segment(),
                                   state.offset() + offsetof(Header, lock)));
  return AnyLock::FromHandle(LockHandle(std::move(lock)));
}

}  // namespace

absl::Status OutOfRange(size_t index, size_t length) {
  return absl::OutOfRangeError(absl::StrCat("array index out of range (", index,
                                            " with length ", length, ")"));
}

absl::StatusOr<Block> Block::Create(uint32_t magic, size_t elem_size,
                                    size_t elem_align, size_t length,
                                    Locking locking, AnyLock given) {
  const size_t offset = DataOffset(elem_align);
  if (length > (std::numeric_limits<size_t>::max() - offset) / elem_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("Array: ", length, " elements do not fit in memory"));
  }
  MP_ASSIGN_OR_RETURN(
      SharedState<Header> state,
      SharedState<Header>::Create(magic, offset + elem_size * length));
  Header* h = state.get();
  h->elem_size = static_cast<uint32_t>(elem_size);
  h->length = length;
  h->data_offset = offset;
  Block b;
  switch (locking) {
    case Locking::kOwn: {
      h->own_lock = 1;
      h->lock.magic = LockState::kRLockMagic;
      MP_ASSIGN_OR_RETURN(b.lock_, OwnLock(state));
      break;
    }
    case Locking::kGiven:
      b.lock_ = std::move(given);
      break;
    case Locking::kNone:
      break;
  }
  b.data_ = reinterpret_cast<char*>(h) + offset;
  b.length_ = length;
  b.state_ = std::move(state);
  return b;
}

void Block::Encode(Encoder& e, absl::string_view what) const {
  state_.Encode(e, what);
  if (!state_.valid()) return;
  if (state_->own_lock != 0) {
    e.Write(static_cast<uint8_t>(Locking::kOwn));
  } else if (lock_.valid()) {
    e.Write(static_cast<uint8_t>(Locking::kGiven), lock_);
  } else {
    e.Write(static_cast<uint8_t>(Locking::kNone));
  }
}

absl::Status Block::Decode(Decoder& d, absl::string_view what, uint32_t magic,
                           size_t elem_size, size_t elem_align, Block* out) {
  SharedState<Header> state;
  MP_RETURN_IF_ERROR(SharedState<Header>::Decode(d, what, {magic}, &state));
  const Header* h = state.get();
  const size_t available = state.segment().size() - state.offset();
  if (h->elem_size != elem_size) {
    return DecodeError(absl::StrCat(what, ": elements of ", h->elem_size,
                                    " bytes, not ", elem_size));
  }
  if (h->data_offset < kDataStart || h->data_offset % elem_align != 0 ||
      h->data_offset > available ||
      h->length > (available - h->data_offset) / elem_size) {
    return DecodeError(absl::StrCat(what, ": bad layout"));
  }
  uint8_t locking = 0;
  MP_RETURN_IF_ERROR(d.Read(locking));
  const bool raw =
      magic == Header::kRawValueMagic || magic == Header::kRawArrayMagic;
  Block b;
  switch (static_cast<Locking>(locking)) {
    case Locking::kOwn: {
      if (raw || h->own_lock != 1 || h->lock.magic != LockState::kRLockMagic) {
        return DecodeError(absl::StrCat(what, ": bad lock"));
      }
      MP_ASSIGN_OR_RETURN(b.lock_, OwnLock(state));
      break;
    }
    case Locking::kGiven:
      if (raw) return DecodeError(absl::StrCat(what, ": bad lock"));
      MP_RETURN_IF_ERROR(d.Read(b.lock_));
      break;
    case Locking::kNone:
      if (!raw) return DecodeError(absl::StrCat(what, ": bad lock"));
      break;
    default:
      return DecodeError(absl::StrCat(what, ": bad lock kind"));
  }
  b.data_ = reinterpret_cast<char*>(state.get()) + h->data_offset;
  b.length_ = static_cast<size_t>(h->length);
  b.state_ = std::move(state);
  *out = std::move(b);
  return absl::OkStatus();
}

}  // namespace shm_value_internal
}  // namespace mp
