#include "process/internal/registry.h"

#include <optional>
#include <typeinfo>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "process/internal/target.h"

namespace mp {
namespace process_internal {
namespace {

struct Registry {
  absl::Mutex mu;
  std::vector<FunctionEntry> functions ABSL_GUARDED_BY(mu);
  std::vector<ClassEntry> classes ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry* registry = new Registry;
  return *registry;
}

// Adds `entry` to the registry's list `entries`.
template <typename Entry>
void Add(std::vector<Entry> Registry::*entries, const Entry& entry) {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  (r.*entries).push_back(entry);
}

// The last entry of the registry's list `entries` that `matches`.
template <typename Entry, typename Predicate>
std::optional<Entry> FindLast(std::vector<Entry> Registry::*entries,
                              Predicate matches) {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  const std::vector<Entry>& all = r.*entries;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (matches(*it)) return *it;
  }
  return std::nullopt;
}

}  // namespace

void RegisterFunction(const FunctionEntry& entry) {
  Add(&Registry::functions, entry);
}

void RegisterClass(const ClassEntry& entry) { Add(&Registry::classes, entry); }

std::optional<FunctionEntry> FindFunction(AnyFunction function) {
  return FindLast(&Registry::functions, [function](const FunctionEntry& e) {
    return e.function == function;
  });
}

std::optional<ClassEntry> FindClass(const std::type_info& type) {
  return FindLast(&Registry::classes,
                  [&type](const ClassEntry& e) { return *e.type == type; });
}

std::optional<FunctionEntry> FindFunction(absl::string_view name,
                                          absl::string_view file) {
  return FindLast(&Registry::functions, [name, file](const FunctionEntry& e) {
    return name == e.name && file == e.file;
  });
}

std::optional<ClassEntry> FindClass(absl::string_view name,
                                    absl::string_view file) {
  return FindLast(&Registry::classes, [name, file](const ClassEntry& e) {
    return name == e.name && file == e.file;
  });
}

}  // namespace process_internal
}  // namespace mp
