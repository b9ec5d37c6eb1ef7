// tcp_idle.hh -- which TCP connection to close first when the table fills (RFC 7766 6.2.3), and
// how long a connection may stay idle as it fills.
//
// "Idle" here means owing the client nothing: no complete query unanswered, no answer still
// waiting to be handed to the socket, no zone transfer under way. Bytes of a query that has not
// arrived whole do not count as work: a client trickling a frame one byte at a time is idle.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rrdns::server {

// The smallest idle timeout the table shrinks it to (unless tcp-idle-timeout is smaller).
inline constexpr uint64_t kTcpIdleFloorMs = 1000;

// How long a connection may stay idle in a table holding `open` of `max` connections: the
// configured timeout up to half full, then falling linearly to kTcpIdleFloorMs at full (and
// over: a new connection counts before the one it replaces has gone). A configured timeout at
// or below the floor is kept as it is.
constexpr uint64_t tcpIdleTimeoutMs(uint64_t configured_ms, uint64_t open, uint64_t max) {
  if (configured_ms <= kTcpIdleFloorMs || max == 0) return configured_ms;
  const uint64_t half = max / 2;
  if (open <= half) return configured_ms;
  const uint64_t span = max - half;  // > 0: max >= 1 and half < max
  const uint64_t over = open - half < span ? open - half : span;
  return configured_ms - (configured_ms - kTcpIdleFloorMs) * over / span;
}

// What a connection carries to sit in a worker's TcpIdleList. Only that worker's loop thread
// touches it.
struct TcpIdleLink {
  TcpIdleLink* idle_prev = nullptr;
  TcpIdleLink* idle_next = nullptr;
  uint64_t idle_since_ms = 0;  // on the worker loop's uv_now clock
  bool idle_linked = false;
};

// One worker's idle connections, longest idle first: a connection goes to the back when it
// becomes idle and leaves when it has work or closes, so the front is the one that has owed
// nothing for longest. Intrusive (the links live in the connections), so keeping it up to date
// costs a few pointer stores per answer and never allocates. One thread only, no lock.
class TcpIdleList {
 public:
  TcpIdleList() = default;
  TcpIdleList(const TcpIdleList&) = delete;
  TcpIdleList& operator=(const TcpIdleList&) = delete;

  // Appends `link` as idle since `now_ms`; a link already in the list stays where it is.
  void pushBack(TcpIdleLink& link, uint64_t now_ms) {
    if (link.idle_linked) return;
    link.idle_since_ms = now_ms;
    link.idle_prev = d_tail;
    link.idle_next = nullptr;
    (d_tail ? d_tail->idle_next : d_head) = &link;
    d_tail = &link;
    link.idle_linked = true;
    ++d_size;
  }

  // Takes `link` out; one that is not in the list is left alone.
  void remove(TcpIdleLink& link) {
    if (!link.idle_linked) return;
    (link.idle_prev ? link.idle_prev->idle_next : d_head) = link.idle_next;
    (link.idle_next ? link.idle_next->idle_prev : d_tail) = link.idle_prev;
    link.idle_prev = link.idle_next = nullptr;
    link.idle_linked = false;
    --d_size;
  }

  // The connection idle longest, or null.
  TcpIdleLink* front() const { return d_head; }
  size_t size() const { return d_size; }
  bool empty() const { return d_head == nullptr; }

 private:
  TcpIdleLink* d_head = nullptr;
  TcpIdleLink* d_tail = nullptr;
  size_t d_size = 0;
};

}  // namespace rrdns::server
