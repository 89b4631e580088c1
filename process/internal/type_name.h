// C++ type names as a reader wants them: in messages, and in a Process
// subclass's default name.

#ifndef MP_PROCESS_INTERNAL_TYPE_NAME_H_
#define MP_PROCESS_INTERNAL_TYPE_NAME_H_

#include <string>
#include <typeinfo>

namespace mp {
namespace process_internal {

// The name as written in C++ for the compiler's `mangled` one (as
// std::type_info::name() gives it); `mangled` itself if it does not
// demangle.
std::string Demangle(const char* mangled);

// Python's type(self).__name__: the class name without its namespaces.
std::string ClassName(const std::type_info& type);

}  // namespace process_internal
}  // namespace mp

#endif  // MP_PROCESS_INTERNAL_TYPE_NAME_H_
