// tcp_probe.cc -- TCP connect probes on libuv: up when the handshake completes in time.
#include "dns/health/tcp_probe.hh"

#include <sys/socket.h>

#include <string>
#include <vector>

namespace rrdns::health {

struct TcpProber::Attempt {
  TcpProber* owner;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t connect;
  ProbeDone done;
  std::chrono::steady_clock::time_point started;
  int open_handles = 0;
  bool finished = false;  // result delivered or cancelled: later callbacks are only teardown
};

namespace {

std::string reasonFor(int status) {
  switch (status) {
    case UV_ECONNREFUSED:
      return "connection refused";
    case UV_ETIMEDOUT:
      return "timeout";
    default:
      return uv_strerror(status);
  }
}

ProbeResult failure(std::string reason, uint32_t latency_us = 0) {
  ProbeResult r;
  r.reason = std::move(reason);
  r.latency_us = latency_us;
  return r;
}

}  // namespace

void TcpProber::probe(const CheckSpec& spec, ProbeDone done) {
  if (d_shutdown) return;
  sockaddr_storage addr{};
  if (uv_ip4_addr(spec.address.c_str(), spec.port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(spec.address.c_str(), spec.port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    done(failure("invalid address '" + spec.address + "'"));
    return;
  }
  auto* a = new Attempt{};
  a->owner = this;
  a->done = std::move(done);
  a->started = std::chrono::steady_clock::now();
  if (int rc = uv_tcp_init(d_loop, &a->tcp); rc < 0) {
    ProbeDone cb = std::move(a->done);
    delete a;
    cb(failure(uv_strerror(rc)));
    return;
  }
  a->tcp.data = a;
  uv_timer_init(d_loop, &a->timer);
  a->timer.data = a;
  a->open_handles = 2;
  a->connect.data = a;
  d_attempts.insert(a);
  if (int rc =
          uv_tcp_connect(&a->connect, &a->tcp, reinterpret_cast<const sockaddr*>(&addr), onConnect);
      rc < 0) {
    finish(a, failure(reasonFor(rc)));
    return;
  }
  uv_timer_start(&a->timer, onTimeout, spec.timeout_ms ? spec.timeout_ms : 1, 0);
}

void TcpProber::onConnect(uv_connect_t* req, int status) {
  auto* a = static_cast<Attempt*>(req->data);
  if (a->finished) return;  // UV_ECANCELED after a timeout or shutdown closed the socket
  const uint32_t latency = elapsedUs(a->started);
  if (status == 0) {
    ProbeResult r;
    r.ok = true;
    r.reason = "ok";
    r.latency_us = latency;
    a->owner->finish(a, std::move(r));
  } else {
    a->owner->finish(a, failure(reasonFor(status), latency));
  }
}

void TcpProber::onTimeout(uv_timer_t* timer) {
  auto* a = static_cast<Attempt*>(timer->data);
  a->owner->finish(a, failure("timeout", elapsedUs(a->started)));
}

void TcpProber::finish(Attempt* a, ProbeResult result) {
  ProbeDone done = std::move(a->done);
  close(a);
  done(std::move(result));  // a is only freed by the close callbacks, after this returns
}

void TcpProber::close(Attempt* a) {
  a->finished = true;
  d_attempts.erase(a);
  uv_close(reinterpret_cast<uv_handle_t*>(&a->tcp), onClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&a->timer), onClosed);
}

void TcpProber::onClosed(uv_handle_t* handle) {
  auto* a = static_cast<Attempt*>(handle->data);
  if (--a->open_handles == 0) delete a;
}

void TcpProber::shutdown() {
  d_shutdown = true;
  for (Attempt* a : std::vector<Attempt*>(d_attempts.begin(), d_attempts.end())) close(a);
}

}  // namespace rrdns::health
