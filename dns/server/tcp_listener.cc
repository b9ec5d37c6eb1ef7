// tcp_listener.cc -- accepting, and enforcing tcp-max-connections across all workers: a full
// table makes room by closing an idle connection.
#include "dns/server/tcp_listener.hh"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <new>

#include "dns/server/tcp_connection.hh"
#include "dns/server/worker.hh"

namespace rrdns::server {

namespace {

constexpr unsigned kExpiredPerAccept = 4;

// A connection over the limit: accepted only to be closed at once.
struct Rejected final : uv::HandleOwner {
  uv_tcp_t handle;
  void close() override {}  // already closing from birth
};

}  // namespace

TcpListener::TcpListener(Worker& worker) : d_worker(worker) {}

int TcpListener::open(uv::Fd fd) {
  int rc = uv_tcp_init(d_worker.loop(), &d_handle);
  if (rc != 0) return rc;
  d_initialised = true;
  d_handle.data = this;
  rc = uv_tcp_open(&d_handle, fd.get());
  if (rc != 0) return rc;
  fd.release();
  return uv_listen(reinterpret_cast<uv_stream_t*>(&d_handle), SOMAXCONN, onConnection);
}

void TcpListener::close() {
  if (d_closing || !d_initialised) return;
  d_closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&d_handle), nullptr);
}

void TcpListener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpListener*>(server->data);
  if (status < 0) {
    spdlog::debug("tcp accept error: {}", uv_strerror(status));
    return;
  }
  Worker& worker = self->d_worker;
  // As the table fills, idle connections get less time (tcp_idle.hh); the ones idle longest
  // go first, here, so that the table seldom reaches full. A few per accept keeps this cheap;
  // the rest go at later accepts or on their own timers (tcp-idle-timeout). Only accepts fill
  // the table, so only they need to look.
  TcpConnection::closeExpired(worker, kExpiredPerAccept);
  // Every pending connection must be uv_accept()ed here: libuv stops watching a listener whose
  // connection callback leaves one behind. Hence reject() rather than ignoring it.
  std::atomic<unsigned>& count = worker.tcpConnections();
  const bool full =
      count.fetch_add(1, std::memory_order_relaxed) >= worker.settings().tcp_max_connections;
  // A full table makes room by closing this worker's connection idle longest (RFC 7766 6.2.3):
  // one that owes its client nothing, so no answer is lost. The count is over the limit by one
  // only until that close, inside TcpConnection::accept. A worker with no idle connection turns
  // the client away, as before; docs/hardening.md says why that leaves TCP available.
  if (full && worker.tcpIdle().empty()) {
    count.fetch_sub(1, std::memory_order_relaxed);
    self->reject();
    return;
  }
  try {
    // Gives the count back when it closes, also when it turns the client away at once.
    if (TcpConnection::accept(worker, server, full))
      ++worker.counters().tcp_accepted;
    else
      ++worker.counters().tcp_rejected;
  } catch (const std::exception& e) {  // only allocation can fail, before the accept
    count.fetch_sub(1, std::memory_order_relaxed);
    ++worker.counters().errors;
    spdlog::warn("tcp accept: {}", e.what());
    self->reject();
  }
}

void TcpListener::reject() {
  ++d_worker.counters().tcp_rejected;
  auto* rejected = new (std::nothrow) Rejected;
  if (rejected == nullptr) return;
  uv_tcp_init(d_worker.loop(), &rejected->handle);
  rejected->handle.data = rejected;
  uv_accept(reinterpret_cast<uv_stream_t*>(&d_handle),
            reinterpret_cast<uv_stream_t*>(&rejected->handle));
  uv_close(reinterpret_cast<uv_handle_t*>(&rejected->handle),
           [](uv_handle_t* handle) { delete static_cast<Rejected*>(handle->data); });
}

}  // namespace rrdns::server
