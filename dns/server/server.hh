// server.hh -- the query workers as a whole: binding, starting, publishing catalogs, stopping.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/server/client_connections.hh"
#include "dns/server/settings.hh"
#include "dns/server/stats.hh"

namespace rrdns::server {

class Worker;

class Server {
 public:
  // Binds every socket (settings.threads of each kind per address) and prepares the workers;
  // nothing answers until start(). Returns null and sets `error` ("cannot bind
  // 127.0.0.1:53 (udp): Address already in use") when any address cannot be used.
  static std::unique_ptr<Server> create(ServerSettings settings,
                                        std::shared_ptr<const answer::Catalog> catalog,
                                        std::string& error);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();

  // Hands `catalog` and the pool states computed for it (may be null: its initial states) to
  // every worker. Each swaps both in at once on its own loop; a query already being answered
  // finishes with what it started with. Call from one thread at a time.
  void publish(std::shared_ptr<const answer::Catalog> catalog,
               std::shared_ptr<const answer::PoolStates> pools);

  // Closes every socket and connection, joins the threads. Idempotent.
  void stop();

  const ServerSettings& settings() const { return d_settings; }

  // Any thread, while running or after stop(): the workers' live counts, summed. Each count is
  // read atomically but not all at one instant, so sums across fields may be off by the queries
  // in flight. member_first is sized for `catalog` (empty when null) and sums only the workers
  // that have swapped it in: index i is catalog->zones->members()[i]. The caller keeps
  // `catalog` alive during the call. Allocates; takes each worker's member-counter lock briefly.
  Stats stats(const answer::Catalog* catalog = nullptr) const;

 private:
  explicit Server(ServerSettings settings);

  ServerSettings d_settings;
  std::atomic<unsigned> d_tcp_connections{0};
  ClientConnections d_client_connections;
  std::vector<std::unique_ptr<Worker>> d_workers;
  bool d_running = false;
  bool d_stopped = false;
};

}  // namespace rrdns::server
