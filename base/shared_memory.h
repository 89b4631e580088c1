// SharedMemory: a block of memory that several processes map, Python's
// multiprocessing.shared_memory.SharedMemory.
//
// A segment is anonymous by default (Linux: a sealed memfd; Windows: an
// unnamed file mapping): it has no name in any namespace, so a crash of
// every process using it leaves nothing behind, and other processes reach it
// only through its handle, which mp passes for you when the SharedMemory is a
// Process argument (fork copies it; spawn encodes it with the codec and the
// child inherits the handle). A named segment (CreateNamed) can also be
// attached by name by any process of the same user, as in Python.
//
// Lifetime. Copies of a SharedMemory share one mapping, which is unmapped
// when the last copy in the process is destroyed or Close()d. A named
// segment's name is removed by Unlink(), or, if nobody did, when the
// creating process's last copy goes away (Python leaves that to its
// resource tracker). A creator killed by SIGKILL cannot do that: on Linux the
// name then stays in /dev/shm (named "mp_..." if mp picked it) until some
// process calls SharedMemory::Attach(name) and Unlink(), or removes the file;
// on Windows the kernel frees a segment with its last handle, so nothing
// remains. Anonymous segments never leave anything behind.
//
// Segments are created readable and writable by their owner only (mode 0600;
// on Windows a DACL granting access to the owner alone).
//
// Size. What mp creates keeps its size: an anonymous segment is sealed
// against resizing (Linux), a Windows segment cannot be resized. A named
// segment on Linux is a file in /dev/shm, which takes no seals: a process of
// the same user that opens it can truncate it, and accesses beyond its new
// end then fault (SIGBUS) in every process mapping it, as with Python's. Use
// an anonymous segment where no other program should be able to do that.
//
// Example:
//
//   absl::StatusOr<mp::SharedMemory> shm = mp::SharedMemory::Create(4096);
//   if (!shm.ok()) return shm.status();
//   std::memcpy(shm->data(), "hello", 5);
//   // ... pass *shm to a Process; the child sees the same bytes ...
//
//   absl::StatusOr<mp::SharedMemory> named =
//       mp::SharedMemory::CreateNamed(1 << 20);        // random name
//   absl::StatusOr<mp::SharedMemory> other =
//       mp::SharedMemory::Attach(named->name());       // any process
//   other->bytes()[0] = 42;                            // named sees it
//   named->Unlink().IgnoreError();

#ifndef MP_BASE_SHARED_MEMORY_H_
#define MP_BASE_SHARED_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/codec.h"
#include "base/handle.h"

namespace mp {

class SharedMemory {
 public:
  // No segment: data() is null and size() 0. What Decode fills in.
  SharedMemory() = default;

  // A new anonymous, zero-filled segment of `size` bytes (> 0).
  static absl::StatusOr<SharedMemory> Create(size_t size);

  // A new named, zero-filled segment of `size` bytes (> 0). An empty `name`
  // picks a random one ("mp_" and 16 hex digits). Names are at most 200
  // characters of letters, digits, '_', '-' and '.'. Fails with
  // kAlreadyExists if the name is taken.
  static absl::StatusOr<SharedMemory> CreateNamed(size_t size,
                                                  absl::string_view name = "");

  // Maps the existing named segment `name`; size() is its whole size (on
  // Windows rounded up to whole pages, as Python reports it). Fails with
  // kNotFound if there is none.
  static absl::StatusOr<SharedMemory> Attach(absl::string_view name);

  // Maps `size` bytes of the segment behind `handle` (a memfd / file
  // descriptor on POSIX, a file mapping on Windows), as received from
  // another process. Fails with kInvalidArgument if the segment is smaller.
  // A memfd that could still shrink is sealed against shrinking first (its
  // creator cannot shrink it afterwards either); any other file that can
  // change size (one of a named segment, a regular file) is mapped with the
  // risk described at the top.
  static absl::StatusOr<SharedMemory> FromHandle(OwnedHandle handle,
                                                 size_t size);

  // Another handle to the same segment, for a transport that sends OS
  // handles itself (the codec does this for you).
  absl::StatusOr<OwnedHandle> DuplicateHandle() const;

  bool valid() const { return impl_ != nullptr; }
  // The name, without any namespace prefix; "" for an anonymous segment.
  const std::string& name() const;
  size_t size() const;
  void* data() const;
  absl::Span<uint8_t> bytes() const {
    return absl::Span<uint8_t>(static_cast<uint8_t*>(data()), size());
  }

  // This copy lets go of the mapping (unmapped once no copy in this process
  // uses it). Python's SharedMemory.close(). Afterwards valid() is false.
  // OK, also for a copy already closed; a Status like every Close() in mp.
  absl::Status Close();

  // Removes the segment's name: later Attach() calls fail, the memory lives
  // on while mapped. Python's SharedMemory.unlink(). Fails with
  // kFailedPrecondition for an anonymous segment and kNotFound if the name
  // is already gone (unlinked twice). On Windows names cannot be removed
  // early, so this only records that the name was given up (a second call
  // fails); the name disappears with the last handle.
  absl::Status Unlink();

  // The codec carries a SharedMemory as its handle, size and name; the
  // receiver maps it (it is never the creator, so never unlinks it itself).
  friend void MpEncode(Encoder& e, const SharedMemory& shm);
  friend absl::Status MpDecode(Decoder& d, SharedMemory& shm);

  // The platform part: one mapping and the handle behind it.
  struct Impl;

 private:
  explicit SharedMemory(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  std::shared_ptr<Impl> impl_;
};

}  // namespace mp

#endif  // MP_BASE_SHARED_MEMORY_H_
