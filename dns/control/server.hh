// server.hh -- the daemon side of the control socket: a Unix stream socket on the main loop.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dns/control/protocol.hh"
#include "dns/uv/handle.hh"

namespace rrdns::control {

// Sends the response for one request. Call it exactly once, on the loop thread, now or later (a
// reload replies when it is done). The server fills in "v" and, if missing, "ok":true. Calls
// after the first are ignored; a call after the client went away is dropped. If every copy of a
// Reply is destroyed uncalled, the client gets ok:false "internal error: ... no reply", so
// destroy it on the loop thread too.
using Reply = std::function<void(Json response)>;
// Who sent a request: the credentials the kernel gives for the control connection's peer
// (SO_PEERCRED, read when it connected), for the audit log.
struct Peer {
  uid_t uid = static_cast<uid_t>(-1);
  pid_t pid = 0;
};
// Runs one request: `request` is an object with "v":1 (or no "v") and a non-empty string "cmd";
// everything else is the command's business. An exception becomes an ok:false response.
using Handler = std::function<void(const Json& request, const Peer& peer, Reply reply)>;

// A reply that hands over descriptors with the response line (fd_passing.hh); the descriptors
// stay the caller's, the peer gets duplicates. Same rules as Reply otherwise.
using FdReply = std::function<void(Json response, std::vector<int> fds)>;
// Runs a request whose cmd starts with "takeover" (rrdnsctl replace, dns/app/takeover.hh).
using FdHandler = std::function<void(const Json& request, const Peer& peer, FdReply reply)>;

namespace detail {
class Listener;
}

// Listens on a Unix socket and feeds each request line to the handler. Per connection: only the
// daemon's own uid and root get in (SO_PEERCRED); requests are answered one at a time in order,
// at most kMaxQueued of them waiting (beyond that the connection stops reading); a connection
// with nothing pending is closed after the idle timeout.
//
// Lifetime: the libuv handles live in a heap object that frees itself in its last close
// callback, so this object may be destroyed at any time on the loop thread; the loop must run
// afterwards for the memory to be released (closeAllHandles + uv_run does it at shutdown).
class ControlServer final : public uv::HandleOwner {
 public:
  static constexpr size_t kMaxQueued = 16;
  static constexpr uint64_t kIdleTimeoutMs = 60'000;

  // Binds `path` (mode 0600), listens on `loop` and returns the server, or why it cannot. A stale
  // socket file (nobody accepting) is replaced; a live one (another daemon), or a path that exists
  // and is not a socket, is an error. A missing parent directory is created (one level, mode 0755),
  // for the default /run/rrdns.
  static Result<std::unique_ptr<ControlServer>> create(uv_loop_t* loop, std::string path,
                                                       Handler handler);

  // The same on a listening socket handed over by another rrdnsd (rrdnsctl replace): `fd` is
  // already bound to `path` and listening; it is adopted as it is, and the socket file becomes
  // this server's to unlink at close.
  static Result<std::unique_ptr<ControlServer>> adopt(uv_loop_t* loop, std::string path, int fd,
                                                      Handler handler);

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  ~ControlServer();

  // Stops listening, closes every client connection (pending replies are dropped) and unlinks
  // the socket file if it is still ours. Idempotent.
  void close() override;

  const std::string& path() const { return d_path; }
  // For tests: idle connections are closed after this long (default kIdleTimeoutMs). Applies to
  // connections accepted afterwards.
  void setIdleTimeout(uint64_t ms);

  // Requests whose cmd starts with "takeover" go to `handler` instead of the Handler.
  void setFdHandler(FdHandler handler);
  // The listening socket's descriptor (to hand over), or -1 once closed.
  int listeningFd() const;
  // After the listening socket was handed over: stops accepting and forgets the socket file (it
  // is the new owner's now, close() will not unlink it). Connections already accepted go on.
  void handOver();

 private:
  friend class detail::Listener;
  ControlServer(detail::Listener* listener, std::string path)
      : d_listener(listener), d_path(std::move(path)) {}

  detail::Listener* d_listener;  // null once the listener has freed itself
  std::string d_path;
};

}  // namespace rrdns::control
