#include "pipe/listener.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/deadline.h"
#include "base/status.h"
#include "pipe/internal/auth.h"
#include "pipe/internal/connection_io.h"

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
  Listener l(address.has_value() ? *std::move(address) : ArbitraryAddress());
  l.authkey_ = std::move(authkey);
  absl::Status s = l.Bind(backlog);
  if (!s.ok()) return s;
  return l;
}

absl::StatusOr<Connection> Listener::Accept() {
  if (closed()) return ClosedError("listener is closed");
  absl::StatusOr<Connection> c = AcceptRaw();
  if (!c.ok() || !authkey_.has_value()) return c;
  // The client was let in before it proved anything: bound the time it may
  // take, and drop it (closing the connection) on any failure.
  Deadline deadline = Deadline::After(handshake_timeout_);
  absl::Status s = pipe_internal::DeliverChallenge(*c, *authkey_, deadline);
  if (s.ok()) s = pipe_internal::AnswerChallenge(*c, *authkey_, deadline);
  if (!s.ok()) return s;
  return c;
}

absl::StatusOr<Connection> Client(const Address& address,
                                  std::optional<std::string> authkey) {
  absl::StatusOr<Connection> c = pipe_internal::ConnectionIo::Connect(address);
  if (!c.ok() || !authkey.has_value()) return c;
  absl::Status s =
      pipe_internal::AnswerChallenge(*c, *authkey, Deadline::Never());
  if (s.ok()) {
    s = pipe_internal::DeliverChallenge(*c, *authkey, Deadline::Never());
  }
  if (!s.ok()) return s;
  return c;
}

}  // namespace mp
