// The spawn payload: what a parent sends the child it spawns (the launcher,
// base/launch.h, carries it), from which the child makes the Process it
// runs. A header (the Process's name, identity, daemon flag and authkey,
// the parent's name, and the keys of the registered class and function),
// then the class's own members and the function's arguments in the codec's
// encoding (base/codec.h).

#ifndef MP_PROCESS_INTERNAL_SPAWN_PAYLOAD_H_
#define MP_PROCESS_INTERNAL_SPAWN_PAYLOAD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/handle.h"
#include "base/launch.h"

namespace mp {

class Process;

namespace process_internal {

// The payload for `process`, whose handles are appended to *handles for
// the launcher to pass on. Fails, naming it, if the class or the target
// cannot be sent: an unregistered class or function, a lambda.
absl::StatusOr<std::string> EncodeSpawnPayload(
    Process& process, std::vector<NativeHandle>* handles);

// In the spawned child: the Process that `info`'s payload describes. Also
// makes this process's globals say who it is (BecomeSpawnedChild).
absl::StatusOr<std::unique_ptr<Process>> DecodeSpawnPayload(LaunchInfo& info);

}  // namespace process_internal
}  // namespace mp

#endif  // MP_PROCESS_INTERNAL_SPAWN_PAYLOAD_H_
