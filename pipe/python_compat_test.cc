// Wire compatibility with Python: the machine's python3 runs
// testdata/py_peer.py as a multiprocessing.connection Client or Listener
// against mp's Listener or Client, over TCP, a Unix socket path and an
// abstract socket, with the right key, a wrong key and no key, in Python
// 3.11's legacy HMAC-MD5 handshake and in 3.12's "{sha256}" one.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "pipe/internal/test_util.h"
#include "pipe/listener.h"
#include "pipe/pipe.h"

namespace mp {
namespace {

std::string FindPython() {
  if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "", ':')) {
    std::string candidate = absl::StrCat(dir, "/python3");
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

std::string ScriptPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/", workspace ? workspace : "mp",
                      "/pipe/testdata/py_peer.py");
}

// A python3 child with its stdout on a pipe.
class PythonPeer {
 public:
  PythonPeer(const std::string& python, std::vector<std::string> args) {
    int out[2];
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    args.insert(args.begin(), {python, ScriptPath()});
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_ = out[0];
  }
  ~PythonPeer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Reap();
    }
    if (stdout_ >= 0) close(stdout_);
  }

  // The first line it prints (the listener's address), "" at EOF or after
  // a minute.
  std::string ReadLine() {
    std::string line;
    Deadline deadline = Deadline::After(absl::Seconds(60));
    char c;
    while (!deadline.Expired()) {
      struct pollfd p = {stdout_, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      if (read(stdout_, &c, 1) != 1 || c == '\n') break;
      line.push_back(c);
    }
    return line;
  }

  // Its exit status, once its stdout closes (it exited); -1 when it is
  // still running after a minute (it is then killed).
  int Wait() {
    Deadline deadline = Deadline::After(absl::Seconds(60));
    char buf[256];
    while (!deadline.Expired()) {
      struct pollfd p = {stdout_, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      if (read(stdout_, buf, sizeof buf) <= 0) return Reap();
    }
    return -1;
  }

 private:
  int Reap() {
    int status = 0;
    pid_t pid = std::exchange(pid_, -1);
    if (waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
  }

  pid_t pid_ = -1;
  int stdout_ = -1;
};

// mp's half of py_peer.py's exchange: each message back reversed, then
// "bye".
absl::Status ServeExchange(Connection& c) {
  for (int i = 0; i < 3; ++i) {
    MP_ASSIGN_OR_RETURN(std::string m, c.RecvBytes());
    std::string reply(m.rbegin(), m.rend());
    MP_RETURN_IF_ERROR(c.SendBytes(reply));
  }
  return c.SendBytes("bye");
}

using pipe_test::AddressKind;
using pipe_test::FreshAddress;

struct Case {
  AddressKind family;
  bool modern;
};

std::string CaseName(const testing::TestParamInfo<Case>& info) {
  return absl::StrCat(pipe_test::KindName(info.param.family),
                      info.param.modern ? "Sha256" : "LegacyMd5");
}

std::string ForPython(const Address& a) {
  switch (a.family()) {
    case Address::Family::kInet:
      return absl::StrCat("tcp:", a.host(), ":", a.port());
    case Address::Family::kUnix:
      return a.abstract() ? absl::StrCat("abstract:", a.path().substr(1))
                          : absl::StrCat("unix:", a.path());
    case Address::Family::kPipe:
      break;
  }
  return "";
}

absl::StatusOr<Address> FromPython(absl::string_view text) {
  if (absl::ConsumePrefix(&text, "tcp:")) {
    std::pair<std::string, std::string> hp = absl::StrSplit(text, ':');
    int port = 0;
    if (!absl::SimpleAtoi(hp.second, &port)) {
      return absl::InvalidArgumentError(text);
    }
    return Address::Inet(hp.first, static_cast<uint16_t>(port));
  }
  if (absl::ConsumePrefix(&text, "unix:")) return Address::Unix(text);
  if (absl::ConsumePrefix(&text, "abstract:")) return Address::Abstract(text);
  return absl::InvalidArgumentError(absl::StrCat("bad address: ", text));
}

std::string Hex(absl::string_view key) { return absl::BytesToHexString(key); }

class PythonCompatTest : public testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    python_ = FindPython();
    if (python_.empty()) {
      GTEST_SKIP() << "no python3 on this machine: Python compatibility "
                      "not tested";
    }
  }
  std::vector<std::string> Args(const char* role, const Address& a,
                                const std::string& key_arg) {
    std::vector<std::string> args = {role, ForPython(a), key_arg};
    if (GetParam().modern) args.push_back("--modern");
    return args;
  }

  std::string python_;
};

INSTANTIATE_TEST_SUITE_P(Families, PythonCompatTest,
                         testing::Values(Case{AddressKind::kTcp, false},
                                         Case{AddressKind::kTcp, true},
                                         Case{AddressKind::kUnixPath, false},
                                         Case{AddressKind::kUnixPath, true},
                                         Case{AddressKind::kAbstract, false},
                                         Case{AddressKind::kAbstract, true}),
                         CaseName);

TEST_P(PythonCompatTest, PythonClientToMpListener) {
  absl::StatusOr<Listener> l =
      Listener::Create(FreshAddress(GetParam().family), 1, "py key");
  ASSERT_TRUE(l.ok()) << l.status();
  PythonPeer py(python_, Args("client", l->address(), Hex("py key")));
  absl::StatusOr<Connection> c = l->Accept();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(ServeExchange(*c).ok());
  EXPECT_EQ(py.Wait(), 0);
}

TEST_P(PythonCompatTest, PythonClientWithAWrongKeyIsRefused) {
  absl::StatusOr<Listener> l =
      Listener::Create(FreshAddress(GetParam().family), 1, "py key");
  ASSERT_TRUE(l.ok()) << l.status();
  PythonPeer py(python_, Args("client", l->address(), Hex("other key")));
  absl::StatusOr<Connection> c = l->Accept();
  EXPECT_TRUE(IsAuthenticationError(c.status())) << c.status();
  EXPECT_EQ(py.Wait(), 3);
  // The listener still serves a Python client that knows the key.
  PythonPeer good(python_, Args("client", l->address(), Hex("py key")));
  c = l->Accept();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(ServeExchange(*c).ok());
  EXPECT_EQ(good.Wait(), 0);
}

TEST_P(PythonCompatTest, PythonClientWithoutAuthentication) {
  absl::StatusOr<Listener> l =
      Listener::Create(FreshAddress(GetParam().family));
  ASSERT_TRUE(l.ok()) << l.status();
  PythonPeer py(python_, Args("client", l->address(), "none"));
  absl::StatusOr<Connection> c = l->Accept();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(ServeExchange(*c).ok());
  EXPECT_EQ(py.Wait(), 0);
}

TEST_P(PythonCompatTest, MpClientToPythonListener) {
  PythonPeer py(python_, Args("listener", FreshAddress(GetParam().family),
                              Hex("py key")));
  absl::StatusOr<Address> address = FromPython(py.ReadLine());
  ASSERT_TRUE(address.ok()) << address.status();
  absl::StatusOr<Connection> c = Client(*address, "py key");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(ServeExchange(*c).ok());
  EXPECT_EQ(py.Wait(), 0);
}

TEST_P(PythonCompatTest, MpClientWithAWrongKeyIsRefusedByPython) {
  PythonPeer py(python_, Args("listener", FreshAddress(GetParam().family),
                              Hex("py key")));
  absl::StatusOr<Address> address = FromPython(py.ReadLine());
  ASSERT_TRUE(address.ok()) << address.status();
  absl::StatusOr<Connection> c = Client(*address, "other key");
  EXPECT_TRUE(IsAuthenticationError(c.status())) << c.status();
  EXPECT_EQ(py.Wait(), 3);
}

TEST_P(PythonCompatTest, MpClientToPythonListenerWithoutAuthentication) {
  PythonPeer py(python_,
                Args("listener", FreshAddress(GetParam().family), "none"));
  absl::StatusOr<Address> address = FromPython(py.ReadLine());
  ASSERT_TRUE(address.ok()) << address.status();
  absl::StatusOr<Connection> c = Client(*address);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(ServeExchange(*c).ok());
  EXPECT_EQ(py.Wait(), 0);
}

}  // namespace
}  // namespace mp
