// takeover.cc -- both sides of rrdnsctl replace (the conversation is in takeover.hh).
#include "dns/app/takeover.hh"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>

extern char** environ;

namespace rrdns::app {

using control::Json;
using control::makeError;
using control::makeOk;

namespace {

// The binary this process runs. After a package upgrade the file was replaced and the kernel
// says "/usr/sbin/rrdnsd (deleted)": the path then holds the new binary, which is what a
// replace after an upgrade is for.
std::string ownBinary() {
  char buffer[4096];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return {};
  std::string path(buffer, static_cast<size_t>(n));
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
  return path;
}

std::string exitText(int64_t status, int signal) {
  if (signal != 0) return std::string("was killed by signal ") + ::strsignal(signal);
  return "exited with status " + std::to_string(status);
}

}  // namespace

// --- the running daemon ----------------------------------------------------------------------

Replacer::Replacer(uv_loop_t* loop, std::vector<std::string> argv, server::Server& server,
                   Hooks hooks)
    : d_loop(loop), d_argv(std::move(argv)), d_server(server), d_hooks(std::move(hooks)) {
  uv_timer_init(loop, &d_timer);
  d_timer.data = this;
}

Replacer::~Replacer() { close(); }

void Replacer::close() {
  if (d_closed) return;
  d_closed = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&d_timer), nullptr);
  // The child keeps running: it fails to take over from a daemon that is gone, and exits.
  if (d_process_open && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&d_process)))
    uv_close(reinterpret_cast<uv_handle_t*>(&d_process), nullptr);
}

void Replacer::replace(const Json& request, const control::Peer& peer, control::Reply reply) {
  if (d_closed) return reply(makeError("rrdnsd is stopping"));
  if (d_phase == Phase::Released)
    return reply(makeError("this rrdnsd has been replaced already (pid " +
                           std::to_string(d_child_pid) + " serves)"));
  if (d_phase != Phase::Idle || d_process_open)
    return reply(makeError("a replace is already under way (new rrdnsd pid " +
                           std::to_string(d_child_pid) + ")"));
  if (d_control == nullptr || d_control->listeningFd() < 0)
    return reply(makeError("replace needs the control socket"));
  std::string binary = request.contains("binary") && request["binary"].is_string()
                           ? request["binary"].get<std::string>()
                           : ownBinary();
  if (binary.empty() || binary[0] != '/')
    return reply(makeError("replace: the binary must be an absolute path, not '" + binary + "'"));

  // The new daemon starts from the operator state as it is now (it reads it again at takeover).
  d_hooks.save_state();
  std::vector<std::string> args = d_argv;
  args.at(0) = binary;
  std::vector<char*> arg_pointers;
  for (std::string& arg : args) arg_pointers.push_back(arg.data());
  arg_pointers.push_back(nullptr);
  std::vector<std::string> env;
  const std::string marker = std::string(kTakeoverVariable) + "=";
  for (char** entry = environ; *entry != nullptr; ++entry)
    if (std::string_view(*entry).rfind(marker, 0) != 0) env.emplace_back(*entry);
  env.push_back(marker + d_control->path());
  std::vector<char*> env_pointers;
  for (std::string& entry : env) env_pointers.push_back(entry.data());
  env_pointers.push_back(nullptr);

  // Standard input, output and error as ours: the new daemon logs where this one does.
  uv_stdio_container_t stdio[3];
  for (int fd = 0; fd < 3; ++fd) {
    stdio[fd].flags = UV_INHERIT_FD;
    stdio[fd].data.fd = fd;
  }
  uv_process_options_t options{};
  options.exit_cb = onExit;
  options.file = binary.c_str();
  options.args = arg_pointers.data();
  options.env = env_pointers.data();
  options.stdio = stdio;
  options.stdio_count = 3;
  // Its own session: it must outlive this daemon, and a Ctrl-C meant for this one's terminal
  // must not reach it.
  options.flags = UV_PROCESS_DETACHED;
  d_process.data = this;
  int rc = uv_spawn(d_loop, &d_process, &options);
  d_process_open = true;
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&d_process), [](uv_handle_t* handle) {
      static_cast<Replacer*>(handle->data)->d_process_open = false;
    });
    spdlog::error("replace: cannot start {}: {}", binary, uv_strerror(rc));
    return reply(makeError("cannot start " + binary + ": " + uv_strerror(rc) +
                           "; this rrdnsd keeps serving"));
  }
  d_child_pid = d_process.pid;
  spdlog::info("control: uid {} pid {}: replace: pid {} -> {} ({})", peer.uid, peer.pid,
               ::getpid(), d_child_pid, binary);
  d_binary = binary;
  d_reply = std::move(reply);
  d_phase = Phase::Started;
  uv_timer_start(&d_timer, onTimer, kTimeoutMs, 0);
  spdlog::info("replace: started {} as pid {}; serving on until it takes over", binary,
               d_child_pid);
}

void Replacer::takeover(const Json& request, const control::Peer& peer, control::FdReply reply) {
  const std::string cmd = request.value("cmd", "");
  const bool ours =
      (d_phase == Phase::Started || d_phase == Phase::HandedOver) && peer.pid == d_child_pid;
  if (!ours) {
    spdlog::warn("replace: {} from pid {} refused: no replace under way for it", cmd, peer.pid);
    return reply(makeError(cmd + ": no replace under way for pid " + std::to_string(peer.pid)), {});
  }
  if (cmd == "takeover" && d_phase == Phase::Started) {
    d_hooks.save_state();
    std::vector<int> fds = d_server.listenFds();
    const size_t sockets = fds.size();
    fds.push_back(d_control->listeningFd());
    Json listen = Json::array();
    for (const auto& address : d_server.settings().listen) listen.push_back(address.text);
    Json result = {{"pid", ::getpid()},
                   {"threads", d_server.settings().threads},
                   {"listen", listen},
                   {"sockets", sockets}};
    spdlog::info("replace: handing {} listening sockets and the control socket to pid {}", sockets,
                 d_child_pid);
    d_phase = Phase::HandedOver;
    return reply(makeOk(result), std::move(fds));
  }
  if (cmd == "takeover-ready" && d_phase == Phase::HandedOver) return ready(std::move(reply));
  if (cmd == "takeover-failed") {
    std::vector<std::string> errors;
    if (request.contains("errors") && request["errors"].is_array())
      for (const Json& line : request["errors"])
        if (line.is_string()) errors.push_back(line.get<std::string>());
    reply(makeOk(), {});
    return fail("the new rrdnsd (pid " + std::to_string(d_child_pid) + ") failed" +
                    (errors.empty() ? std::string() : ": " + errors.back()),
                errors);
  }
  reply(makeError(cmd + ": out of order"), {});
}

void Replacer::ready(control::FdReply reply) {
  // The new daemon reads the sockets already: from here on this one only finishes what it has.
  d_server.release();
  d_control->handOver();
  spdlog::info(
      "replace: pid {} serves now; this rrdnsd (pid {}) stopped reading and exits once "
      "its {} TCP connections are done",
      d_child_pid, ::getpid(), d_server.tcpConnections());
  d_hooks.released();  // stopping the metrics server takes up to a second (civetweb's poll)
  reply(makeOk(), {});
  d_phase = Phase::Released;
  uv_timer_stop(&d_timer);
  if (d_reply) {
    d_reply(makeOk({{"pid", d_child_pid}, {"replaced_pid", ::getpid()}}));
    d_reply = nullptr;
  }
  // Connections end as usual (the client closes, or the idle timeout); one that stays busy
  // longer than that is cut at the deadline.
  d_drain_deadline_ms = uv_now(d_loop) + d_server.settings().tcp_idle_timeout_ms + 5'000;
  uv_timer_start(&d_timer, onTimer, 0, 100);
}

void Replacer::checkDrained() {
  const unsigned connections = d_server.tcpConnections();
  if (connections > 0 && uv_now(d_loop) < d_drain_deadline_ms) return;
  uv_timer_stop(&d_timer);
  if (connections > 0)
    spdlog::warn("replace: closing {} TCP connections still open at the deadline", connections);
  spdlog::info("replace: done, exiting");
  d_hooks.stop();
}

void Replacer::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<Replacer*>(timer->data);
  if (self->d_phase == Phase::Released) return self->checkDrained();
  self->fail("the new rrdnsd (pid " + std::to_string(self->d_child_pid) +
             ") did not take over within " + std::to_string(kTimeoutMs / 1000) + " s; stopped it");
}

void Replacer::onExit(uv_process_t* process, int64_t status, int signal) {
  auto* self = static_cast<Replacer*>(process->data);
  uv_close(reinterpret_cast<uv_handle_t*>(process), [](uv_handle_t* handle) {
    static_cast<Replacer*>(handle->data)->d_process_open = false;
  });
  if (self->d_phase == Phase::Started || self->d_phase == Phase::HandedOver)
    self->fail("the new rrdnsd (" + self->d_binary + ", pid " + std::to_string(self->d_child_pid) +
               ") " + exitText(status, signal) + " before it served");
}

void Replacer::fail(const std::string& why, const std::vector<std::string>& errors) {
  spdlog::error("replace: {}; this rrdnsd keeps serving", why);
  for (const std::string& line : errors) spdlog::error("replace: new rrdnsd: {}", line);
  uv_timer_stop(&d_timer);
  d_phase = Phase::Idle;
  // A child that failed but lingers (it timed out) must not hold the sockets.
  if (d_process_open && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&d_process)))
    uv_process_kill(&d_process, SIGTERM);
  if (d_reply) {
    d_reply(makeError(why + "; the running rrdnsd keeps serving", errors));
    d_reply = nullptr;
  }
}

// --- the new daemon --------------------------------------------------------------------------

namespace {

// Keeps the last error lines of the log (a failed start ends with its reasons).
class ErrorLines final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ErrorLines(std::shared_ptr<std::vector<std::string>> lines)
      : d_lines(std::move(lines)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    if (message.level < spdlog::level::err) return;
    if (d_lines->size() >= 20) d_lines->erase(d_lines->begin());
    d_lines->emplace_back(message.payload.data(), message.payload.size());
  }
  void flush_() override {}

 private:
  std::shared_ptr<std::vector<std::string>> d_lines;
};

}  // namespace

std::unique_ptr<TakeoverClient> TakeoverClient::fromEnvironment() {
  const char* path = std::getenv(kTakeoverVariable);
  if (path == nullptr || *path == '\0') return nullptr;
  std::unique_ptr<TakeoverClient> client(new TakeoverClient(path));
  ::unsetenv(kTakeoverVariable);
  return client;
}

void TakeoverClient::watchLog() {
  spdlog::default_logger()->sinks().push_back(std::make_shared<ErrorLines>(d_errors));
}

Result<Json> TakeoverClient::exchange(const Json& request) {
  d_client.setDeadline(std::chrono::steady_clock::now() + std::chrono::seconds(30));
  if (!d_connected) {
    if (Result<void> connected = d_client.connect(d_path); !connected.ok())
      return connected.error();
    d_connected = true;
  }
  if (Result<void> sent = d_client.send(request); !sent.ok()) return sent.error();
  std::string line, why;
  if (d_client.readLine(line, why) != control::ControlClient::ReadStatus::Line)
    return error("the running rrdnsd (" + d_path + "): " + why);
  Json response = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (response.is_discarded() || !response.is_object())
    return error("malformed reply from the running rrdnsd: " + line.substr(0, 200));
  if (!response.value("ok", false))
    return error("the running rrdnsd refused: " + response.value("error", std::string("?")));
  return response;
}

Result<TakeoverClient::Sockets> TakeoverClient::takeSockets(const server::ServerSettings& settings,
                                                            const std::string& control_path) {
  if (control_path != d_path)
    return error("control = \"" + control_path + "\" but the running rrdnsd's control socket is " +
                 d_path + ": it cannot move across a replace (restart rrdnsd to move it)");
  Result<Json> response =
      exchange({{"v", control::kProtocolVersion}, {"cmd", "takeover"}, {"pid", ::getpid()}});
  if (!response.ok()) return response.error();
  std::vector<uv::Fd> fds = d_client.takeFds();
  const size_t sockets = response->value("sockets", size_t{0});
  if (fds.size() != sockets + 1)
    return error("the running rrdnsd announced " + std::to_string(sockets) +
                 " sockets and the control socket, but " + std::to_string(fds.size()) +
                 " descriptors arrived");
  std::string theirs, ours;
  for (const Json& address : response->value("listen", Json::array()))
    theirs += (theirs.empty() ? "" : ", ") + address.get<std::string>();
  for (const auto& address : settings.listen) ours += (ours.empty() ? "" : ", ") + address.text;
  if (theirs != ours)
    return error("listen changed: the running rrdnsd listens on " + theirs +
                 ", the configuration says " + ours +
                 "; a replace keeps the sockets, so restart rrdnsd to change them");
  const unsigned threads = response->value("threads", 0u);
  if (threads != settings.threads)
    return error("threads changed: the running rrdnsd has " + std::to_string(threads) +
                 ", the configuration says " + std::to_string(settings.threads) +
                 "; each thread has its own sockets, so restart rrdnsd to change it");
  Sockets handed;
  handed.control = std::move(fds.back());
  fds.pop_back();
  handed.listen = std::move(fds);
  spdlog::info("takeover: {} listening sockets and the control socket from pid {}", sockets,
               response->value("pid", 0));
  return handed;
}

Result<void> TakeoverClient::ready() {
  Result<Json> response = exchange({{"v", control::kProtocolVersion}, {"cmd", "takeover-ready"}});
  d_client.close();
  d_connected = false;
  if (!response.ok()) return response.error();
  return success();
}

void TakeoverClient::failed(int status) {
  Json errors = Json::array();
  for (const std::string& line : *d_errors) errors.push_back(line);
  if (errors.empty()) errors.push_back("rrdnsd exited with status " + std::to_string(status));
  (void)exchange({{"v", control::kProtocolVersion},
                  {"cmd", "takeover-failed"},
                  {"status", status},
                  {"errors", errors}});
  d_client.close();
  d_connected = false;
}

}  // namespace rrdns::app
