// server.cc -- creating the workers and their sockets, fanning out publish and stop.
#include "dns/server/server.hh"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "dns/server/socket.hh"
#include "dns/server/worker.hh"

namespace rrdns::server {

Server::Server(ServerSettings settings)
    : d_settings(std::move(settings)),
      d_client_connections(d_settings.tcp_max_connections_per_client) {}

Server::~Server() { stop(); }

std::unique_ptr<Server> Server::create(ServerSettings settings,
                                       std::shared_ptr<const answer::Catalog> catalog,
                                       std::string& error) {
  const ServerSettings& s = settings;
  if (s.threads == 0 || s.listen.empty()) {
    error = "no threads or no listen address";
    return nullptr;
  }
  for (const ListenAddress& address : s.listen) {
    error = probeAddress(address);
    if (!error.empty()) return nullptr;
  }
  std::vector<uv::Fd> sockets;
  for (unsigned i = 0; i < s.threads; ++i) {
    for (const ListenAddress& address : s.listen) {
      sockets.push_back(openUdpSocket(address, error));
      if (!sockets.back().valid()) return nullptr;
      sockets.push_back(openTcpSocket(address, error));
      if (!sockets.back().valid()) return nullptr;
    }
  }
  return build(std::move(settings), std::move(catalog), std::move(sockets), error);
}

std::unique_ptr<Server> Server::adopt(ServerSettings settings,
                                      std::shared_ptr<const answer::Catalog> catalog,
                                      std::vector<uv::Fd> sockets, std::string& error) {
  const size_t expected = size_t{settings.threads} * settings.listen.size() * 2;
  if (expected == 0) {
    error = "no threads or no listen address";
    return nullptr;
  }
  if (sockets.size() != expected) {
    error = "the running rrdnsd handed over " + std::to_string(sockets.size()) +
            " sockets; threads = " + std::to_string(settings.threads) + " and " +
            std::to_string(settings.listen.size()) + " listen addresses need " +
            std::to_string(expected);
    return nullptr;
  }
  for (size_t i = 0; i < sockets.size(); ++i) {
    const ListenAddress& address = settings.listen[(i / 2) % settings.listen.size()];
    error = checkHandedOverSocket(sockets[i].get(), i % 2 == 0 ? SOCK_DGRAM : SOCK_STREAM,
                                  address);
    if (!error.empty()) return nullptr;
  }
  return build(std::move(settings), std::move(catalog), std::move(sockets), error);
}

// `sockets` in listenFds() order: worker-major, then address, UDP before TCP.
std::unique_ptr<Server> Server::build(ServerSettings settings,
                                      std::shared_ptr<const answer::Catalog> catalog,
                                      std::vector<uv::Fd> sockets, std::string& error) {
  std::unique_ptr<Server> server(new Server(std::move(settings)));
  const ServerSettings& s = server->d_settings;
  if (s.threads == 0 || s.listen.empty()) {
    error = "no threads or no listen address";
    return nullptr;
  }
  size_t next = 0;
  for (unsigned i = 0; i < s.threads; ++i) {
    server->d_workers.push_back(
        std::make_unique<Worker>(i, server->d_settings, server->d_tcp_connections,
                                 server->d_client_connections, catalog));
    Worker& worker = *server->d_workers.back();
    for (const ListenAddress& address : s.listen) {
      uv::Fd udp = std::move(sockets.at(next++));
      uv::Fd tcp = std::move(sockets.at(next++));
      error = worker.addListeners(std::move(udp), std::move(tcp), address);
      if (!error.empty()) return nullptr;
    }
  }
  spdlog::info("tcp: at most {} connections ({} per client), idle timeout {} ms, shortened as "
               "the table fills past half",
               s.tcp_max_connections, s.tcp_max_connections_per_client, s.tcp_idle_timeout_ms);
  return server;
}

std::vector<int> Server::listenFds() const {
  std::vector<int> fds;
  for (const auto& worker : d_workers) worker->appendListenFds(fds);
  return fds;
}

void Server::release() {
  if (!d_running || d_released) return;
  d_released = true;
  for (auto& worker : d_workers) worker->release();
}

void Server::start() {
  if (d_running) return;
  d_running = true;
  for (auto& worker : d_workers) worker->start();
}

void Server::publish(std::shared_ptr<const answer::Catalog> catalog,
                     std::shared_ptr<const answer::PoolStates> pools) {
  if (d_stopped) return;  // the workers' mailboxes are closed
  for (auto& worker : d_workers) worker->publish(catalog, pools);
}

void Server::stop() {
  if (!d_running) return;
  d_running = false;
  d_stopped = true;
  for (auto& worker : d_workers) worker->stop();
  for (auto& worker : d_workers) worker->join();
}

Stats Server::stats(const answer::Catalog* catalog) const {
  Stats total;
  if (catalog != nullptr && catalog->zones) {
    total.member_first.assign(catalog->zones->members().size(), 0);
    total.member_spilled.assign(catalog->zones->members().size(), 0);
  }
  // d_workers is fixed once create() returns, so reading it from any thread is safe.
  for (const auto& worker : d_workers) worker->addStats(total, catalog);
  return total;
}

}  // namespace rrdns::server
