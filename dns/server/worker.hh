// worker.hh -- one query thread: its own libuv loop, its own sockets, its own catalog pointer.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/server/counters.hh"
#include "dns/server/handle.hh"
#include "dns/server/settings.hh"
#include "dns/server/socket.hh"

namespace rrdns::server {

class UdpListener;
class TcpListener;

class Worker final : public HandleOwner {
 public:
  // `tcp_connections` is the connection count shared by all workers (for tcp-max-connections).
  Worker(unsigned index, const ServerSettings& settings, std::atomic<unsigned>& tcp_connections,
         std::shared_ptr<const answer::Catalog> catalog);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before start(), on the constructing thread: wraps a bound UDP and TCP socket in libuv
  // handles and starts reading/listening. Takes the descriptors. Returns "" or an error.
  std::string addListeners(Fd udp, Fd tcp, const ListenAddress& address);

  // Runs the loop on a new thread.
  void start();

  // Any thread: hands a new catalog and its pool states (null: the catalog's initial ones) to
  // the worker; both are swapped in together at the next loop turn.
  void publish(std::shared_ptr<const answer::Catalog> catalog,
               std::shared_ptr<const answer::PoolStates> pools);

  // Any thread: closes every handle so the loop ends; then join().
  void stop();
  void join();

  // Loop thread only.
  uv_loop_t* loop() { return &d_loop; }
  const answer::Catalog& catalog() const { return *d_catalog; }
  const answer::PoolStates* pools() const { return d_pools.get(); }
  const answer::Options& answerOptions() const { return d_answer_options; }
  const ServerSettings& settings() const { return d_settings; }
  std::span<uint8_t> responseBuffer() { return {d_response.get(), kResponseSize}; }
  std::atomic<unsigned>& tcpConnections() { return d_tcp_connections; }
  WorkerCounters& counters() { return d_counters; }
  const WorkerCounters& counters() const { return d_counters; }  // after join()
  unsigned index() const { return d_index; }

  void close() override;  // closes the two async handles (the listeners close themselves)

  static constexpr size_t kResponseSize = 65535;  // answer() needs room for a full message

 private:
  static void onMailbox(uv_async_t* async);
  static void onStop(uv_async_t* async);
  void run();
  void closeLoop();

  const unsigned d_index;
  const ServerSettings& d_settings;
  std::atomic<unsigned>& d_tcp_connections;
  const answer::Options d_answer_options;

  uv_loop_t d_loop;
  uv_async_t d_mailbox_async;
  uv_async_t d_stop_async;
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

  std::unique_ptr<uint8_t[]> d_response;
  std::vector<std::unique_ptr<UdpListener>> d_udp;
  std::vector<std::unique_ptr<TcpListener>> d_tcp;
  WorkerCounters d_counters;
  std::thread d_thread;
};

}  // namespace rrdns::server
