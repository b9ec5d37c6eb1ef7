// counters.hh -- per-worker event counts; plain integers, each touched by its own worker only.
#pragma once

#include <cstdint>

namespace rrdns::server {

struct WorkerCounters {
  uint64_t udp_queries = 0;
  uint64_t udp_deferred = 0;  // answers that went through the queued uv_udp_send path
  uint64_t udp_dropped = 0;   // answers not sent: send error, or send queue full
  uint64_t tcp_queries = 0;
  uint64_t tcp_accepted = 0;
  uint64_t tcp_rejected = 0;  // over tcp-max-connections
  uint64_t errors = 0;        // exceptions caught at the packet boundary

  WorkerCounters& operator+=(const WorkerCounters& o) {
    udp_queries += o.udp_queries;
    udp_deferred += o.udp_deferred;
    udp_dropped += o.udp_dropped;
    tcp_queries += o.tcp_queries;
    tcp_accepted += o.tcp_accepted;
    tcp_rejected += o.tcp_rejected;
    errors += o.errors;
    return *this;
  }
};

}  // namespace rrdns::server
