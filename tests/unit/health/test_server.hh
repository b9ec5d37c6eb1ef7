// test_server.hh -- test-only loopback HTTP responder and port helpers for the checker tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace testutil {

// A listening TCP socket on 127.0.0.1 with a kernel-chosen port.
inline int listenLoopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) < 0 || ::listen(fd, 64) < 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) {
    ::close(fd);
    throw std::runtime_error("bind/listen");
  }
  port = ntohs(sa.sin_port);
  return fd;
}

// A port on 127.0.0.1 that nothing listens on (bound, then released), so connects are refused.
inline uint16_t closedPort() {
  uint16_t port;
  ::close(listenLoopback(port));
  return port;
}

// Answers every request with the configured response, one connection at a time, then closes
// it. In hang mode it reads the request and never answers (the socket stays open until the
// server is destroyed), which is what a stuck replica looks like.
class HttpServer {
 public:
  struct Response {
    int status = 200;
    std::string body = "ok";
    std::vector<std::string> headers;  // "Name: value"
    bool hang = false;
  };

  HttpServer() : d_fd(listenLoopback(d_port)), d_thread([this] { run(); }) {}
  ~HttpServer() {
    d_stop = true;
    d_thread.join();
    ::close(d_fd);
    for (int fd : d_hung) ::close(fd);
  }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const { return d_port; }
  void respond(Response r) {
    std::lock_guard lock(d_mutex);
    d_response = std::move(r);
  }
  size_t requests() const { return d_requests; }
  // Every request head received so far, in order.
  std::vector<std::string> requestLog() const {
    std::lock_guard lock(d_mutex);
    return d_log;
  }

 private:
  void run() {
    while (!d_stop) {
      pollfd p{d_fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(d_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      serve(c);
    }
  }

  void serve(int c) {
    std::string request;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (request.find("\r\n\r\n") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline && !d_stop) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    Response r;
    {
      std::lock_guard lock(d_mutex);
      r = d_response;
      d_log.push_back(request);
    }
    ++d_requests;
    if (r.hang) {
      d_hung.push_back(c);
      return;
    }
    std::string out = "HTTP/1.1 " + std::to_string(r.status) +
                      " X\r\nContent-Length: " + std::to_string(r.body.size()) +
                      "\r\nConnection: close\r\n";
    for (const auto& h : r.headers) out += h + "\r\n";
    out += "\r\n" + r.body;
    size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    ::close(c);
  }

  uint16_t d_port = 0;
  int d_fd;
  std::atomic<bool> d_stop{false};
  std::atomic<size_t> d_requests{0};
  mutable std::mutex d_mutex;
  Response d_response;
  std::vector<std::string> d_log;
  std::vector<int> d_hung;  // server thread only, then the destructor
  std::thread d_thread;     // last: starts once everything above is built
};

// Polls pred every 10 ms until it holds or timeout_ms passes; returns its last value.
template <typename Pred>
bool waitFor(Pred pred, int timeout_ms = 3000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace testutil
