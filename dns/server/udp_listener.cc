// udp_listener.cc -- the UDP query path: no allocation, no lock, one try_send per answer.
#include "dns/server/udp_listener.hh"

#include <spdlog/spdlog.h>

#include <cstring>

#include "dns/server/address.hh"
#include "dns/server/worker.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/header.hh"

namespace rrdns::server {

namespace {

// Cuts a response down to its header, question and OPT with TC set: the "slip" answer to a
// rate-limited client, small (no amplification) and telling a real one to retry over TCP.
// answer() wrote the question uncompressed right after the header and the OPT, if any, last.
size_t slipResponse(uint8_t* m, size_t size) {
  namespace header = wire::header;
  size_t end = wire::kHeaderSize;
  const uint16_t qdcount = header::qdcount(m) == 1 ? 1 : 0;
  if (qdcount == 1) {
    while (end < size && m[end] != 0) end += 1 + m[end];
    end += 1 + 4;  // the root label, QTYPE and QCLASS
    if (end > size) return 0;
  }
  uint16_t arcount = 0;
  const uint8_t* opt = m + size - wire::kOptRecordSize;
  if (header::arcount(m) > 0 && size >= end + wire::kOptRecordSize && opt[0] == 0 &&
      load16(opt + 1) == wire::type::OPT) {
    std::memmove(m + end, opt, wire::kOptRecordSize);
    end += wire::kOptRecordSize;
    arcount = 1;
  }
  header::setFlags(m, header::flags(m) | wire::flag::TC);
  header::setCounts(m, qdcount, 0, 0, arcount);
  return end;
}

}  // namespace

UdpListener::UdpListener(Worker& worker)
    : d_worker(worker),
      d_arena(std::make_unique_for_overwrite<uint8_t[]>(kArenaSlots * kDatagramSlot)) {
  d_sends.reserve(kMaxQueuedSends);
  d_free_sends.reserve(kMaxQueuedSends);
}

UdpListener::~UdpListener() = default;

int UdpListener::open(Fd fd) {
  // The low byte of the flags is the address family; AF_UNSPEC creates no socket of its own.
  int rc = uv_udp_init_ex(d_worker.loop(), &d_handle, AF_UNSPEC | UV_UDP_RECVMMSG);
  if (rc != 0) return rc;
  d_initialised = true;
  d_handle.data = this;
  rc = uv_udp_open(&d_handle, fd.get());
  if (rc != 0) return rc;  // fd still ours: Fd closes it
  fd.release();            // libuv closes it with the handle
  return uv_udp_recv_start(&d_handle, onAlloc, onReceive);
}

void UdpListener::close() {
  if (d_closing || !d_initialised) return;
  d_closing = true;
  // Queued sends are cancelled (their callbacks run) before the handle's close completes; the
  // listener itself is owned by the worker and outlives the loop, so no close callback.
  uv_close(reinterpret_cast<uv_handle_t*>(&d_handle), nullptr);
}

void UdpListener::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<UdpListener*>(handle->data);
  *buf = uv_buf_init(reinterpret_cast<char*>(self->d_arena.get()),
                     static_cast<unsigned>(kArenaSlots * kDatagramSlot));
}

// Branch order as in libuv's test/test-udp-mmsg.c: MMSG_FREE, then "nothing read", then data.
void UdpListener::onReceive(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                            const sockaddr* peer, unsigned flags) {
  auto* self = static_cast<UdpListener*>(handle->data);
  if (flags & UV_UDP_MMSG_FREE) return;  // the arena comes back; it is ours, nothing to free
  if (nread < 0) {
    // A socket error (e.g. ICMP feedback); the socket stays usable.
    spdlog::debug("udp receive error: {}", uv_strerror(static_cast<int>(nread)));
    return;
  }
  if (peer == nullptr) return;  // nread == 0, addr == NULL: nothing was read
  if (flags & UV_UDP_PARTIAL) {
    bump(self->d_worker.counters().udp_dropped);  // bigger than 64 KiB: not a DNS query
    return;
  }
  // nread, not buf->len: a chunk's len is the whole 64 KiB slot.
  self->answerDatagram({reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)},
                       peer);
}

void UdpListener::answerDatagram(std::span<const uint8_t> query, const sockaddr* peer) {
  WorkerCounters& counters = d_worker.counters();
  bump(counters.udp_queries);
  try {
    std::span<uint8_t> out = d_worker.responseBuffer();
    answer::Outcome outcome = answer::answer(d_worker.catalog(), d_worker.pools(), query, answer::Transport::Udp, out,
                                             d_worker.answerOptions());
    d_worker.countAnswer(outcome);
    if (spdlog::should_log(spdlog::level::trace))
      spdlog::trace("udp {}: {} byte query, {} byte answer, rcode {}{}", formatAddress(peer),
                    query.size(), outcome.size, outcome.rcode, outcome.truncated ? ", TC" : "");
    if (outcome.size == 0 || outcome.size > out.size()) return;
    size_t size = outcome.size;
    if (RateLimiter& limiter = d_worker.rateLimiter(); limiter.enabled()) {
      const RateLimiter::Decision decision = limiter.check(peer, uv_now(d_worker.loop()));
      if (decision != RateLimiter::Decision::Pass) {
        bump(counters.rate_limited);
        if (decision == RateLimiter::Decision::Drop) return;
        bump(counters.rate_slipped);
        size = slipResponse(out.data(), size);
        if (size == 0) return;
      }
    }

    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(out.data()), static_cast<unsigned>(size));
    int rc = uv_udp_try_send(&d_handle, &buf, 1, peer);
    if (rc >= 0) return;
    if (rc == UV_EAGAIN) {
      sendQueued(out.first(size), peer);
      return;
    }
    bump(counters.udp_dropped);
    spdlog::debug("udp send to {} failed: {}", formatAddress(peer), uv_strerror(rc));
  } catch (const std::exception& e) {
    // Nothing here should throw; if something does, lose this packet, not the loop.
    bump(counters.errors);
    spdlog::debug("udp query from {}: {}", formatAddress(peer), e.what());
  } catch (...) {
    bump(counters.errors);
  }
}

void UdpListener::sendQueued(std::span<const uint8_t> response, const sockaddr* peer) {
  WorkerCounters& counters = d_worker.counters();
  if (response.size() > kMaxQueuedAnswer || d_closing) {
    bump(counters.udp_dropped);
    return;
  }
  if (d_free_sends.empty()) {
    if (d_sends.size() >= kMaxQueuedSends) {
      bump(counters.udp_dropped);  // the client will retry; queueing more only adds latency
      return;
    }
    d_sends.push_back(std::make_unique<QueuedSend>());
    d_sends.back()->owner = this;
    d_free_sends.push_back(d_sends.back().get());
  }
  QueuedSend* send = d_free_sends.back();
  d_free_sends.pop_back();
  send->request.data = send;
  std::memcpy(send->data, response.data(), response.size());
  std::memcpy(&send->peer, peer,
              peer->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  uv_buf_t buf =
      uv_buf_init(reinterpret_cast<char*>(send->data), static_cast<unsigned>(response.size()));
  int rc = uv_udp_send(&send->request, &d_handle, &buf, 1,
                       reinterpret_cast<const sockaddr*>(&send->peer), onQueuedSent);
  if (rc != 0) {
    d_free_sends.push_back(send);
    bump(counters.udp_dropped);
    return;
  }
  bump(counters.udp_deferred);
}

void UdpListener::onQueuedSent(uv_udp_send_t* request, int status) {
  auto* send = static_cast<QueuedSend*>(request->data);
  UdpListener* self = send->owner;
  if (status != 0 && status != UV_ECANCELED) bump(self->d_worker.counters().udp_dropped);
  self->d_free_sends.push_back(send);
}

}  // namespace rrdns::server
