// udp_listener.hh -- one worker's UDP socket on one address: recvmmsg in, answer(), sendmmsg out.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <memory>
#include <span>

#include "dns/uv/fd.hh"
#include "dns/uv/handle.hh"

namespace rrdns::server {

class Worker;

class UdpListener final : public uv::HandleOwner {
 public:
  explicit UdpListener(Worker& worker);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // Takes the bound, non-blocking socket and starts receiving. Returns 0 or a libuv error.
  int open(uv::Fd fd);
  void close() override;
  // Stops receiving for good (the socket was handed over): answers waiting for room in the
  // socket buffer get one more try, then close().
  void release();

  // Worker's wait: the socket is readable. Answers what is there (up to kMaxBatchesPerWakeup
  // batches).
  void receive();
  int fd() const { return d_fd.get(); }
  bool closing() const { return d_closing; }

  // Datagrams per recvmmsg and answers per sendmmsg.
  static constexpr size_t kBatch = 32;
  // Every datagram fits a slot whole (a longer one is not a DNS query). Only the pages the kernel
  // writes become resident.
  static constexpr size_t kDatagramSlot = 64 * 1024;
  // Largest UDP answer: udp-max-payload is at most 4096.
  static constexpr size_t kMaxAnswer = 4096;
  // Answers that found the socket buffer full wait in at most this many slots.
  static constexpr size_t kMaxPending = 64;
  // Batches per readiness callback, so that TCP and the mailbox get their turn under a flood.
  static constexpr int kMaxBatchesPerWakeup = 8;

 private:
  // An answer for the cold path: sendmmsg said EAGAIN. Sent when the socket is writable again.
  struct Pending {
    sockaddr_storage peer;
    socklen_t peer_size;
    uint16_t size;
    uint8_t data[kMaxAnswer];
  };

  static void onPoll(uv_poll_t* handle, int status, int events);
  // Answers one datagram into `out` (kMaxAnswer bytes); returns the size to send, 0 for none.
  // `trace`: log it (asked once per batch).
  size_t answerDatagram(std::span<const uint8_t> query, const sockaddr* peer, uint8_t* out,
                        bool trace);
  void send(size_t count);
  void defer(const mmsghdr& message);
  void flushPending();
  void watch();

  Worker& d_worker;
  uv::Fd d_fd;
  uv_poll_t d_poll;
  bool d_initialised = false;
  bool d_closing = false;
  bool d_watching = false;  // d_poll waits for writability (answers are pending)
  // Receive side: kBatch slots of kDatagramSlot bytes, their peers and headers; answers go to
  // kBatch slots of kMaxAnswer, described by d_tx for one sendmmsg. All allocated once.
  std::unique_ptr<uint8_t[]> d_in;
  std::unique_ptr<uint8_t[]> d_out;
  mmsghdr d_rx[kBatch];
  iovec d_rx_iov[kBatch];
  sockaddr_storage d_peers[kBatch];
  mmsghdr d_tx[kBatch];
  iovec d_tx_iov[kBatch];
  std::unique_ptr<Pending[]> d_pending;  // kMaxPending, a FIFO of d_pending_count from d_pending_head
  size_t d_pending_head = 0;
  size_t d_pending_count = 0;
};

}  // namespace rrdns::server
