// notifier.hh -- NOTIFY (RFC 1996): telling a zone's secondaries that its serial changed, so that
// they fetch it at once rather than at their next SOA refresh.
#pragma once

#include <uv.h>

#include <cstdint>
#include <list>
#include <string>
#include <vector>

#include "dns/uv/handle.hh"
#include "dns/zone/zone.hh"

namespace rrdns::app {

// Main loop only; never touches the query path. Each (zone, secondary) pair has at most one
// NOTIFY in flight: a newer serial replaces an older one still being retried. A NOTIFY is sent
// again after 1, 2, 4 and 8 s without an answer (5 tries in all, RFC 1996 3.6) and given up
// after 16 more. Every outcome is logged.
class Notifier final : public uv::HandleOwner {
 public:
  explicit Notifier(uv_loop_t* loop);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Tells `targets` that `zone` is now served at zone.serial(). The zone's SOA goes in the
  // answer section (RFC 1996 3.7), so a secondary may compare serials without asking.
  void notify(const zone::Zone& zone, const std::vector<zone::NotifyTarget>& targets);

  struct Counts {
    uint64_t sent = 0;      // NOTIFY messages sent, retries included
    uint64_t answered = 0;  // NOTIFYs a secondary answered with NOERROR
    uint64_t failed = 0;    // given up: no answer after every try, or an error RCODE
  };
  const Counts& counts() const { return d_counts; }

  void close() override;

  static constexpr int kMaxTries = 5;
  static constexpr uint64_t kFirstTimeoutMs = 1000;  // doubles after each try

 private:
  struct Pending {
    std::string zone;     // text, for logs
    std::string apex;     // wire, to match the answer's question
    uint32_t serial = 0;
    zone::NotifyTarget target;
    std::vector<uint8_t> message;
    uint16_t id = 0;
    int tries = 0;
    uint64_t deadline_ms = 0;
  };

  uv_udp_t* socketFor(int family);
  void send(Pending& pending);
  void finish(std::list<Pending>::iterator it, bool answered, const std::string& outcome);
  void arm();
  static void onTimer(uv_timer_t* timer);
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                     unsigned flags);
  void received(const uint8_t* data, size_t size, const sockaddr* from);

  uv_loop_t* d_loop;
  uv_udp_t d_udp4, d_udp6;
  bool d_open4 = false, d_open6 = false;
  uv_timer_t d_timer;
  bool d_closed = false;
  uint8_t d_buffer[4096];
  std::list<Pending> d_pending;
  Counts d_counts;
  uint16_t d_next_id;
};

}  // namespace rrdns::app
