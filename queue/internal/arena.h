// Arena: the growable, sparse shared memory behind one queue.
//
// A queue must hold any number of items of any size without blocking an
// unbounded Put, and what it holds must outlive the producer that put it.
// SharedMemory (shm_value/) is a fixed-size block mapped whole, which cannot
// grow once children have it. The arena is one OS object instead, reserved
// large and sparse, that every process maps lazily in windows ("extents")
// of doubling size as the queue grows into them:
//
//   Linux    a memfd sealed against shrinking (so a mapping never turns into
//            SIGBUS under a reader), grown with ftruncate and backed page by
//            page with fallocate, so running out of memory is an error
//            returned by Put rather than a SIGBUS when a page is touched.
//            Released ranges are hole-punched back to the kernel.
//   Windows  an unnamed pagefile-backed section created with SEC_RESERVE of
//            kWindowsReserve bytes; each process commits an extent in its
//            own view when it maps it. Pages cannot be given back before the
//            section is closed.
//
// Being anonymous, the arena has no name anywhere: other processes get it
// only through its handle (inherited by fork, or passed by the codec to a
// spawned child), and the kernel frees it with the last handle and mapping,
// however the processes end. Nothing a crash does can leak it.
//
// Offsets are 64-bit byte positions in the arena. Extent 0 covers
// [0, kExtent0), extent k >= 1 covers [kExtent0 << (k-1), kExtent0 << k), so
// a block whose size is a power of two and whose offset is a multiple of its
// size lies inside one extent and is contiguous in every process's view.
#ifndef MP_QUEUE_INTERNAL_ARENA_H_
#define MP_QUEUE_INTERNAL_ARENA_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/handle.h"

namespace mp {
namespace queue_internal {

class Arena {
 public:
  // The first extent, and the granularity of everything the arena maps.
  static constexpr int kExtent0Shift = 20;  // 1 MiB
  static constexpr uint64_t kExtent0 = uint64_t{1} << kExtent0Shift;
  // Offsets stay below this (256 TiB): the queue packs them into 48 bits.
  static constexpr int kMaxShift = 48;
  static constexpr uint64_t kMaxSize = uint64_t{1} << kMaxShift;
  static constexpr int kMaxExtents = kMaxShift - kExtent0Shift + 1;
  // What a Windows arena reserves: a section cannot grow after creation,
  // and Windows keeps 8 bytes of (pageable) bookkeeping per page of a
  // pagefile-backed section from the start, reserved or not, so this is a
  // compromise: a queue on Windows holds at most 16 GiB at a time.
  static constexpr uint64_t kWindowsReserve = uint64_t{1} << 34;  // 16 GiB

  // A new arena whose first `initial` bytes (at most kExtent0) are backed
  // and zero-filled.
  static absl::StatusOr<std::unique_ptr<Arena>> Create(uint64_t initial);
  // The arena behind `handle`, as another process created it.
  static absl::StatusOr<std::unique_ptr<Arena>> Open(OwnedHandle handle);

  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena();

  // [offset, offset + size) in this process's view, mapping its extent on
  // first use. The range must lie inside one extent and below the arena's
  // size as the OS reports it (so a corrupt offset read from shared memory
  // gives an error here, never a fault). Thread-safe.
  absl::StatusOr<char*> Map(uint64_t offset, uint64_t size);

  // Grows the arena (without backing it by memory) so that it covers
  // [0, end): afterwards Map() of a range below `end` succeeds in every
  // process. Only one thread in all processes may call Reserve or Back at a
  // time (the queue calls them under its producer lock).
  absl::Status Reserve(uint64_t end);

  // Makes [offset, offset + size) backed by memory, growing the arena as
  // needed: afterwards Map() of the range succeeds in every process and
  // touching it cannot fault. kResourceExhausted when the system has no
  // memory left.
  absl::Status Back(uint64_t offset, uint64_t size);

  // Gives the memory of [offset, offset + size) back to the system where the
  // platform can (Linux); the range reads as zeros afterwards. Best effort:
  // the queue keeps working if this does nothing.
  void Release(uint64_t offset, uint64_t size);

  // The OS object, for passing the arena to another process.
  NativeHandle handle() const { return handle_.get(); }

  // The extent holding `offset`, and its bounds.
  static int ExtentOf(uint64_t offset);
  static uint64_t ExtentStart(int k) {
    return k == 0 ? 0 : kExtent0 << (k - 1);
  }
  static uint64_t ExtentSize(int k) {
    return k == 0 ? kExtent0 : kExtent0 << (k - 1);
  }

 private:
  explicit Arena(OwnedHandle handle) : handle_(std::move(handle)) {}

  // Platform parts (arena_linux.cc, arena_win.cc).
  static absl::StatusOr<OwnedHandle> CreateObject(uint64_t initial);
  absl::Status CheckObject();
  // The bytes this process may touch: the file size (Linux) or the
  // reservation (Windows). Never shrinks.
  absl::StatusOr<uint64_t> QuerySize();
  absl::StatusOr<char*> MapExtent(int k);
  void UnmapExtent(int k, char* base);

  char* LookupOrMap(int k);

  OwnedHandle handle_;
  // Cached QuerySize(): offsets below it need no system call to check.
  std::atomic<uint64_t> known_size_{0};
  std::atomic<char*> extents_[kMaxExtents] = {};
  absl::Mutex map_mu_;
};

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_ARENA_H_
