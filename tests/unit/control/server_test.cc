// server_test.cc -- ControlServer end to end: a real loop in a thread, ControlClient on the other end.
#include "dns/control/server.hh"

#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "dns/control/client.hh"

using namespace rrdns::control;
using namespace std::chrono_literals;

namespace {

// A temporary directory for one test's socket, removed with what is left in it.
struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/rrdns-control-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

// The loop thread, the server on it, and a way to run code on the loop from the test.
class Harness {
 public:
  explicit Harness(uint64_t idle_ms = ControlServer::kIdleTimeoutMs) : d_path(d_dir.path + "/control.sock") {
    ::signal(SIGPIPE, SIG_IGN);  // as rrdnsd does: a vanished client costs an error code
    REQUIRE(uv_loop_init(&d_loop) == 0);
    auto created = ControlServer::create(
        &d_loop, d_path, [this](const Json& request, const Peer& peer, Reply reply) {
          handle(request, peer, std::move(reply));
        });
    REQUIRE_MESSAGE(created.ok(), (created.ok() ? "" : created.error().text()));
    d_server = std::move(created).value();
    d_server->setIdleTimeout(idle_ms);
    uv_async_init(&d_loop, &d_wake, onWake);
    d_wake.data = this;
    d_thread = std::thread([this] { uv_run(&d_loop, UV_RUN_DEFAULT); });
  }

  ~Harness() { stop(); }

  // Closes the server and the wake-up handle; the loop then runs dry.
  void stop() {
    if (!d_thread.joinable()) return;
    post([this] {
      if (d_server) d_server->close();
      uv_close(reinterpret_cast<uv_handle_t*>(&d_wake), nullptr);
    });
    d_thread.join();
    d_server.reset();
    d_stash = nullptr;
    CHECK(uv_loop_close(&d_loop) == 0);  // every handle closed and freed
  }

  // Runs fn on the loop thread (asynchronously).
  void post(std::function<void()> fn) {
    {
      std::lock_guard lock(d_mutex);
      d_tasks.push_back(std::move(fn));
    }
    uv_async_send(&d_wake);
  }

  // Runs fn on the loop thread and waits for it.
  void call(std::function<void()> fn) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    post([&] {
      fn();
      std::lock_guard lock(m);
      done = true;
      cv.notify_one();
    });
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, 5s, [&] { return done; }));
  }

  const std::string& path() const { return d_path; }
  uv_loop_t* loop() { return &d_loop; }
  std::unique_ptr<ControlServer>& server() { return d_server; }
  int handled() const { return d_handled.load(); }

 private:
  static void onWake(uv_async_t* async) {
    auto* self = static_cast<Harness*>(async->data);
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(self->d_mutex);
      tasks.swap(self->d_tasks);
    }
    for (auto& task : tasks) task();
  }

  // The test commands. Runs on the loop thread.
  void handle(const Json& request, const Peer& peer, Reply reply) {
    ++d_handled;
    const std::string cmd = request["cmd"];
    if (cmd == "echo") {
      reply(Json{{"request", request}});
    } else if (cmd == "whoami") {
      reply(Json{{"uid", peer.uid}, {"pid", peer.pid}});
    } else if (cmd == "async") {  // replies on a later loop iteration
      post([reply, request] { reply(Json{{"request", request}, {"async", true}}); });
    } else if (cmd == "later") {  // replies when someone sends "release"
      d_stash = std::move(reply);
    } else if (cmd == "release") {
      bool had = static_cast<bool>(d_stash);
      if (had) std::exchange(d_stash, nullptr)(Json{{"released", true}});
      reply(Json{{"had_stash", had}});
    } else if (cmd == "fail") {
      reply(makeError("zone errors", {"a.toml:1: bad", "a.toml:2: worse"}));
    } else if (cmd == "throw") {
      throw std::runtime_error("boom");
    } else if (cmd == "forget") {
      // drops the reply uncalled
    } else if (cmd == "twice") {
      reply(Json{{"n", 1}});
      reply(Json{{"n", 2}});
    } else if (cmd == "big") {
      reply(Json{{"blob", std::string(kMaxLineBytes + 10, 'x')}});
    } else {
      reply(makeError("unknown command: " + cmd));
    }
  }

  TempDir d_dir;
  std::string d_path;
  uv_loop_t d_loop;
  uv_async_t d_wake;
  std::unique_ptr<ControlServer> d_server;
  std::thread d_thread;
  std::mutex d_mutex;
  std::vector<std::function<void()>> d_tasks;
  Reply d_stash;  // loop thread only
  std::atomic<int> d_handled{0};
};

// ControlServer::create with its error, if any, in `error`, for the tests that look at it.
std::unique_ptr<ControlServer> createServer(uv_loop_t* loop, const std::string& path,
                                            Handler handler, std::string& error) {
  auto created = ControlServer::create(loop, path, std::move(handler));
  if (!created.ok()) {
    error = created.error().text();
    return nullptr;
  }
  return std::move(created).value();
}

// A connected client with a 5 s deadline.
struct Client {
  ControlClient client;
  explicit Client(const std::string& path) {
    client.setDeadline(std::chrono::steady_clock::now() + 5s);
    auto connected = client.connect(path);
    REQUIRE_MESSAGE(connected.ok(), (connected.ok() ? "" : connected.error().text()));
  }
  void send(const std::string& raw) {
    auto sent = client.sendRaw(raw);
    REQUIRE_MESSAGE(sent.ok(), (sent.ok() ? "" : sent.error().text()));
  }
  Json read() {
    std::string line, error;
    auto status = client.readLine(line, error);
    REQUIRE_MESSAGE(status == ControlClient::ReadStatus::Line, error);
    return Json::parse(line);
  }
  Json request(const std::string& raw) {
    send(raw + "\n");
    return read();
  }
  ControlClient::ReadStatus readStatus() {
    std::string line, error;
    return client.readLine(line, error);
  }
};

}  // namespace

TEST_CASE("server: echo, and the response starts with v and ok") {
  Harness h;
  Client c(h.path());
  Json r = c.request(R"({"v":1,"cmd":"echo","x":[1,2]})");
  CHECK(r.dump() == R"({"v":1,"ok":true,"request":{"v":1,"cmd":"echo","x":[1,2]}})");
  // Several requests on one connection, blank lines ignored, "v" may be left out.
  c.send("\n\n{\"cmd\":\"echo\"}\n");
  CHECK(c.read()["request"]["cmd"] == "echo");
  CHECK(c.request(R"({"v":1,"cmd":"nosuch"})").dump() ==
        R"({"v":1,"ok":false,"error":"unknown command: nosuch"})");
  Json failed = c.request(R"({"v":1,"cmd":"fail"})");
  CHECK(failed["errors"].size() == 2);
}

TEST_CASE("server: the handler is told the peer's uid and pid (SO_PEERCRED)") {
  Harness h;
  Client c(h.path());
  Json r = c.request(R"({"v":1,"cmd":"whoami"})");
  CHECK(r["uid"] == ::geteuid());
  CHECK(r["pid"] == ::getpid());  // the client is this process
}

TEST_CASE("server: pipelined requests are answered in order, past the queue limit") {
  Harness h;
  Client c(h.path());
  std::string batch;
  const int n = 100;  // well past kMaxQueued: the connection stops reading, then resumes
  for (int i = 0; i < n; ++i)
    batch += Json{{"v", 1}, {"cmd", i % 3 == 0 ? "async" : "echo"}, {"seq", i}}.dump() + "\n";
  c.send(batch);
  for (int i = 0; i < n; ++i) {
    Json r = c.read();
    REQUIRE(r["request"]["seq"] == i);
    CHECK(r.contains("async") == (i % 3 == 0));
  }
}

TEST_CASE("server: a deferred reply, and requests behind it wait") {
  Harness h;
  Client a(h.path());
  Client b(h.path());
  a.send("{\"v\":1,\"cmd\":\"later\"}\n{\"v\":1,\"cmd\":\"echo\",\"seq\":2}\n");
  // Wait until the server has "later" in hand, so "release" finds it.
  for (int i = 0; i < 500 && h.handled() < 1; ++i) std::this_thread::sleep_for(2ms);
  REQUIRE(h.handled() == 1);
  std::this_thread::sleep_for(20ms);
  CHECK(h.handled() == 1);  // "echo" waits behind "later"
  CHECK(b.request(R"({"v":1,"cmd":"release"})")["had_stash"] == true);
  CHECK(a.read()["released"] == true);
  CHECK(a.read()["request"]["seq"] == 2);
}

TEST_CASE("server: malformed requests get ok:false and the connection goes on") {
  Harness h;
  Client c(h.path());
  Json r = c.request(R"({"v":1,"cmd":)");
  CHECK(r["ok"] == false);
  CHECK(r["error"].get<std::string>().rfind("malformed request: parse error", 0) == 0);
  CHECK(c.request("42")["error"] == "malformed request: expected a JSON object, got number");
  CHECK(c.request(R"({"v":1})")["error"] == "request has no cmd");
  CHECK(c.request(R"({"v":2,"cmd":"status"})")["error"] ==
        "unsupported protocol version 2; this rrdnsd speaks 1");
  CHECK(c.request(R"({"v":1,"cmd":"echo"})")["ok"] == true);
  CHECK(h.handled() == 1);  // none of the bad ones reached the handler
}

TEST_CASE("server: handler mistakes become clean errors") {
  Harness h;
  Client c(h.path());
  CHECK(c.request(R"({"cmd":"throw"})")["error"] == "internal error: boom");
  CHECK(c.request(R"({"cmd":"forget"})")["error"] ==
        "internal error: command forget finished without a reply");
  CHECK(c.request(R"({"cmd":"twice"})")["n"] == 1);
  CHECK(c.request(R"({"cmd":"echo","seq":7})")["request"]["seq"] == 7);  // the 2nd was ignored
  CHECK(c.request(R"({"cmd":"big"})")["error"].get<std::string>().rfind(
            "internal error: response too large", 0) == 0);
}

TEST_CASE("server: an oversized request line gets an error, then the connection closes") {
  Harness h;
  Client c(h.path());
  c.send(std::string(kMaxLineBytes + 100, ' ') + "\n{\"cmd\":\"echo\"}\n");
  CHECK(c.read()["error"] == "request line longer than 1048576 bytes");
  CHECK(c.readStatus() == ControlClient::ReadStatus::Closed);
  Client again(h.path());  // the server is fine
  CHECK(again.request(R"({"cmd":"echo"})")["ok"] == true);
}

TEST_CASE("server: a half-closed client still gets its replies, then EOF") {
  Harness h;
  Client c(h.path());
  c.send("{\"cmd\":\"async\",\"seq\":1}\n{\"cmd\":\"echo\",\"seq\":2}\n");
  c.client.shutdownWrite();
  CHECK(c.read()["request"]["seq"] == 1);
  CHECK(c.read()["request"]["seq"] == 2);
  CHECK(c.readStatus() == ControlClient::ReadStatus::Closed);
}

TEST_CASE("server: a client that goes away with a reply pending") {
  Harness h;
  SUBCASE("the reply comes after the server saw the close") {
    {
      Client a(h.path());
      a.send("{\"cmd\":\"later\"}\n{\"cmd\":\"echo\"}\n");
      for (int i = 0; i < 500 && h.handled() < 1; ++i) std::this_thread::sleep_for(2ms);
    }
    std::this_thread::sleep_for(50ms);
  }
  SUBCASE("the reply comes at once") {
    Client a(h.path());
    a.send("{\"cmd\":\"later\"}\n");
    for (int i = 0; i < 500 && h.handled() < 1; ++i) std::this_thread::sleep_for(2ms);
    a.client.close();
  }
  REQUIRE(h.handled() == 1);
  Client b(h.path());
  CHECK(b.request(R"({"cmd":"release"})")["had_stash"] == true);  // the reply went nowhere
  CHECK(b.request(R"({"cmd":"echo"})")["ok"] == true);
}

TEST_CASE("server: closing the server with a reply pending and clients connected") {
  Harness h;
  Client a(h.path());
  a.send("{\"cmd\":\"later\"}\n");
  for (int i = 0; i < 500 && h.handled() < 1; ++i) std::this_thread::sleep_for(2ms);
  Client b(h.path());
  CHECK(b.request(R"({"cmd":"echo"})")["ok"] == true);
  h.call([&] {
    h.server()->close();
    h.server()->close();  // idempotent
  });
  CHECK(a.readStatus() == ControlClient::ReadStatus::Closed);
  CHECK(b.readStatus() == ControlClient::ReadStatus::Closed);
  struct stat st {};
  CHECK(::lstat(h.path().c_str(), &st) != 0);  // unlinked
  h.call([&] { h.server().reset(); });  // destroying after close is fine
  // The stashed reply is dropped when the harness goes.
}

TEST_CASE("server: destroying the server while connections are open") {
  Harness h;
  Client a(h.path());
  CHECK(a.request(R"({"cmd":"echo"})")["ok"] == true);
  h.call([&] { h.server().reset(); });
  CHECK(a.readStatus() == ControlClient::ReadStatus::Closed);
}

TEST_CASE("server: closeAllHandles shuts it down like every other handle owner") {
  TempDir dir;
  std::string path = dir.path + "/c.sock";
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::string error;
  auto server = createServer(
      &loop, path, [](const Json&, const Peer&, Reply reply) { reply(Json::object()); }, error);
  REQUIRE(server);
  std::atomic<bool> stop{false};
  std::thread client_thread([&] {
    Client c(path);
    CHECK(c.request(R"({"cmd":"x"})")["ok"] == true);
    stop = true;
    // stays connected while the loop shuts down
    CHECK(c.readStatus() == ControlClient::ReadStatus::Closed);
  });
  while (!stop) uv_run(&loop, UV_RUN_NOWAIT);
  rrdns::uv::closeAllHandles(&loop);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  client_thread.join();
  server.reset();
}

TEST_CASE("server: idle connections are closed, busy ones are not") {
  Harness h(/*idle_ms=*/150);
  Client idle(h.path());
  Client busy(h.path());
  busy.send("{\"cmd\":\"later\"}\n");
  auto start = std::chrono::steady_clock::now();
  CHECK(idle.readStatus() == ControlClient::ReadStatus::Closed);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  std::this_thread::sleep_for(300ms);  // twice the idle timeout with the reply still pending
  Client b(h.path());
  CHECK(b.request(R"({"cmd":"release"})")["had_stash"] == true);
  CHECK(busy.read()["released"] == true);
}

TEST_CASE("server: the socket is mode 0600 and removed on close") {
  Harness h;
  struct stat st {};
  REQUIRE(::lstat(h.path().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == ::geteuid());
  h.stop();
  CHECK(::lstat(h.path().c_str(), &st) != 0);
}

TEST_CASE("server: a stale socket file is replaced") {
  TempDir dir;
  std::string path = dir.path + "/control.sock";
  // What a killed daemon leaves behind: a bound socket nobody accepts on.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  ::close(fd);

  uv_loop_t loop;
  uv_loop_init(&loop);
  std::string error;
  auto server = createServer(
      &loop, path, [](const Json&, const Peer&, Reply reply) { reply(Json::object()); }, error);
  CHECK_MESSAGE(server, error);
  if (server) server->close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("server: a live socket, or something that is not a socket, is refused") {
  Harness h;
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::string error;
  auto handler = [](const Json&, const Peer&, Reply reply) { reply(Json::object()); };
  CHECK_FALSE(createServer(&loop, h.path(), handler, error));
  CHECK(error == "control socket " + h.path() +
                     " is in use by another process (is rrdnsd already running?)");
  Client c(h.path());  // the first server still has its socket
  CHECK(c.request(R"({"cmd":"echo"})")["ok"] == true);

  std::string file = h.path() + ".txt";
  std::ofstream(file) << "not a socket\n";
  CHECK_FALSE(createServer(&loop, file, handler, error));
  CHECK(error == "cannot use control socket " + file + ": it exists and is not a socket");

  CHECK_FALSE(createServer(&loop, "/tmp/" + std::string(120, 'x'), handler, error));
  CHECK(error.find("control socket path must be") == 0);

  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("server: a missing parent directory is created") {
  TempDir dir;
  std::string path = dir.path + "/run/control.sock";
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::string error;
  auto server = createServer(
      &loop, path, [](const Json&, const Peer&, Reply reply) { reply(Json::object()); }, error);
  CHECK_MESSAGE(server, error);
  if (server) server->close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("server: another uid is refused with an error line (needs root)") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root to connect as another uid");
    return;
  }
  Harness h;
  // The 0600 mode alone keeps other users out; open it up to reach the SO_PEERCRED check.
  std::string dir = h.path().substr(0, h.path().rfind('/'));
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  REQUIRE(::chmod(h.path().c_str(), 0666) == 0);
  const std::string expected =
      "{\"v\":1,\"ok\":false,\"error\":\"permission denied: uid 65534 is not the daemon's user\"}\n";
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Only async-signal-safe calls here: the parent has threads.
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, h.path().data(), h.path().size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ::_exit(11);
    static const char request[] = "{\"v\":1,\"cmd\":\"echo\"}\n";
    (void)::write(fd, request, sizeof request - 1);
    char buffer[512];
    size_t got = 0;
    for (;;) {
      ssize_t n = ::read(fd, buffer + got, sizeof buffer - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    bool same = got == expected.size() && std::memcmp(buffer, expected.data(), got) == 0;
    ::_exit(same ? 0 : 12);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(h.handled() == 0);
}
