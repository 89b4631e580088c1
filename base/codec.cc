#include "base/codec.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/handle.h"
#include "base/status.h"

namespace mp {

absl::Status Encoder::AddHandle(NativeHandle handle) {
  absl::Status s;
  if (handles_ == nullptr) {
    s = absl::FailedPreconditionError(
        "cannot send an OS handle over this channel");
  } else if (!IsValidHandle(handle)) {
    s = absl::InvalidArgumentError("cannot send an invalid OS handle");
  }
  if (!s.ok()) {
    Fail(s);
    return s;
  }
  // Tables are a handful of entries: a linear search is the fast way to
  // send a handle referenced twice only once.
  auto it = std::find(handles_->begin(), handles_->end(), handle);
  size_t index = static_cast<size_t>(it - handles_->begin());
  if (it == handles_->end()) handles_->push_back(handle);
  base_internal::Wire::PutVarint(*this, index);
  return absl::OkStatus();
}

void Encoder::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

absl::StatusOr<OwnedHandle> Decoder::TakeHandle() {
  uint64_t index;
  MP_RETURN_IF_ERROR(base_internal::Wire::GetVarint(*this, &index));
  if (handles_ == nullptr) {
    return DecodeError(
        "Decode: the message refers to an OS handle but none came with it");
  }
  if (index >= handles_->size()) {
    return DecodeError(absl::StrCat("Decode: handle index ", index,
                                    " out of range for ", handles_->size(),
                                    " handles"));
  }
  if (taken_.size() < handles_->size()) {
    taken_.resize(handles_->size(), kInvalidHandle);
  }
  NativeHandle& taken = taken_[index];
  if (taken == kInvalidHandle) {
    OwnedHandle& entry = (*handles_)[index];
    if (!entry.valid()) {
      return DecodeError(absl::StrCat("Decode: handle ", index,
                                      " of the message is not valid"));
    }
    taken = entry.get();
    return std::move(entry);
  }
  // The first taker owns `taken`; borrow it just long enough to copy it.
  OwnedHandle borrowed(taken);
  absl::StatusOr<OwnedHandle> copy = borrowed.Duplicate();
  borrowed.release();
  return copy;
}

namespace base_internal {

absl::Status TruncatedError(size_t needed, size_t remaining) {
  return DecodeError(absl::StrCat("Decode: truncated input: needed ", needed,
                                  " bytes, ", remaining, " left"));
}

absl::Status CountError(uint64_t count, size_t min_element_size,
                        size_t remaining) {
  return DecodeError(
      absl::StrCat("Decode: count ", count, " of elements of at least ",
                   std::max<size_t>(min_element_size, 1), " bytes exceeds the ",
                   remaining, " bytes left"));
}

absl::Status MemoryLimitError(uint64_t count, size_t element_memory,
                              size_t budget) {
  return DecodeError(absl::StrCat("Decode: count ", count, " of elements of ",
                                  element_memory,
                                  " bytes in memory exceeds the ", budget,
                                  " bytes this input may still decode into"));
}

absl::Status BadVarintError() {
  return DecodeError("Decode: malformed varint");
}

absl::Status BadByteError(const char* what, unsigned char byte) {
  return DecodeError(absl::StrFormat("Decode: invalid %s byte 0x%02x", what,
                                     static_cast<unsigned>(byte)));
}

absl::Status VariantIndexError(uint64_t index, size_t alternatives) {
  return DecodeError(absl::StrCat("Decode: variant index ", index,
                                  " out of range for ", alternatives,
                                  " alternatives"));
}

absl::Status KeyOrderError() {
  return DecodeError("Decode: keys of an ordered container out of order");
}

absl::Status DuplicateKeyError() {
  return DecodeError("Decode: duplicate key");
}

absl::Status EmptyElementDecodeError() {
  return DecodeError("Decode: container element encoded in zero bytes");
}

absl::Status EmptyElementEncodeError() {
  return absl::InvalidArgumentError(
      "Encode: a container element encodes to zero bytes (each must take at "
      "least one)");
}

absl::Status DepthDecodeError() {
  return DecodeError(absl::StrCat("Decode: objects nested deeper than ",
                                  kMaxCodecDepth, " levels"));
}

absl::Status DepthEncodeError() {
  return absl::InvalidArgumentError(absl::StrCat(
      "Encode: objects nested deeper than ", kMaxCodecDepth, " levels"));
}

absl::Status ValuelessVariantError() {
  return absl::InvalidArgumentError(
      "Encode: cannot encode a valueless std::variant");
}

absl::Status BadDurationError() {
  return DecodeError("Decode: malformed absl::Duration");
}

absl::Status TrailingBytesError(size_t remaining) {
  return DecodeError(
      absl::StrCat("Decode: ", remaining, " bytes left over after the value"));
}

absl::Status OutOfMemoryError() {
  return absl::ResourceExhaustedError(
      "Decode: out of memory for the decoded value");
}

absl::Status SlowGetVarint(const char** pos, const char* end, uint64_t* value) {
  const char* p = *pos;
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return TruncatedError(1, 0);
    uint64_t byte = static_cast<unsigned char>(*p++);
    // The tenth byte holds bit 63 only.
    if (shift == 63 && byte > 1) return BadVarintError();
    v |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      // Shortest form only, so each value has one encoding.
      if (byte == 0 && shift != 0) return BadVarintError();
      *pos = p;
      *value = v;
      return absl::OkStatus();
    }
  }
  return BadVarintError();
}

}  // namespace base_internal
}  // namespace mp
