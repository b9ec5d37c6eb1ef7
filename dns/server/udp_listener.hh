// udp_listener.hh -- one worker's UDP socket on one address: recvmmsg in, answer(), send out.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <memory>
#include <span>
#include <vector>

#include "dns/server/handle.hh"
#include "dns/server/socket.hh"

namespace rrdns::server {

class Worker;

class UdpListener final : public HandleOwner {
 public:
  explicit UdpListener(Worker& worker);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // Takes the bound socket and starts receiving. Returns 0 or a libuv error.
  int open(Fd fd);
  void close() override;

  // libuv hands out at most 20 datagrams per recvmmsg call, each in a 64 KiB slice of the buffer
  // that alloc_cb returns. 16 slices keep the batch and use 1 MiB per socket.
  static constexpr size_t kDatagramSlot = 64 * 1024;
  static constexpr size_t kArenaSlots = 16;
  // Answers that found the socket buffer full wait in at most this many queued sends.
  static constexpr size_t kMaxQueuedSends = 64;
  // Largest UDP answer we can queue: udp-max-payload is at most 4096.
  static constexpr size_t kMaxQueuedAnswer = 4096;

 private:
  // A copy of one answer for the cold path: the socket buffer was full (uv_udp_try_send said
  // UV_EAGAIN, or libuv's own send queue is not empty). Reused through d_free_sends.
  struct QueuedSend {
    uv_udp_send_t request;
    UdpListener* owner;
    sockaddr_storage peer;
    uint8_t data[kMaxQueuedAnswer];
  };

  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onReceive(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* peer,
                        unsigned flags);
  static void onQueuedSent(uv_udp_send_t* request, int status);
  void answerDatagram(std::span<const uint8_t> query, const sockaddr* peer);
  void sendQueued(std::span<const uint8_t> response, const sockaddr* peer);

  Worker& d_worker;
  uv_udp_t d_handle;
  bool d_initialised = false;
  bool d_closing = false;
  // The one receive buffer. Lending it to libuv on every read is safe because libuv gives it
  // back (the UV_UDP_MMSG_FREE call, or nread == 0) before it asks again.
  std::unique_ptr<uint8_t[]> d_arena;
  std::vector<std::unique_ptr<QueuedSend>> d_sends;  // grows on demand up to kMaxQueuedSends
  std::vector<QueuedSend*> d_free_sends;
};

}  // namespace rrdns::server
