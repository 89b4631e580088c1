#include "process/internal/type_name.h"

#include <cxxabi.h>

#include <cstdlib>
#include <string>
#include <typeinfo>

#include "process/process.h"

namespace mp {
namespace process_internal {

std::string Demangle(const char* mangled) {
  int status = 0;
  char* out = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  if (out == nullptr) return mangled;
  std::string name(out);
  std::free(out);
  return name;
}

std::string ClassName(const std::type_info& type) {
  if (type == typeid(Process)) return "Process";
  std::string name = Demangle(type.name());
  size_t end = name.find('<');
  size_t colon = name.rfind("::", end);
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

}  // namespace process_internal
}  // namespace mp
