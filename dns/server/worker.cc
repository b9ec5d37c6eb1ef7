// worker.cc -- a worker's loop, catalog mailbox and shutdown.
#include "dns/server/worker.hh"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "dns/server/tcp_listener.hh"
#include "dns/server/udp_listener.hh"

namespace rrdns::server {

Worker::Worker(unsigned index, const ServerSettings& settings,
               std::atomic<unsigned>& tcp_connections,
               std::shared_ptr<const answer::Catalog> catalog)
    : d_index(index),
      d_settings(settings),
      d_tcp_connections(tcp_connections),
      d_answer_options{settings.udp_max_payload},
      d_catalog(std::move(catalog)),
      d_response(std::make_unique_for_overwrite<uint8_t[]>(kResponseSize)) {
  int rc = uv_loop_init(&d_loop);
  if (rc != 0) throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
  d_loop_open = true;
  // uv_async_init cannot fail on Linux once the loop exists (the loop owns the eventfd).
  uv_async_init(&d_loop, &d_mailbox_async, onMailbox);
  d_mailbox_async.data = this;
  uv_async_init(&d_loop, &d_stop_async, onStop);
  d_stop_async.data = this;
}

Worker::~Worker() {
  if (d_thread.joinable()) {
    stop();
    join();
  }
  closeLoop();
}

std::string Worker::addListeners(Fd udp, Fd tcp, const ListenAddress& address) {
  auto udp_listener = std::make_unique<UdpListener>(*this);
  int rc = udp_listener->open(std::move(udp));
  d_udp.push_back(std::move(udp_listener));
  if (rc != 0) return "cannot listen on " + address.text + " (udp): " + uv_strerror(rc);

  auto tcp_listener = std::make_unique<TcpListener>(*this);
  rc = tcp_listener->open(std::move(tcp));
  d_tcp.push_back(std::move(tcp_listener));
  if (rc != 0) return "cannot listen on " + address.text + " (tcp): " + uv_strerror(rc);
  return {};
}

void Worker::start() {
  d_thread = std::thread([this] { run(); });
}

void Worker::run() {
  std::string name = "rrdns-w" + std::to_string(d_index);
  pthread_setname_np(pthread_self(), name.c_str());  // shows in top -H; failure is harmless
  uv_run(&d_loop, UV_RUN_DEFAULT);
}

void Worker::publish(std::shared_ptr<const answer::Catalog> catalog,
                     std::shared_ptr<const answer::PoolStates> pools) {
  {
    std::lock_guard lock(d_mailbox_mutex);
    d_mailbox_catalog = std::move(catalog);
    d_mailbox_pools = std::move(pools);
    d_mailbox_full = true;
  }
  uv_async_send(&d_mailbox_async);
}

void Worker::onMailbox(uv_async_t* async) {
  auto* self = static_cast<Worker*>(async->data);
  std::shared_ptr<const answer::Catalog> catalog;
  std::shared_ptr<const answer::PoolStates> pools;
  {
    std::lock_guard lock(self->d_mailbox_mutex);
    if (!self->d_mailbox_full) return;
    self->d_mailbox_full = false;
    catalog.swap(self->d_mailbox_catalog);
    pools.swap(self->d_mailbox_pools);
  }
  // Several publishes may coalesce into one callback; the mailbox holds only the newest.
  self->d_catalog.swap(catalog);
  self->d_pools.swap(pools);
  // The locals now hold the old ones; if this was their last user, they are freed here, off the
  // publishing thread and outside the lock.
}

void Worker::stop() { uv_async_send(&d_stop_async); }

void Worker::onStop(uv_async_t* async) {
  auto* self = static_cast<Worker*>(async->data);
  closeAllHandles(self->loop());
}

void Worker::join() {
  if (d_thread.joinable()) d_thread.join();
}

void Worker::close() {
  if (d_closing) return;
  d_closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&d_mailbox_async), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&d_stop_async), nullptr);
}

void Worker::closeLoop() {
  if (!d_loop_open) return;
  // Also covers a worker that never ran (startup failed after its loop was set up).
  closeAllHandles(&d_loop);
  uv_run(&d_loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&d_loop);
  if (rc != 0) spdlog::warn("worker {}: loop did not close cleanly: {}", d_index, uv_strerror(rc));
  d_loop_open = false;
}

}  // namespace rrdns::server
