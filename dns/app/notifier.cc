// notifier.cc -- NOTIFY messages out, their answers in, retries on a timer.
#include "dns/app/notifier.hh"

#include <spdlog/spdlog.h>

#include <cstring>
#include <random>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/header.hh"
#include "dns/wire/name.hh"
#include "dns/wire/writer.hh"

namespace rrdns::app {
namespace {

constexpr uint8_t kOpcodeNotify = 4;  // RFC 1996 3.1

bool sameAddress(const sockaddr* a, const sockaddr* b) {
  if (a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(a);
    const auto* y = reinterpret_cast<const sockaddr_in*>(b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const auto* x = reinterpret_cast<const sockaddr_in6*>(a);
  const auto* y = reinterpret_cast<const sockaddr_in6*>(b);
  return x->sin6_port == y->sin6_port &&
         std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

}  // namespace

Notifier::Notifier(uv_loop_t* loop) : d_loop(loop) {
  uv_timer_init(loop, &d_timer);
  d_timer.data = this;
  // Message ids need not be secret here (the answer only ends our retries), but they should not
  // repeat across restarts.
  d_next_id = static_cast<uint16_t>(std::random_device{}());
}

Notifier::~Notifier() = default;

void Notifier::close() {
  if (d_closed) return;
  d_closed = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&d_timer), nullptr);
  if (d_open4) uv_close(reinterpret_cast<uv_handle_t*>(&d_udp4), nullptr);
  if (d_open6) uv_close(reinterpret_cast<uv_handle_t*>(&d_udp6), nullptr);
  d_pending.clear();
}

// One socket per family, bound to an ephemeral port on first use.
uv_udp_t* Notifier::socketFor(int family) {
  const bool v6 = family == AF_INET6;
  uv_udp_t* udp = v6 ? &d_udp6 : &d_udp4;
  bool& open = v6 ? d_open6 : d_open4;
  if (open) return udp;
  uv_udp_init(d_loop, udp);
  udp->data = this;
  open = true;  // closed by close() from here on, whatever happens next
  sockaddr_storage any{};
  if (v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&any);
    sa->sin6_family = AF_INET6;
    sa->sin6_addr = in6addr_any;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&any);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_ANY);
  }
  int rc = uv_udp_bind(udp, reinterpret_cast<const sockaddr*>(&any), 0);
  if (rc == 0) rc = uv_udp_recv_start(udp, onAlloc, onRead);
  if (rc != 0) {
    spdlog::error("NOTIFY: cannot open a UDP socket: {}", uv_strerror(rc));
    return nullptr;
  }
  return udp;
}

void Notifier::notify(const zone::Zone& zone, const std::vector<zone::NotifyTarget>& targets) {
  if (d_closed || targets.empty()) return;
  const std::string name = wire::nameToText(zone.apex());
  for (const auto& target : targets) {
    // A newer serial makes any NOTIFY still being retried for the same pair pointless.
    for (auto it = d_pending.begin(); it != d_pending.end();)
      it = it->apex == zone.apex() && it->target == target ? d_pending.erase(it) : std::next(it);

    Pending p;
    p.zone = name;
    p.apex = zone.apex();
    p.serial = zone.serial();
    p.target = target;
    p.id = d_next_id++;
    // Header, question (the zone's SOA), and the SOA itself in the answer section.
    p.message.resize(1024);  // two names of at most 255 bytes, an SOA of at most 530
    wire::Writer w(p.message.data(), p.message.size());
    uint8_t header[wire::kHeaderSize] = {};
    w.bytes(header, sizeof header);
    w.name(zone.apex());
    w.u16(wire::type::SOA);
    w.u16(wire::klass::IN);
    w.record(zone.apex(), wire::type::SOA, wire::klass::IN, zone.soa().ttl,
             zone.soa().rdata.front());
    if (!w.ok()) {
      spdlog::error("NOTIFY for zone {}: the message does not fit", name);
      continue;
    }
    p.message.resize(w.size());
    wire::header::setId(p.message.data(), p.id);
    wire::header::setFlags(p.message.data(),
                           static_cast<uint16_t>(kOpcodeNotify << 11) | wire::flag::AA);
    wire::header::setCounts(p.message.data(), 1, 1, 0, 0);
    d_pending.push_back(std::move(p));
    send(d_pending.back());
  }
  arm();
}

void Notifier::send(Pending& p) {
  ++p.tries;
  p.deadline_ms = uv_now(d_loop) + (kFirstTimeoutMs << (p.tries - 1));
  uv_udp_t* udp = socketFor(p.target.storage.ss_family);
  if (!udp) return;  // the timer retries, then gives up
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(p.message.data()),
                             static_cast<unsigned>(p.message.size()));
  const int rc = uv_udp_try_send(udp, &buf, 1, p.target.sockAddr());
  if (rc < 0) {
    spdlog::debug("NOTIFY for zone {} to {}: send failed: {}", p.zone, p.target.text,
                  uv_strerror(rc));
    return;
  }
  ++d_counts.sent;
  spdlog::debug("NOTIFY for zone {} (serial {}) to {} sent, try {}", p.zone, p.serial,
                p.target.text, p.tries);
}

void Notifier::finish(std::list<Pending>::iterator it, bool answered, const std::string& outcome) {
  if (answered) {
    ++d_counts.answered;
    spdlog::info("NOTIFY for zone {} (serial {}) to {}: {}", it->zone, it->serial, it->target.text,
                 outcome);
  } else {
    ++d_counts.failed;
    spdlog::warn("NOTIFY for zone {} (serial {}) to {}: {}", it->zone, it->serial,
                 it->target.text, outcome);
  }
  d_pending.erase(it);
}

void Notifier::arm() {
  if (d_closed) return;
  if (d_pending.empty()) {
    uv_timer_stop(&d_timer);
    return;
  }
  uint64_t next = UINT64_MAX;
  for (const auto& p : d_pending) next = std::min(next, p.deadline_ms);
  const uint64_t now = uv_now(d_loop);
  uv_timer_start(&d_timer, onTimer, next > now ? next - now : 0, 0);
}

void Notifier::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<Notifier*>(timer->data);
  const uint64_t now = uv_now(self->d_loop);
  for (auto it = self->d_pending.begin(); it != self->d_pending.end();) {
    auto current = it++;
    if (current->deadline_ms > now) continue;
    if (current->tries >= kMaxTries)
      self->finish(current, false,
                   "no answer after " + std::to_string(kMaxTries) + " tries; giving up");
    else
      self->send(*current);
  }
  self->arm();
}

void Notifier::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Notifier*>(handle->data);
  *buf = uv_buf_init(reinterpret_cast<char*>(self->d_buffer), sizeof self->d_buffer);
}

void Notifier::onRead(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                      unsigned) {
  if (nread <= 0 || from == nullptr) return;
  static_cast<Notifier*>(udp->data)
      ->received(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread), from);
}

// An answer ends the NOTIFY whose id, secondary and question it matches (RFC 1996 3.6, 4.7);
// anything else is ignored.
void Notifier::received(const uint8_t* data, size_t size, const sockaddr* from) {
  if (size < wire::kHeaderSize) return;
  const uint16_t flags = wire::header::flags(data);
  if (!(flags & wire::flag::QR) || wire::header::opcode(flags) != kOpcodeNotify) return;
  const uint16_t id = wire::header::id(data);
  for (auto it = d_pending.begin(); it != d_pending.end(); ++it) {
    if (it->id != id || !sameAddress(it->target.sockAddr(), from)) continue;
    // The question, if echoed, must be ours.
    if (wire::header::qdcount(data) == 1) {
      size_t pos = wire::kHeaderSize;
      wire::NameBuf name;
      if (wire::readName({data, size}, pos, name) != wire::NameStatus::Ok) return;
      wire::lowerName(name.data, name.size);
      if (name.view() != it->apex) return;
    }
    const uint16_t code = flags & 0x000F;
    if (code == wire::rcode::NOERROR)
      finish(it, true, "answered");
    else
      finish(it, false, "answered " + wire::rcodeName(code));
    arm();
    return;
  }
}

}  // namespace rrdns::app
