// udp_listener.cc -- the UDP query path: recvmmsg, answer(), sendmmsg; no allocation, no lock.
#include "dns/server/udp_listener.hh"

#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dns/server/address.hh"
#include "dns/server/worker.hh"

namespace rrdns::server {

UdpListener::UdpListener(Worker& worker)
    : d_worker(worker),
      d_in(std::make_unique_for_overwrite<uint8_t[]>(kBatch * kDatagramSlot)),
      d_out(std::make_unique_for_overwrite<uint8_t[]>(kBatch * kMaxAnswer)),
      d_pending(std::make_unique_for_overwrite<Pending[]>(kMaxPending)) {
  for (size_t i = 0; i < kBatch; ++i) {
    d_rx_iov[i] = {d_in.get() + i * kDatagramSlot, kDatagramSlot};
    d_rx[i] = {};
    d_rx[i].msg_hdr.msg_name = &d_peers[i];
    d_rx[i].msg_hdr.msg_namelen = sizeof d_peers[i];
    d_rx[i].msg_hdr.msg_iov = &d_rx_iov[i];
    d_rx[i].msg_hdr.msg_iovlen = 1;
    d_tx[i] = {};
    d_tx[i].msg_hdr.msg_iov = &d_tx_iov[i];
    d_tx[i].msg_hdr.msg_iovlen = 1;
  }
}

UdpListener::~UdpListener() = default;

// The query path does its own recvmmsg and sendmmsg rather than use uv_udp_t: libuv 1.44 sends
// one datagram per call (uv_udp_try_send) and its recvmmsg path sets up 20 headers on every read;
// here a batch is received and answered with one call each way, and a lone query costs one
// recvmmsg and one sendmmsg. The socket's readability is watched by the worker's own wait
// (worker.hh); the poll handle here watches writability only, while answers are pending.
int UdpListener::open(uv::Fd fd) {
  d_fd = std::move(fd);
  int rc = uv_poll_init_socket(d_worker.loop(), &d_poll, d_fd.get());
  if (rc != 0) return rc;  // d_fd closes the socket
  d_initialised = true;
  d_poll.data = this;
  return 0;
}

void UdpListener::close() {
  if (d_closing || !d_initialised) return;
  d_closing = true;
  // A poll handle leaves the socket open; d_fd closes it when the worker frees the listener,
  // after its loop has ended. The listener outlives the loop, so no close callback.
  uv_close(reinterpret_cast<uv_handle_t*>(&d_poll), nullptr);
}

void UdpListener::release() {
  if (d_closing || !d_initialised) return;
  if (d_pending_count > 0) flushPending();
  if (d_pending_count > 0)
    spdlog::debug("udp: {} answers still waiting for the socket buffer at hand-over, dropped",
                  d_pending_count);
  close();
}

void UdpListener::onPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<UdpListener*>(handle->data);
  if (status < 0) {
    spdlog::debug("udp poll error: {}", uv_strerror(status));
    return;
  }
  if (events & UV_WRITABLE) self->flushPending();
}

void UdpListener::receive() {
  if (d_closing) return;
  WorkerCounters& counters = d_worker.counters();
  for (int batch = 0; batch < kMaxBatchesPerWakeup; ++batch) {
    // Raw system calls: glibc's wrappers add cancellation-point bookkeeping, and no thread here
    // is ever cancelled.
    const int n = static_cast<int>(::syscall(SYS_recvmmsg, d_fd.get(), d_rx, kBatch, 0, nullptr));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)  // e.g. ICMP feedback; the socket stays usable
        spdlog::debug("udp receive error: {}", std::strerror(errno));
      return;
    }
    const bool trace = d_worker.tracing();
    size_t replies = 0;
    for (int i = 0; i < n; ++i) {
      msghdr& h = d_rx[i].msg_hdr;
      const socklen_t peer_size = h.msg_namelen;
      h.msg_namelen = sizeof d_peers[i];  // for the next recvmmsg
      if (h.msg_flags & MSG_TRUNC) {
        bump(counters.udp_dropped);  // bigger than 64 KiB: not a DNS query
        continue;
      }
      uint8_t* out = d_out.get() + replies * kMaxAnswer;
      const size_t size = answerDatagram({d_in.get() + i * kDatagramSlot, d_rx[i].msg_len},
                                         reinterpret_cast<const sockaddr*>(&d_peers[i]), out,
                                         trace);
      if (size == 0) continue;
      d_tx_iov[replies] = {out, size};
      d_tx[replies].msg_hdr.msg_name = &d_peers[i];
      d_tx[replies].msg_hdr.msg_namelen = peer_size;
      ++replies;
    }
    send(replies);
    if (static_cast<size_t>(n) < kBatch) return;  // the socket is empty (or nearly: poll says)
  }
}

size_t UdpListener::answerDatagram(std::span<const uint8_t> query, const sockaddr* peer,
                                   uint8_t* out, bool trace) {
  WorkerCounters& counters = d_worker.counters();
  bump(counters.udp_queries);
  try {
    const answer::Request request{query, answer::Transport::Udp, peer};
    const answer::Outcome outcome = answer::answer(d_worker.catalog(), d_worker.pools(), request,
                                                   {out, kMaxAnswer}, d_worker.answerOptions());
    d_worker.countAnswer(outcome);
    if (trace)
      spdlog::trace("udp {}: {} byte query, {} byte answer, rcode {}{}", formatAddress(peer),
                    query.size(), outcome.size, outcome.rcode, outcome.truncated ? ", TC" : "");
    if (outcome.size == 0 || outcome.size > kMaxAnswer) return 0;
    size_t size = outcome.size;
    if (RateLimiter& limiter = d_worker.rateLimiter(); limiter.enabled()) {
      const RateLimiter::Decision decision = limiter.check(peer, d_worker.nowMs());
      if (decision != RateLimiter::Decision::Pass) {
        bump(counters.rate_limited);
        if (decision == RateLimiter::Decision::Drop) return 0;
        bump(counters.rate_slipped);
        size = answer::slip(request, outcome, {out, kMaxAnswer}, d_worker.answerOptions());
      }
    }
    return size;
  } catch (const std::exception& e) {
    // Nothing here should throw; if something does, lose this packet, not the loop.
    bump(counters.errors);
    spdlog::debug("udp query from {}: {}", formatAddress(peer), e.what());
  } catch (...) {
    bump(counters.errors);
  }
  return 0;
}

void UdpListener::send(size_t count) {
  size_t sent = 0;
  while (sent < count) {
    const int rc = static_cast<int>(
        ::syscall(SYS_sendmmsg, d_fd.get(), d_tx + sent, static_cast<unsigned>(count - sent), 0));
    if (rc > 0) {
      sent += static_cast<size_t>(rc);
      continue;
    }
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      for (; sent < count; ++sent) defer(d_tx[sent]);
      return;
    }
    // This answer cannot go (say its peer is unreachable); the ones after it may.
    bump(d_worker.counters().udp_dropped);
    spdlog::debug("udp send to {} failed: {}",
                  formatAddress(static_cast<const sockaddr*>(d_tx[sent].msg_hdr.msg_name)),
                  std::strerror(errno));
    ++sent;
  }
}

void UdpListener::defer(const mmsghdr& message) {
  WorkerCounters& counters = d_worker.counters();
  const msghdr& h = message.msg_hdr;
  if (d_closing || d_pending_count == kMaxPending || h.msg_iov->iov_len > kMaxAnswer ||
      h.msg_namelen > sizeof(sockaddr_storage)) {
    bump(counters.udp_dropped);  // the client will retry; queueing more only adds latency
    return;
  }
  Pending& p = d_pending[(d_pending_head + d_pending_count) % kMaxPending];
  std::memcpy(&p.peer, h.msg_name, h.msg_namelen);
  p.peer_size = h.msg_namelen;
  p.size = static_cast<uint16_t>(h.msg_iov->iov_len);
  std::memcpy(p.data, h.msg_iov->iov_base, p.size);
  ++d_pending_count;
  bump(counters.udp_deferred);
  watch();
}

void UdpListener::flushPending() {
  while (d_pending_count > 0) {
    const Pending& p = d_pending[d_pending_head];
    const ssize_t rc = ::sendto(d_fd.get(), p.data, p.size, 0,
                                reinterpret_cast<const sockaddr*>(&p.peer), p.peer_size);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (rc < 0) bump(d_worker.counters().udp_dropped);
    d_pending_head = (d_pending_head + 1) % kMaxPending;
    --d_pending_count;
  }
  watch();
}

// Watches for writability only while answers wait, or the loop would spin.
void UdpListener::watch() {
  const bool watching = d_pending_count > 0;
  if (watching == d_watching || d_closing) return;
  d_watching = watching;
  if (watching)
    uv_poll_start(&d_poll, UV_WRITABLE, onPoll);
  else
    uv_poll_stop(&d_poll);
}

}  // namespace rrdns::server
