// tcp_probe.hh -- TCP connect probes on libuv: up when the handshake completes in time.
#pragma once

#include <uv.h>

#include <unordered_set>

#include "dns/health/probe.hh"

namespace rrdns::health {

// Loop thread only. Each probe owns a uv_tcp_t and a uv_timer_t, freed when both have closed.
class TcpProber {
 public:
  explicit TcpProber(uv_loop_t* loop) : d_loop(loop) {}
  TcpProber(const TcpProber&) = delete;
  TcpProber& operator=(const TcpProber&) = delete;

  // Connects to spec.address:spec.port and closes the connection at once. A connect that fails
  // synchronously (bad address, unreachable network) calls done before probe() returns.
  void probe(const CheckSpec& spec, ProbeDone done);
  // Cancels the probes in flight; their done is never called. Idempotent.
  void shutdown();
  size_t inFlight() const { return d_attempts.size(); }

 private:
  struct Attempt;

  static void onConnect(uv_connect_t* req, int status);
  static void onTimeout(uv_timer_t* timer);
  static void onClosed(uv_handle_t* handle);

  void finish(Attempt* attempt, ProbeResult result);
  void close(Attempt* attempt);

  uv_loop_t* d_loop;
  bool d_shutdown = false;
  std::unordered_set<Attempt*> d_attempts;  // not yet finished
};

}  // namespace rrdns::health
