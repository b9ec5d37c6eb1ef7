// tcp_connection.hh -- one DNS-over-TCP client (RFC 7766): framing, pipelining, idle timeout.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "dns/answer/answer.hh"
#include "dns/server/tcp_idle.hh"
#include "dns/uv/stream_session.hh"

namespace rrdns::answer {
class Transfer;
}

namespace rrdns::server {

class Worker;

// Owns itself: created by accept(), deleted in the close callback of its last handle.
//
// Queries are answered in arrival order straight into d_pending, which the next uv_write sends
// while new answers collect in the other buffer (at most one write in flight, so responses stay
// in order). When d_pending passes kHighWater the connection stops reading and leaves further
// frames in d_input until a write drains it: a client that sends and never reads cannot make
// us buffer without bound.
//
// A zone transfer (AXFR, or IXFR answered in full) is produced message by message into the same
// buffer under the same mark, one message per turn as writes drain it, so a large zone neither
// sits in memory nor holds up other connections. Queries pipelined behind it wait in d_input
// until it ends, keeping responses in order.
//
// While it owes the client nothing (tcp_idle.hh) the connection sits in its worker's idle list;
// when the table is full, a new client takes the place of the one idle longest.
class TcpConnection final : public uv::StreamSession<TcpConnection>, public TcpIdleLink {
 public:
  // Accepts the pending connection on `server`. Returns false when it was closed at once: the
  // accept failed, or its client is at tcp-max-connections-per-client. With `make_room` (the
  // table is full), a connection that is let in first closes this worker's longest idle one;
  // the caller makes sure there is one. Throws only std::bad_alloc, before accepting.
  static bool accept(Worker& worker, uv_stream_t* server, bool make_room);

  // Closes `worker`'s connections that have been idle longer than the idle timeout the table's
  // fill allows now (Worker::tcpIdleTimeoutMs: shorter as the table fills), longest idle first,
  // at most `limit` of them. The accept path calls it: the table only fills through accepts.
  static void closeExpired(Worker& worker, unsigned limit);

  // Leaves the idle list, gives back its place in tcp-max-connections, then closes
  // (StreamSession::close). Idempotent.
  void close() override;

  static constexpr size_t kMaxFrame = 2 + 65535;  // length prefix + the largest DNS message
  static constexpr size_t kHighWater = 16 * 1024;
  // Room for everything below the high-water mark plus one more full-size answer.
  static constexpr size_t kOutputCapacity = kHighWater + kMaxFrame;

 private:
  struct Output {
    std::unique_ptr<uint8_t[]> data;
    size_t size = 0;
  };

  friend class uv::StreamSession<TcpConnection>;
  explicit TcpConnection(Worker& worker);
  ~TcpConnection() override;

  // Closes `worker`'s connection idle longest, if it has one, and counts the eviction.
  static void evictLongestIdle(Worker& worker);
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onWritten(uv_write_t* request, int status);
  static void onIdle(uv_timer_t* timer);
  void received(std::string_view data);
  void peerDone();
  void readFailed(int error);

  void answerFrames();
  void answerFrame(std::span<const uint8_t> query);
  void startTransfer(const answer::Outcome& outcome, std::span<const uint8_t> query);
  void continueTransfer();
  // For transfer logs (they allocate; transfers are rare).
  std::string describeTransfer() const;
  std::string peerText() const;
  // The client's address, or null when it could not be read.
  const sockaddr* peer() const {
    return d_peer.ss_family == AF_UNSPEC ? nullptr : reinterpret_cast<const sockaddr*>(&d_peer);
  }
  void flush();
  void updateReading();
  void restartIdleTimer();
  // Puts the connection in its worker's idle list, or takes it out, as drained() says. Inline
  // and without a call when nothing changes: it runs twice per query.
  void updateIdle() {
    if (d_closing) return;  // close() took it out for good
    if (!drained())
      d_idle.remove(*this);
    else if (!idle_linked)
      d_idle.pushBack(*this, uv_now(d_tcp.loop));
  }
  bool drained() const { return !d_writing && d_pending.size == 0 && !d_transfer; }

  Worker& d_worker;
  TcpIdleList& d_idle;  // d_worker's
  uv_tcp_t d_tcp;
  uv_timer_t d_timer;
  uv_write_t d_write;
  uint32_t d_client_slot;  // in the worker's ClientConnections, released on close

  std::unique_ptr<uint8_t[]> d_input;  // kMaxFrame bytes: one whole frame always fits
  size_t d_input_size = 0;
  Output d_pending;   // answers not yet handed to libuv
  Output d_inflight;  // the buffer of the current uv_write; untouched until onWritten
  sockaddr_storage d_peer{};  // AF_UNSPEC when unknown
  bool d_transfer_allowed = false;  // decided once, from d_peer and the transfer ACL
  std::unique_ptr<answer::Transfer> d_transfer;  // the transfer being sent, if any

  bool d_writing = false;
};

}  // namespace rrdns::server
