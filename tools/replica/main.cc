// main.cc -- rrdns-replica: one stand-in web replica that rrdnsd health-checks and hands out.
//
// The HTTP side is cpp-httplib's; this file only holds the replica's state (atomics, since
// httplib serves from a thread pool), the handlers, and a signal thread for SIGUSR1/2 and stop.
#include <httplib.h>
#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "tools/replica/options.hh"

namespace rrdns::replica {
namespace {

enum ExitStatus { kOk = 0, kFailure = 1, kUsage = 2 };

// Handlers sleep for the artificial latency, so a slow replica must not starve its own
// health checks: httplib's default of max(8, cores - 1) threads is too few for that.
constexpr size_t kServerThreads = 32;

// Same line shape as rrdnsd's logs, so the two interleave readably in one terminal or compose
// log, without pulling spdlog into a binary that is shipped on its own.
void logLine(const char* level, const std::string& message) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm local{};
  localtime_r(&seconds, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
  // One fprintf per line: stdio locks the stream, so lines from different threads never mix.
  std::fprintf(stderr, "%s.%03d %s %s\n", stamp, static_cast<int>(millis.count()), level,
               message.c_str());
}

constexpr int kNoWeight = -1;

class ReplicaState {
 public:
  ReplicaState(std::string name, std::string listen, const CommandLine& command_line)
      : d_name(std::move(name)),
        d_listen(std::move(listen)),
        d_healthy(!command_line.unhealthy),
        d_weight(command_line.weight.value_or(kNoWeight)),
        d_latency_ms(command_line.latency_ms) {}

  const std::string& name() const { return d_name; }
  const std::string& listen() const { return d_listen; }

  // Logs only real changes, so a script that repeats "down" does not flood the log.
  void setHealthy(bool healthy, const char* why) {
    if (d_healthy.exchange(healthy) != healthy)
      logLine("info", d_name + " marked " + (healthy ? "up" : "down") + " (" + why + ")");
  }
  bool healthy() const { return d_healthy.load(); }

  void setWeight(int weight) {
    if (d_weight.exchange(weight) != weight)
      logLine("info", d_name + " weight " + weightText(weight));
  }
  int weight() const { return d_weight.load(); }

  void setLatencyMs(int ms) {
    if (d_latency_ms.exchange(ms) != ms)
      logLine("info", d_name + " latency " + std::to_string(ms) + " ms");
  }
  int latencyMs() const { return d_latency_ms.load(); }

  void delay() const {
    int ms = d_latency_ms.load();
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  void countRequest() { d_requests.fetch_add(1, std::memory_order_relaxed); }
  unsigned long long requests() const { return d_requests.load(std::memory_order_relaxed); }

  static std::string weightText(int weight) {
    return weight == kNoWeight ? "none" : std::to_string(weight);
  }

 private:
  const std::string d_name;
  const std::string d_listen;
  std::atomic<bool> d_healthy;
  std::atomic<int> d_weight;  // kNoWeight = send no X-Rrdns-Weight
  std::atomic<int> d_latency_ms;
  std::atomic<unsigned long long> d_requests{0};
};

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string trim(const std::string& text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// The admin value from "?key=v", a form body "key=v", or a bare body "v": scripts use all three
// (curl -d sends a form content type even for a bare word, which httplib then parses as a key).
std::string adminValue(const httplib::Request& request, const char* key) {
  if (request.has_param(key)) return trim(request.get_param_value(key));
  std::string body = trim(request.body);
  std::string prefix = std::string(key) + "=";
  if (body.starts_with(prefix)) body = trim(body.substr(prefix.size()));
  return body;
}

void reply(httplib::Response& response, int status, const std::string& body) {
  response.status = status;
  response.set_content(body, "text/plain");
}

void badRequest(httplib::Response& response, const std::string& reason) {
  reply(response, 400, reason + "\n");
}

void addRoutes(httplib::Server& server, ReplicaState& state) {
  std::map<std::string, httplib::Server::Handler> admin_posts;

  server.Get("/", [&state](const httplib::Request&, httplib::Response& response) {
    state.delay();
    state.countRequest();
    reply(response, 200, state.name() + " " + state.listen() + "\n");
  });

  server.Get("/healthz", [&state](const httplib::Request&, httplib::Response& response) {
    state.delay();
    // Read both once: a flip between two loads would give a mixed answer.
    bool healthy = state.healthy();
    int weight = state.weight();
    if (weight != kNoWeight) response.set_header("X-Rrdns-Weight", std::to_string(weight));
    if (healthy)
      reply(response, 200, "ok\n");
    else
      reply(response, 503, "unhealthy\n");
  });

  admin_posts["/admin/health"] = [&state](const httplib::Request& request,
                                          httplib::Response& response) {
    std::string value = adminValue(request, "state");
    if (value != "up" && value != "down")
      return badRequest(response, "bad state '" + value + "': want up or down");
    state.setHealthy(value == "up", "admin");
    reply(response, 200, "health " + value + "\n");
  };

  admin_posts["/admin/weight"] = [&state](const httplib::Request& request,
                                          httplib::Response& response) {
    std::string value = adminValue(request, "value");
    int weight = kNoWeight;
    if (value != "none") {
      auto parsed = parseBoundedInt(value, 0, kMaxWeight);
      if (!parsed)
        return badRequest(response, "bad weight '" + value + "': want 0-" +
                                        std::to_string(kMaxWeight) + " or none");
      weight = *parsed;
    }
    state.setWeight(weight);
    reply(response, 200, "weight " + ReplicaState::weightText(weight) + "\n");
  };

  admin_posts["/admin/latency"] = [&state](const httplib::Request& request,
                                           httplib::Response& response) {
    std::string value = adminValue(request, "ms");
    auto ms = parseBoundedInt(value, 0, kMaxLatencyMs);
    if (!ms)
      return badRequest(
          response, "bad latency '" + value + "': want 0-" + std::to_string(kMaxLatencyMs) + " ms");
    state.setLatencyMs(*ms);
    reply(response, 200, "latency " + std::to_string(*ms) + "\n");
  };

  for (const auto& [path, handler] : admin_posts) server.Post(path, handler);

  // httplib 0.11 reads a POST without Content-Length until the peer closes, so a bare
  // `curl -X POST '.../admin/health?state=down'` would hang for the read timeout and get 400.
  // Such a request has no body (RFC 9112 section 6.3), so it is answered here, before httplib
  // tries to read one.
  server.set_pre_routing_handler(
      [admin_posts](const httplib::Request& request, httplib::Response& response) {
        if (request.method != "POST" || request.has_header("Content-Length") ||
            request.has_header("Transfer-Encoding"))
          return httplib::Server::HandlerResponse::Unhandled;
        auto found = admin_posts.find(request.path);
        if (found == admin_posts.end())
          reply(response, 404, "");
        else
          found->second(request, response);
        return httplib::Server::HandlerResponse::Handled;
      });

  server.Get("/admin/state", [&state](const httplib::Request&, httplib::Response& response) {
    int weight = state.weight();
    std::string json = "{\"name\":" + jsonString(state.name()) +
                       ",\"listen\":" + jsonString(state.listen()) +
                       ",\"healthy\":" + (state.healthy() ? "true" : "false") +
                       ",\"weight\":" + (weight == kNoWeight ? "null" : std::to_string(weight)) +
                       ",\"latency_ms\":" + std::to_string(state.latencyMs()) +
                       ",\"requests\":" + std::to_string(state.requests()) + "}\n";
    response.set_content(json, "application/json");
  });

  // Every response names its replica, so a client that followed a DNS answer can tell which
  // one it reached even from a 404 (default headers reach httplib's own error responses too).
  server.set_default_headers({{"X-Rrdns-Replica", state.name()}});
}

// httplib's default socket options set SO_REUSEPORT, which would let a second replica bind the
// same address silently and share its traffic; a taken address must be a startup error.
void socketOptions(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

// Waits for the signals that main() blocked in every thread. Returns on SIGTERM/SIGINT, after
// stopping the server; run() also sends SIGTERM here when the server ends on its own.
void signalLoop(const sigset_t& signals, httplib::Server& server, ReplicaState& state,
                std::atomic<bool>& stop_requested, const std::atomic<bool>& listen_done) {
  for (;;) {
    int signum = 0;
    if (sigwait(&signals, &signum) != 0) continue;
    if (signum == SIGUSR1) {
      state.setHealthy(false, "SIGUSR1");
    } else if (signum == SIGUSR2) {
      state.setHealthy(true, "SIGUSR2");
    } else {
      if (!listen_done.load()) {
        stop_requested = true;
        const char* name = signum == SIGTERM ? "SIGTERM" : "SIGINT";
        logLine("info", state.name() + " stopping (" + name + ")");
      }
      // stop() is a no-op until listen_after_bind() has marked the server running; a signal
      // that lands in that short gap must not be lost. Bounded: 5 s at most.
      for (int i = 0; i < 500 && !server.is_running() && !listen_done.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      server.stop();
      return;
    }
  }
}

int run(const CommandLine& command_line) {
  // Blocked before any thread exists, so all of httplib's threads inherit the mask and only
  // the signal thread ever sees these signals.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signum : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT}) sigaddset(&signals, signum);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  server.set_socket_options(socketOptions);

  ListenAddress listen = command_line.listen;
  errno = 0;
  bool bound = false;
  if (listen.port == 0) {
    int port = server.bind_to_any_port(listen.host);
    bound = port > 0;
    if (bound) listen.port = port;
  } else {
    bound = server.bind_to_port(listen.host, listen.port);
  }
  if (!bound) {
    int error = errno;
    std::string reason = error ? std::string(": ") + std::strerror(error) : "";
    std::fprintf(stderr, "rrdns-replica: cannot listen on %s%s\n",
                 command_line.listen.text().c_str(), reason.c_str());
    return kFailure;
  }

  ReplicaState state(command_line.name.empty() ? listen.text() : command_line.name, listen.text(),
                     command_line);
  addRoutes(server, state);

  std::atomic<bool> stop_requested{false};
  std::atomic<bool> listen_done{false};
  std::thread signal_thread(signalLoop, std::cref(signals), std::ref(server), std::ref(state),
                            std::ref(stop_requested), std::cref(listen_done));

  logLine("info", state.name() + " listening on " + state.listen() +
                      (state.healthy() ? "" : " (marked down)"));
  server.listen_after_bind();
  listen_done = true;
  // No signal ended the server (its socket failed): wake the signal thread so it can be joined.
  if (!stop_requested.load()) pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();

  if (!stop_requested.load()) {
    logLine("error", state.name() + " stopped serving unexpectedly");
    return kFailure;
  }
  logLine("info", state.name() + " stopped");
  return kOk;
}

}  // namespace
}  // namespace rrdns::replica

int main(int argc, char** argv) {
  using namespace rrdns::replica;
  CommandLine command_line;
  std::string error = parseCommandLine(argc, argv, command_line);
  if (!error.empty()) {
    std::cerr << "rrdns-replica: " << error << "\n"
              << "usage: rrdns-replica --listen ADDR:PORT [--name NAME] [--latency-ms N]"
                 " [--weight W] [--unhealthy]\n"
                 "try 'rrdns-replica --help'\n";
    return kUsage;
  }
  if (command_line.help) {
    std::cout << usage();
    return kOk;
  }
  if (command_line.version) {
    std::cout << "rrdns-replica " << RRDNS_VERSION << "\n";
    return kOk;
  }
  return run(command_line);
}
