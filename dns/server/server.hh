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
#include "dns/uv/fd.hh"

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
  // The same on sockets handed over by the rrdnsd being replaced (rrdnsctl replace) instead of
  // new ones: `sockets` is what that daemon's listenFds() listed, in that order. Fails, saying
  // what differs, when they do not match `settings` (threads, listen addresses, kinds).
  static std::unique_ptr<Server> adopt(ServerSettings settings,
                                       std::shared_ptr<const answer::Catalog> catalog,
                                       std::vector<uv::Fd> sockets, std::string& error);
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

  // The listening sockets, for handing over: for each worker in turn, for each listen address in
  // settings order, its UDP then its TCP socket. Valid until release() or stop().
  std::vector<int> listenFds() const;
  // Any thread, after start(): stops reading the listening sockets (this process's copies close;
  // the daemon that took them over goes on). Connections already accepted are answered as usual
  // and end as usual (the client closes, or the idle timeout); tcpConnections() counts them.
  void release();
  unsigned tcpConnections() const { return d_tcp_connections.load(std::memory_order_relaxed); }

  const ServerSettings& settings() const { return d_settings; }

  // Any thread, while running or after stop(): the workers' live counts, summed. Each count is
  // read atomically but not all at one instant, so sums across fields may be off by the queries
  // in flight. member_first and member_spilled are sized for `catalog` (empty when null) and
  // sum only the workers that have swapped it in: index i is catalog->zones->members()[i]. The
  // caller keeps `catalog` alive during the call. Allocates; takes each worker's member-counter
  // lock briefly.
  Stats stats(const answer::Catalog* catalog = nullptr) const;

 private:
  explicit Server(ServerSettings settings);
  static std::unique_ptr<Server> build(ServerSettings settings,
                                       std::shared_ptr<const answer::Catalog> catalog,
                                       std::vector<uv::Fd> sockets, std::string& error);

  ServerSettings d_settings;
  std::atomic<unsigned> d_tcp_connections{0};
  ClientConnections d_client_connections;
  std::vector<std::unique_ptr<Worker>> d_workers;
  bool d_running = false;
  bool d_stopped = false;
  bool d_released = false;
};

}  // namespace rrdns::server
