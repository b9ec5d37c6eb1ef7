// https_test.cc -- an HTTPS check against a throwaway TLS replica (python3 + a self-signed
// certificate from openssl), showing that certificates are not verified.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "dns/health/checker.hh"
#include "tests/unit/health/test_server.hh"

extern char** environ;

using namespace rrdns::health;

namespace {

const char* kReplica = R"(
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = b'secure ok'
        self.send_response(200)
        self.send_header('Content-Length', str(len(b)))
        self.send_header('X-Rrdns-Weight', '70')
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
)";

// A python TLS server on 127.0.0.1; port() is 0 when it could not be started.
class TlsReplica {
 public:
  explicit TlsReplica(const std::filesystem::path& dir) {
    const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
    const std::string gen =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -days 1 -subj /CN=replica -keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    if (std::system(gen.c_str()) != 0) return;
    int out[2];
    if (::pipe(out) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const char* argv[] = {"/usr/bin/python3", "-c", kReplica, cert.c_str(), key.c_str(), nullptr};
    const int rc =
        posix_spawn(&d_pid, argv[0], &actions, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      d_pid = 0;
      ::close(out[0]);
      return;
    }
    FILE* f = ::fdopen(out[0], "r");
    unsigned port = 0;
    if (std::fscanf(f, "%u", &port) == 1) d_port = static_cast<uint16_t>(port);
    std::fclose(f);
  }
  ~TlsReplica() {
    if (d_pid > 0) {
      ::kill(d_pid, SIGTERM);
      ::waitpid(d_pid, nullptr, 0);
    }
  }
  uint16_t port() const { return d_port; }

 private:
  pid_t d_pid = 0;
  uint16_t d_port = 0;
};

}  // namespace

TEST_CASE("checker: HTTPS against a self-signed replica, weight header read") {
  // tools/setup.sh installs both; without them this test cannot make its TLS replica.
  REQUIRE_MESSAGE(::access("/usr/bin/python3", X_OK) == 0, "needs /usr/bin/python3");
  REQUIRE_MESSAGE(std::system("command -v openssl >/dev/null") == 0,
                  "needs openssl (apt-get install openssl)");
  char tmpl[] = "/tmp/rrdns-health-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::filesystem::path dir(tmpl);
  {
    TlsReplica replica(dir);
    REQUIRE(replica.port() != 0);
    Checker checker(nullptr);
    CheckSpec spec;
    spec.kind = CheckKind::Https;
    spec.address = "127.0.0.1";
    spec.port = replica.port();
    spec.interval_ms = 100;
    spec.timeout_ms = 2000;
    spec.initial_up = false;
    spec.rise = 1;
    spec.body_match = "secure";
    checker.setTargets({spec});
    checker.start();
    REQUIRE(testutil::waitFor(
        [&] {
          auto s = checker.status();
          return !s.empty() && s[0].up;
        },
        5000));
    auto s = checker.status();
    CHECK(s[0].last_reason == "ok");
    CHECK(s[0].reported_weight == std::optional<uint8_t>(70));

    // Plain HTTP to a TLS port is a failed probe, not a hang.
    spec.kind = CheckKind::Http;
    spec.fall = 1;
    spec.initial_up = true;
    checker.setTargets({spec});
    REQUIRE(testutil::waitFor(
        [&] {
          auto st = checker.status();
          return !st.empty() && st[0].spec.kind == CheckKind::Http && st[0].checks > 0;
        },
        5000));
    CHECK_FALSE(checker.status()[0].up);
    MESSAGE("plain HTTP to TLS: " << checker.status()[0].last_reason);
  }
  std::filesystem::remove_all(dir);
}
