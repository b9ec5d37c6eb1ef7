// worker.hh -- one query thread: its own libuv loop, its own sockets, its own catalog pointer.
//
// The thread waits in poll() on its UDP sockets and libuv's backend fd (the libuv embedding
// interface: uv_backend_fd/uv_backend_timeout). A datagram is answered straight from that wait;
// the libuv loop turns only when it has work (TCP, the mailbox, a due timer).
// Why: a turn of libuv's loop (timers, idle/prepare/check queues, its own epoll dispatch) costs
// about 300 instructions, which at moderate rates, one query per wakeup, was a quarter of the
// cost of a query. And poll() rather than an epoll set: a socket registered with epoll costs the
// kernel a callback under a lock for every datagram that arrives, busy or not; poll() watches
// the socket only while the thread sleeps, as the do-nothing responder (tools/bench/limit.c)
// does.
#pragma once

#include <spdlog/logger.h>
#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/server/client_connections.hh"
#include "dns/server/counters.hh"
#include "dns/server/rate_limiter.hh"
#include "dns/server/settings.hh"
#include "dns/server/socket.hh"
#include "dns/server/stats.hh"
#include "dns/server/tcp_idle.hh"
#include "dns/uv/handle.hh"

namespace rrdns::server {

class UdpListener;
class TcpListener;

class Worker final : public uv::HandleOwner {
 public:
  // `tcp_connections` is the connection count shared by all workers (for tcp-max-connections),
  // `client_connections` the per-client counts (tcp-max-connections-per-client).
  Worker(unsigned index, const ServerSettings& settings, std::atomic<unsigned>& tcp_connections,
         ClientConnections& client_connections, std::shared_ptr<const answer::Catalog> catalog);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before start(), on the constructing thread: wraps a bound UDP and TCP socket in libuv
  // handles and starts reading/listening. Takes the descriptors. Returns "" or an error.
  std::string addListeners(uv::Fd udp, uv::Fd tcp, const ListenAddress& address);

  // Runs the loop on a new thread.
  void start();

  // Appends the listening sockets as Server::listenFds() lists them (before release()).
  void appendListenFds(std::vector<int>& fds) const {
    fds.insert(fds.end(), d_listen_fds.begin(), d_listen_fds.end());
  }
  // Any thread: closes the listeners (answers queued on UDP go out first), keeps connections.
  void release();

  // Any thread: hands a new catalog and its pool states (null: the catalog's initial ones) to
  // the worker; both are swapped in together at the next loop turn.
  void publish(std::shared_ptr<const answer::Catalog> catalog,
               std::shared_ptr<const answer::PoolStates> pools);

  // Any thread: closes every handle so the loop ends; then join().
  void stop();
  void join();

  // Loop thread only.
  uv_loop_t* loop() { return &d_loop; }
  // Milliseconds on uv_now's clock, read once per wakeup (the UDP path's clock: uv_now is stale
  // while the loop does not turn).
  uint64_t nowMs() const { return d_now_ms; }
  // Whether trace logging is on (the level may change on reload; this is an atomic load).
  bool tracing() const { return d_logger->should_log(spdlog::level::trace); }
  const answer::Catalog& catalog() const { return *d_catalog; }
  // For what outlives one query (a zone transfer) and must keep its catalog alive.
  const std::shared_ptr<const answer::Catalog>& sharedCatalog() const { return d_catalog; }
  const answer::PoolStates* pools() const { return d_pools.get(); }
  const answer::Options& answerOptions() const { return d_answer_options; }
  const ServerSettings& settings() const { return d_settings; }
  std::atomic<unsigned>& tcpConnections() { return d_tcp_connections; }
  ClientConnections& clientConnections() { return d_client_connections; }
  // This worker's TCP connections that owe their client nothing, longest idle first.
  TcpIdleList& tcpIdle() { return d_tcp_idle; }
  // How long a TCP connection may stay idle now: tcp-idle-timeout, shortened as the table across
  // all workers fills (tcpIdleTimeoutMs in tcp_idle.hh). One relaxed load of the shared count.
  uint64_t tcpIdleTimeoutMs() const {
    return server::tcpIdleTimeoutMs(d_settings.tcp_idle_timeout_ms,
                                    d_tcp_connections.load(std::memory_order_relaxed),
                                    d_settings.tcp_max_connections);
  }
  RateLimiter& rateLimiter() { return d_rate_limiter; }
  WorkerCounters& counters() { return d_counters; }
  unsigned index() const { return d_index; }

  // Loop thread only, once per query that reached answer(): counts what it produced. Neither
  // allocates nor locks.
  void countAnswer(const answer::Outcome& outcome) {
    bump(d_counters.qtypes[qtypeBucket(outcome.qtype)]);
    if (outcome.size == 0 && !outcome.transfer_zone) {
      bump(d_counters.dropped);
      return;
    }
    bump(d_counters.responses[rcodeBucket(outcome.rcode)]);
    if (outcome.truncated) bump(d_counters.truncated);
    // The vector always matches d_catalog, which produced the outcome; the bound check only
    // guards against kNoMember.
    if (outcome.first_member < d_member_first.size()) {
      bump(d_member_first[outcome.first_member]);
      // A spill is counted at the member that came first, so it adds up per site as answers do.
      if (outcome.spilled) bump(d_member_spilled[outcome.first_member]);
    }
  }

  // Any thread: adds this worker's live counts to `total`, and its answer-share counts to
  // total.member_first and member_spilled only if they belong to `catalog` (both must already
  // be sized for it). `catalog` must stay alive during the call: its address is its identity.
  void addStats(Stats& total, const answer::Catalog* catalog) const;

  void close() override;  // closes the two async handles (the listeners close themselves)

 private:
  static void onMailbox(uv_async_t* async);
  static void onStop(uv_async_t* async);
  static void onRelease(uv_async_t* async);
  void resetMemberCounters(const answer::Catalog* previous);
  void run();
  void closeLoop();

  const unsigned d_index;
  const ServerSettings& d_settings;
  std::atomic<unsigned>& d_tcp_connections;
  ClientConnections& d_client_connections;
  const answer::Options d_answer_options;
  RateLimiter d_rate_limiter;  // this worker's own table: no lock on the UDP path

  uv_loop_t d_loop;
  uint64_t d_now_ms = 0;
  spdlog::logger* d_logger = nullptr;  // the default logger, set once before the workers start
  uv_async_t d_mailbox_async;
  uv_async_t d_stop_async;
  uv_async_t d_release_async;
  bool d_loop_open = false;
  bool d_closing = false;

  // Read on every query without a lock: only this worker's loop thread touches them.
  std::shared_ptr<const answer::Catalog> d_catalog;
  std::shared_ptr<const answer::PoolStates> d_pools;
  // The hand-over slot from the publishing thread, under d_mailbox_mutex.
  std::mutex d_mailbox_mutex;
  bool d_mailbox_full = false;
  std::shared_ptr<const answer::Catalog> d_mailbox_catalog;
  std::shared_ptr<const answer::PoolStates> d_mailbox_pools;

  std::vector<std::unique_ptr<UdpListener>> d_udp;
  std::vector<std::unique_ptr<TcpListener>> d_tcp;
  std::vector<int> d_listen_fds;  // per address: UDP, TCP (owned by the listeners)
  WorkerCounters d_counters;
  TcpIdleList d_tcp_idle;  // linked through the connections, which leave it before they go
  // Answer share: times each member of d_catalog (ZoneSet::members() order) came first. Written
  // by the loop thread without a lock; the vector itself is replaced only when the catalog
  // changes, under d_member_mutex, which addStats() holds while it reads.
  std::vector<Counter> d_member_first;
  std::vector<Counter> d_member_spilled;  // of those, answers to clients spilled from their site
  const answer::Catalog* d_member_catalog = nullptr;  // what d_member_first counts for
  mutable std::mutex d_member_mutex;
  std::thread d_thread;
};

}  // namespace rrdns::server
