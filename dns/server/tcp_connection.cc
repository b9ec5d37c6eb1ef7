// tcp_connection.cc -- the TCP query path: frames in, answers appended, one write in flight.
#include "dns/server/tcp_connection.hh"

#include <spdlog/spdlog.h>

#include <cstring>
#include <utility>

#include "dns/answer/transfer.hh"
#include "dns/base/bytes.hh"
#include "dns/server/address.hh"
#include "dns/server/worker.hh"
#include "dns/wire/name.hh"
#include "dns/wire/query.hh"

namespace rrdns::server {

TcpConnection::TcpConnection(Worker& worker)
    : d_worker(worker),
      d_idle(worker.tcpIdle()),
      d_client_slot(ClientConnections::kNoSlot),
      d_input(std::make_unique_for_overwrite<uint8_t[]>(kMaxFrame)),
      d_pending{std::make_unique_for_overwrite<uint8_t[]>(kOutputCapacity), 0},
      d_inflight{std::make_unique_for_overwrite<uint8_t[]>(kOutputCapacity), 0} {}

TcpConnection::~TcpConnection() {
  d_idle.remove(*this);  // close() did already; kept for any other way here
  if (d_transfer)
    spdlog::info("zone transfer of {} abandoned: the connection closed", describeTransfer());
  d_worker.clientConnections().release(d_client_slot);
}

bool TcpConnection::accept(Worker& worker, uv_stream_t* server, bool make_room) {
  auto* self = new TcpConnection(worker);
  int rc = self->acceptInto(worker.loop(), server, &self->d_tcp, &self->d_timer);
  if (rc != 0) {
    spdlog::debug("tcp accept: {}", uv_strerror(rc));
    self->close();
    return false;
  }
  sockaddr_storage& peer = self->d_peer;
  int length = sizeof peer;
  const bool have_peer =
      uv_tcp_getpeername(&self->d_tcp, reinterpret_cast<sockaddr*>(&peer), &length) == 0;
  if (!have_peer) peer.ss_family = AF_UNSPEC;
  if (have_peer) {
    bool refused = false;
    self->d_client_slot =
        worker.clientConnections().acquire(reinterpret_cast<const sockaddr*>(&peer), refused);
    if (refused) {
      if (spdlog::should_log(spdlog::level::debug))
        spdlog::debug("tcp connection from {} refused: tcp-max-connections-per-client ({}) reached",
                      formatAddress(reinterpret_cast<const sockaddr*>(&peer)),
                      worker.clientConnections().limit());
      self->close();
      return false;
    }
  }
  if (make_room) evictLongestIdle(worker);
  // Answers are small and written whole; Nagle would hold back the second of two pipelined
  // answers until the client acknowledges the first.
  uv_tcp_nodelay(&self->d_tcp, 1);
  // The transfer ACL is decided once per connection; with no list (the default) there is
  // nothing to look up.
  if (have_peer) {
    for (const auto& prefix : worker.settings().allow_transfer)
      if (prefix.contains(reinterpret_cast<const sockaddr*>(&peer)))
        self->d_transfer_allowed = true;
  }
  self->restartIdleTimer();
  self->updateIdle();  // a new connection owes nothing yet: the newest idle one
  self->updateReading();
  return true;
}

void TcpConnection::close() {
  if (d_closing) return;
  d_idle.remove(*this);
  // The slot is free now: uv_close closes a TCP socket at once, only the callbacks come later.
  // Given back here rather than in the destructor, so that a connection closed to make room
  // makes room before the next accept looks at the count.
  d_worker.tcpConnections().fetch_sub(1, std::memory_order_relaxed);
  StreamSession::close();
}

// RFC 7766 6.2.3: under connection pressure the server may close the connection idle longest.
// Only this worker's own: every connection belongs to one loop thread, and this needs no lock.
void TcpConnection::evictLongestIdle(Worker& worker) {
  TcpIdleLink* oldest = worker.tcpIdle().front();
  if (oldest == nullptr) return;
  auto* victim = static_cast<TcpConnection*>(oldest);
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("tcp connection from {} closed after {} ms idle: tcp-max-connections ({}) "
                  "reached, making room for a new one",
                  victim->peerText(), uv_now(worker.loop()) - victim->idle_since_ms,
                  worker.settings().tcp_max_connections);
  bump(worker.counters().tcp_evicted);
  victim->close();
}

void TcpConnection::closeExpired(Worker& worker, unsigned limit) {
  const uint64_t now = uv_now(worker.loop());
  for (unsigned i = 0; i < limit; ++i) {
    TcpIdleLink* oldest = worker.tcpIdle().front();
    if (oldest == nullptr) return;
    const uint64_t timeout = worker.tcpIdleTimeoutMs();
    if (now < oldest->idle_since_ms || now - oldest->idle_since_ms < timeout) return;
    auto* expired = static_cast<TcpConnection*>(oldest);
    spdlog::debug("tcp connection idle for {} ms: closing (the idle timeout is {} ms while "
                  "the table fills)", now - oldest->idle_since_ms, timeout);
    expired->close();
  }
}

void TcpConnection::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(handle->data);
  // updateReading() only reads while there is room, so this is never empty; if it were, libuv
  // would report UV_ENOBUFS and onRead closes the connection.
  *buf = uv_buf_init(reinterpret_cast<char*>(self->d_input.get() + self->d_input_size),
                     static_cast<unsigned>(kMaxFrame - self->d_input_size));
}

void TcpConnection::received(std::string_view data) {
  d_input_size += data.size();  // onAlloc had it read in place, behind what was there
  answerFrames();
}

void TcpConnection::peerDone() {
  answerFrames();  // an incomplete last frame is dropped
  if (drained()) close();
}

void TcpConnection::readFailed(int error) { spdlog::debug("tcp read: {}", uv_strerror(error)); }

void TcpConnection::answerFrames() {
  continueTransfer();
  size_t pos = 0;
  // RFC 7766 6.2.1.1: pipelined queries are all answered; stop only at the high-water mark, or
  // behind a transfer until it ends.
  while (!d_transfer && d_pending.size <= kHighWater && !d_closing) {
    size_t available = d_input_size - pos;
    if (available < 2) break;
    size_t length = load16(&d_input[pos]);
    if (available - 2 < length) break;
    answerFrame({&d_input[pos + 2], length});
    pos += 2 + length;
  }
  if (pos > 0) {
    // Only the tail of an incomplete frame (or frames held back) moves, once per read.
    std::memmove(d_input.get(), d_input.get() + pos, d_input_size - pos);
    d_input_size -= pos;
  }
  flush();
  updateReading();
  updateIdle();
}

void TcpConnection::answerFrame(std::span<const uint8_t> query) {
  WorkerCounters& counters = d_worker.counters();
  bump(counters.tcp_queries);
  // Answer straight into the output buffer, behind room for the length prefix. The high-water
  // check in answerFrames() leaves at least kMaxFrame bytes free here.
  uint8_t* frame = d_pending.data.get() + d_pending.size;
  std::span<uint8_t> out(frame + 2, kMaxFrame - 2);
  answer::Outcome outcome;
  try {
    const answer::Request request{query, answer::Transport::Tcp, peer(), d_transfer_allowed};
    outcome = answer::answer(d_worker.catalog(), d_worker.pools(), request, out,
                             d_worker.answerOptions());
    d_worker.countAnswer(outcome);
    if (spdlog::should_log(spdlog::level::trace))
      spdlog::trace("tcp {}: {} byte query, {} byte answer, rcode {}", peerText(), query.size(),
                    outcome.size, outcome.rcode);
  } catch (const std::exception& e) {
    bump(counters.errors);  // lose this query, keep the connection and the loop
    spdlog::debug("tcp query: {}", e.what());
    return;
  } catch (...) {
    bump(counters.errors);
    return;
  }
  if (outcome.transfer_zone) return startTransfer(outcome, query);
  if (outcome.size == 0 || outcome.size > out.size()) return;
  store16(frame, static_cast<uint16_t>(outcome.size));
  d_pending.size += 2 + outcome.size;
}

void TcpConnection::startTransfer(const answer::Outcome& outcome, std::span<const uint8_t> query) {
  try {
    wire::Query q;
    wire::parseQuery(query, q);  // answer() already accepted it
    d_transfer = std::make_unique<answer::Transfer>(d_worker.sharedCatalog(),
                                                    *outcome.transfer_zone, q);
  } catch (const std::exception& e) {
    bump(d_worker.counters().errors);
    spdlog::warn("zone transfer: {}", e.what());
    return;
  }
  spdlog::info("zone transfer of {} (serial {}) to {} started", describeTransfer(),
               d_transfer->zone().serial(), peerText());
  continueTransfer();
}

// Fills the output only up to the high-water mark (one full message at most beyond it): a big
// zone goes out over many loop turns, as the client reads, and other connections are served in
// between.
void TcpConnection::continueTransfer() {
  while (d_transfer && d_pending.size <= kHighWater && !d_closing) {
    uint8_t* frame = d_pending.data.get() + d_pending.size;
    size_t size = 0;
    bool more = false;
    try {
      more = d_transfer->next({frame + 2, kMaxFrame - 2}, size);
    } catch (const std::exception& e) {
      bump(d_worker.counters().errors);
      spdlog::warn("zone transfer of {} to {}: {}", describeTransfer(), peerText(), e.what());
      close();  // a partial transfer must not look complete to the client
      return;
    }
    if (!more) {
      spdlog::info("zone transfer of {} to {} done: {} records in {} messages",
                   describeTransfer(), peerText(), d_transfer->recordsSent() + 2,
                   d_transfer->messagesSent());
      d_transfer.reset();
      return;
    }
    store16(frame, static_cast<uint16_t>(size));
    d_pending.size += 2 + size;
  }
}

std::string TcpConnection::describeTransfer() const {
  return d_transfer ? wire::nameToText(d_transfer->zone().apex()) : std::string("?");
}

std::string TcpConnection::peerText() const {
  if (d_peer.ss_family == AF_UNSPEC) return "(unknown peer)";
  return formatAddress(peer());
}

void TcpConnection::flush() {
  if (d_writing || d_closing || d_pending.size == 0) return;
  std::swap(d_pending, d_inflight);
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(d_inflight.data.get()),
                             static_cast<unsigned>(d_inflight.size));
  d_write.data = this;
  int rc = write(&d_write, buf);
  if (rc != 0) {
    spdlog::debug("tcp write: {}", uv_strerror(rc));
    close();
    return;
  }
  d_writing = true;
}

void TcpConnection::onWritten(uv_write_t* request, int status) {
  auto* self = static_cast<TcpConnection*>(request->data);
  self->d_writing = false;
  self->d_inflight.size = 0;
  if (self->d_closing) return;
  if (status < 0) {
    spdlog::debug("tcp write: {}", uv_strerror(status));
    self->close();
    return;
  }
  self->restartIdleTimer();  // the client is reading: that is progress too
  self->answerFrames();      // frames held back at the high-water mark, and the next flush
  if (self->d_peer_done && self->drained()) self->close();
}

void TcpConnection::updateReading() {
  setReading(!d_peer_done && d_pending.size <= kHighWater && d_input_size < kMaxFrame);
}

// The configured timeout: the shorter one a filling table allows is enforced by closeExpired(),
// oldest first, so the query path pays nothing for it.
void TcpConnection::restartIdleTimer() { restartTimer(d_worker.settings().tcp_idle_timeout_ms); }

void TcpConnection::onIdle(uv_timer_t* timer) {
  auto* self = static_cast<TcpConnection*>(timer->data);
  spdlog::debug("tcp connection idle for {} ms: closing",
                self->d_worker.settings().tcp_idle_timeout_ms);
  self->close();
}

}  // namespace rrdns::server
