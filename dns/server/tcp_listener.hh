// tcp_listener.hh -- one worker's TCP listening socket on one address: accepts connections.
#pragma once

#include <uv.h>

#include "dns/uv/fd.hh"
#include "dns/uv/handle.hh"

namespace rrdns::server {

class Worker;

class TcpListener final : public uv::HandleOwner {
 public:
  explicit TcpListener(Worker& worker);
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  // Takes the bound socket and listens. Returns 0 or a libuv error.
  int open(uv::Fd fd);
  void close() override;

 private:
  static void onConnection(uv_stream_t* server, int status);
  void reject();

  Worker& d_worker;
  uv_tcp_t d_handle;
  bool d_initialised = false;
  bool d_closing = false;
};

}  // namespace rrdns::server
