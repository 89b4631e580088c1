// SharedState<T>: the handle every lock/ object (and Value/Array) keeps to
// its state in shared memory. Copies share one mapping, like Python objects
// passed around by reference; the codec sends the segment's handle and the
// state's offset, and checks on arrival that the segment is big enough and
// the state is of the expected kind.
//
// T is a struct whose first member is `uint32_t magic`, constructible in
// zero-filled memory, with `absl::Status AttachInThisProcess()` (called
// once in each process that maps it, before use), `bool
// PinnedInThisProcess() const` and `void ForgetInThisProcess()`.
#ifndef MP_LOCK_INTERNAL_SHARED_STATE_H_
#define MP_LOCK_INTERNAL_SHARED_STATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/codec.h"
#include "base/shared_memory.h"
#include "base/status.h"

namespace mp {
namespace lock_internal {

// Keeps `shm` mapped until the process ends: for a mutex still on a robust
// list of this process when its last handle goes (see RobustMutex).
void KeepMappedForever(const SharedMemory& shm);

template <typename T>
class SharedState {
 public:
  SharedState() = default;
  SharedState(const SharedState&) = default;
  SharedState& operator=(const SharedState&) = default;
  // A moved-from SharedState is empty, as a default one, so that a
  // moved-from handle is not valid().
  SharedState(SharedState&& other) noexcept
      : holder_(std::move(other.holder_)),
        state_(std::exchange(other.state_, nullptr)),
        offset_(std::exchange(other.offset_, 0)) {}
  SharedState& operator=(SharedState&& other) noexcept {
    holder_ = std::move(other.holder_);
    state_ = std::exchange(other.state_, nullptr);
    offset_ = std::exchange(other.offset_, 0);
    return *this;
  }

  // A new segment of `size` (>= sizeof(T)) zero bytes starting with a fresh
  // T whose magic is `magic`.
  static absl::StatusOr<SharedState> Create(uint32_t magic,
                                            size_t size = sizeof(T)) {
    MP_ASSIGN_OR_RETURN(
        SharedMemory shm,
        SharedMemory::Create(size < sizeof(T) ? sizeof(T) : size));
    T* state = new (shm.data()) T;
    state->magic = magic;
    MP_RETURN_IF_ERROR(state->AttachInThisProcess());
    return SharedState(std::move(shm), 0, state);
  }

  // The T at `offset` in `shm`, which the caller has checked.
  static absl::StatusOr<SharedState> View(SharedMemory shm, size_t offset) {
    T* state = reinterpret_cast<T*>(static_cast<char*>(shm.data()) + offset);
    MP_RETURN_IF_ERROR(state->AttachInThisProcess());
    return SharedState(std::move(shm), offset, state);
  }

  bool valid() const { return state_ != nullptr; }
  T* get() const { return state_; }
  T* operator->() const { return get(); }
  const SharedMemory& segment() const { return holder_->shm; }
  size_t offset() const { return offset_; }

  void Encode(Encoder& e, absl::string_view what) const {
    if (holder_ == nullptr) return e.Fail(EmptyObjectError(what));
    e.Write(holder_->shm, static_cast<uint64_t>(offset_));
  }

  // Reads what Encode wrote and checks it names a T with one of `magics`.
  static absl::Status Decode(Decoder& d, absl::string_view what,
                             std::initializer_list<uint32_t> magics,
                             SharedState* out) {
    SharedMemory shm;
    uint64_t offset = 0;
    MP_RETURN_IF_ERROR(d.Read(shm, offset));
    if (offset > shm.size() || shm.size() - offset < sizeof(T) ||
        offset % alignof(T) != 0) {
      return DecodeError(absl::StrCat(what, ": bad offset ", offset,
                                      " in a segment of ", shm.size()));
    }
    const T* raw = reinterpret_cast<const T*>(
        static_cast<const char*>(shm.data()) + offset);
    bool known = false;
    for (uint32_t m : magics) known = known || m == raw->magic;
    if (!known) {
      return DecodeError(
          absl::StrCat(what, ": the memory holds something else"));
    }
    MP_ASSIGN_OR_RETURN(*out,
                        View(std::move(shm), static_cast<size_t>(offset)));
    return absl::OkStatus();
  }

 private:
  struct Holder {
    Holder(SharedMemory s, T* t) : shm(std::move(s)), state(t) {}
    ~Holder() {
      if (state->PinnedInThisProcess()) {
        KeepMappedForever(shm);
      } else {
        state->ForgetInThisProcess();
      }
    }
    SharedMemory shm;
    T* state;
  };

  SharedState(SharedMemory shm, size_t offset, T* state)
      : holder_(std::make_shared<Holder>(std::move(shm), state)),
        state_(state),
        offset_(offset) {}

  std::shared_ptr<Holder> holder_;
  T* state_ = nullptr;  // holder_->state, one load closer
  size_t offset_ = 0;
};

}  // namespace lock_internal
}  // namespace mp

#endif  // MP_LOCK_INTERNAL_SHARED_STATE_H_
