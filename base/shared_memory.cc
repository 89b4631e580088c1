#include "base/shared_memory.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/codec.h"
#include "base/internal/shared_memory_impl.h"
#include "base/status.h"

namespace mp {
namespace {

constexpr size_t kMaxNameLength = 200;

absl::Status CheckSize(size_t size) {
  if (size == 0) {
    return absl::InvalidArgumentError(
        "SharedMemory: 'size' must be a positive number different from zero");
  }
  return absl::OkStatus();
}

absl::Status CheckName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "SharedMemory: a name has 1 to %d characters", kMaxNameLength));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("SharedMemory: invalid name '", name,
                       "' (letters, digits, '_', '-' and '.' only)"));
    }
  }
  if (name == "." || name == "..") {
    return absl::InvalidArgumentError("SharedMemory: invalid name");
  }
  return absl::OkStatus();
}

const std::string& EmptyName() {
  static const std::string* empty = new std::string;
  return *empty;
}

}  // namespace

absl::StatusOr<SharedMemory> SharedMemory::Create(size_t size) {
  MP_RETURN_IF_ERROR(CheckSize(size));
  absl::StatusOr<base_internal::ImplPtr> impl =
      base_internal::CreateAnonymous(size);
  if (!impl.ok()) return impl.status();
  return SharedMemory(*std::move(impl));
}

absl::StatusOr<SharedMemory> SharedMemory::CreateNamed(size_t size,
                                                       absl::string_view name) {
  MP_RETURN_IF_ERROR(CheckSize(size));
  std::string chosen(name);
  if (chosen.empty()) {
    absl::StatusOr<uint64_t> id = base_internal::RandomId();
    if (!id.ok()) return id.status();
    chosen = absl::StrFormat("mp_%016x", *id);
  }
  MP_RETURN_IF_ERROR(CheckName(chosen));
  absl::StatusOr<base_internal::ImplPtr> impl =
      base_internal::CreateNamed(size, chosen);
  if (!impl.ok()) return impl.status();
  return SharedMemory(*std::move(impl));
}

absl::StatusOr<SharedMemory> SharedMemory::Attach(absl::string_view name) {
  MP_RETURN_IF_ERROR(CheckName(name));
  absl::StatusOr<base_internal::ImplPtr> impl =
      base_internal::AttachNamed(std::string(name));
  if (!impl.ok()) return impl.status();
  return SharedMemory(*std::move(impl));
}

absl::StatusOr<SharedMemory> SharedMemory::FromHandle(OwnedHandle handle,
                                                      size_t size) {
  MP_RETURN_IF_ERROR(CheckSize(size));
  if (!handle.valid()) {
    return absl::InvalidArgumentError("SharedMemory: invalid handle");
  }
  absl::StatusOr<base_internal::ImplPtr> impl =
      base_internal::MapHandle(std::move(handle), size, "");
  if (!impl.ok()) return impl.status();
  return SharedMemory(*std::move(impl));
}

absl::StatusOr<OwnedHandle> SharedMemory::DuplicateHandle() const {
  if (impl_ == nullptr) return ClosedError("SharedMemory is closed");
  return impl_->handle.Duplicate();
}

const std::string& SharedMemory::name() const {
  return impl_ == nullptr ? EmptyName() : impl_->name;
}

size_t SharedMemory::size() const { return impl_ == nullptr ? 0 : impl_->size; }

void* SharedMemory::data() const {
  return impl_ == nullptr ? nullptr : impl_->addr;
}

absl::Status SharedMemory::Close() {
  impl_.reset();
  return absl::OkStatus();
}

absl::Status SharedMemory::Unlink() {
  if (impl_ == nullptr) return ClosedError("SharedMemory is closed");
  if (impl_->name.empty()) {
    return absl::FailedPreconditionError(
        "SharedMemory.Unlink: an anonymous segment has no name");
  }
  if (impl_->unlinked.exchange(true)) {
    return absl::NotFoundError(absl::StrCat(
        "SharedMemory.Unlink: '", impl_->name, "' was already unlinked"));
  }
  return base_internal::UnlinkName(impl_->name);
}

void MpEncode(Encoder& e, const SharedMemory& shm) {
  if (shm.impl_ == nullptr) {
    return e.Fail(ClosedError("SharedMemory: cannot send a closed segment"));
  }
  absl::Status s = e.AddHandle(shm.impl_->handle.get());
  if (!s.ok()) return;  // the encoder keeps the failure
  e.Write(static_cast<uint64_t>(shm.impl_->size), shm.impl_->name);
}

absl::Status MpDecode(Decoder& d, SharedMemory& shm) {
  absl::StatusOr<OwnedHandle> handle = d.TakeHandle();
  if (!handle.ok()) return handle.status();
  uint64_t size = 0;
  std::string name;
  MP_RETURN_IF_ERROR(d.Read(size, name));
  if (size == 0 || size > SIZE_MAX) {
    return DecodeError(absl::StrCat("SharedMemory: bad size ", size));
  }
  if (!name.empty() && !CheckName(name).ok()) {
    return DecodeError("SharedMemory: bad name");
  }
  absl::StatusOr<base_internal::ImplPtr> impl = base_internal::MapHandle(
      *std::move(handle), static_cast<size_t>(size), std::move(name));
  if (!impl.ok()) {
    // A segment smaller than the message claims is bad input; anything else
    // is the system's refusal and keeps its own code.
    if (impl.status().code() != absl::StatusCode::kInvalidArgument) {
      return impl.status();
    }
    return DecodeError(impl.status().message());
  }
  shm = SharedMemory(*std::move(impl));
  return absl::OkStatus();
}

}  // namespace mp
