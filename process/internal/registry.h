// The spawn registry: the functions (MP_REGISTER) and Process subclasses
// (MP_REGISTER_PROCESS) a spawned child can run, looked up by what the
// parent holds when it encodes a spawn payload and by the key the child
// reads from it. Registration is in internal/target.h.

#ifndef MP_PROCESS_INTERNAL_REGISTRY_H_
#define MP_PROCESS_INTERNAL_REGISTRY_H_

#include <optional>
#include <typeinfo>

#include "absl/strings/string_view.h"
#include "process/internal/target.h"

namespace mp {
namespace process_internal {

// The entry registered for `function` or for the class `type`. A thing
// registered twice is found by its last registration.
std::optional<FunctionEntry> FindFunction(AnyFunction function);
std::optional<ClassEntry> FindClass(const std::type_info& type);

// The entry registered under (name, file), the key a spawn payload names.
std::optional<FunctionEntry> FindFunction(absl::string_view name,
                                          absl::string_view file);
std::optional<ClassEntry> FindClass(absl::string_view name,
                                    absl::string_view file);

}  // namespace process_internal
}  // namespace mp

#endif  // MP_PROCESS_INTERNAL_REGISTRY_H_
