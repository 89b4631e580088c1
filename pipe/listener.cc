#include "pipe/listener.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/deadline.h"
#include "base/status.h"
#include "pipe/internal/auth.h"

namespace mp {

Address Address::Unix(absl::string_view path) {
  return Address(Family::kUnix, std::string(path), "", 0);
}

Address Address::Abstract(absl::string_view name) {
  return Unix(absl::StrCat(absl::string_view("\0", 1), name));
}

Address Address::Inet(absl::string_view host, uint16_t port) {
  return Address(Family::kInet, "", std::string(host), port);
}

Address Address::NamedPipe(absl::string_view name) {
  return Address(Family::kPipe, std::string(name), "", 0);
}

std::string Address::ToString() const {
  switch (family_) {
    case Family::kUnix:
      return abstract() ? absl::StrCat("@", path_.substr(1)) : path_;
    case Family::kInet:
      return absl::StrCat(host_, ":", port_);
    case Family::kPipe:
      return path_;
  }
  return "";
}

absl::StatusOr<Listener> Listener::Create(std::optional<Address> address,
                                          int backlog,
                                          std::optional<std::string> authkey) {
  if (backlog < 0) return absl::InvalidArgumentError("backlog is negative");
  Listener l;
  l.authkey_ = std::move(authkey);
  MP_RETURN_IF_ERROR(l.Bind(std::move(address), backlog));
  return l;
}

absl::StatusOr<Connection> Listener::Accept() {
  if (closed()) return ClosedError("listener is closed");
  if (!authkey_.has_value()) return AcceptRaw();
  return AcceptAuthenticated();
}

absl::StatusOr<Connection> Client(const Address& address,
                                  std::optional<std::string> authkey,
                                  absl::Duration timeout) {
  Deadline deadline = Deadline::After(timeout);
  MP_ASSIGN_OR_RETURN(Connection c, Listener::Connect(address, deadline));
  if (!authkey.has_value()) return c;
  MP_RETURN_IF_ERROR(pipe_internal::AnswerChallenge(c, *authkey, deadline));
  MP_RETURN_IF_ERROR(pipe_internal::DeliverChallenge(c, *authkey, deadline));
  return c;
}

}  // namespace mp
