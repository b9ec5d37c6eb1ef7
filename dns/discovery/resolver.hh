// resolver.hh -- address lookups for member discovery: c-ares, driven by a libuv loop.
#pragma once

#include <ares.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dns/base/result.hh"
#include "dns/uv/handle.hh"
#include "dns/zone/zone.hh"

namespace rrdns::discovery {

struct Lookup {
  // false: the lookup failed (timeout, SERVFAIL, refused, no server): nothing is known, and the
  // last set should stand. true with no addresses: the name exists without any, or not at all.
  bool ok = false;
  std::vector<zone::DiscoveredAddress> addresses;  // sorted, without duplicates
  uint32_t ttl = 0;   // the smallest TTL among the answers (0: none given, as from /etc/hosts)
  std::string error;  // why it failed
};

// Lives on one loop, which must be running for answers to come. c-ares tells which sockets to
// watch (sock_state_cb); each gets a uv_poll, and a timer drives c-ares' retransmissions.
class Resolver final : public uv::HandleOwner {
 public:
  // `servers` is "" (the host's /etc/resolv.conf, as getaddrinfo) or c-ares' server list
  // "127.0.0.1:5300,[::1]:53". Fails on a bad list.
  static Result<std::unique_ptr<Resolver>> create(uv_loop_t* loop, const std::string& servers);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  using Done = std::function<void(Lookup)>;
  // `done` runs on the loop; never after close().
  void resolve(const std::string& hostname, bool want_a, bool want_aaaa, Done done);

  void close() override;

 private:
  explicit Resolver(uv_loop_t* loop);
  static void onSocketState(void* data, ares_socket_t fd, int readable, int writable);
  static void onPoll(uv_poll_t* poll, int status, int events);
  static void onTimer(uv_timer_t* timer);
  static void onAddrinfo(void* arg, int status, int timeouts, ares_addrinfo* result);
  void armTimer();

  uv_loop_t* d_loop;
  ares_channel d_channel = nullptr;
  uv_timer_t d_timer;
  std::map<ares_socket_t, uv_poll_t*> d_polls;
  bool d_closed = false;
};

}  // namespace rrdns::discovery
