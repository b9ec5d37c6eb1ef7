// settings.hh -- what the server needs to know to run: addresses, threads and limits.
#pragma once

#include <cstdint>
#include <vector>

#include "dns/server/address.hh"

namespace rrdns::server {

struct ServerSettings {
  std::vector<ListenAddress> listen;
  unsigned threads = 1;
  uint16_t udp_max_payload = 1232;  // EDNS payload we advertise and the largest UDP answer
  unsigned tcp_idle_timeout_ms = 10000;
  unsigned tcp_max_connections = 1024;  // across all workers
};

}  // namespace rrdns::server
