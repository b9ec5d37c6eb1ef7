// resolver.cc -- c-ares on libuv: sockets polled, timeouts timed, answers turned into members.
#include "dns/discovery/resolver.hh"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "dns/wire/constants.hh"

namespace rrdns::discovery {
namespace {

// Discovery asks rarely and can wait: a few seconds per try keeps a slow server from being
// taken for a failed one, and 3 tries rides out a lost packet.
constexpr int kTimeoutMs = 2000;
constexpr int kTries = 3;

struct Request {
  Resolver* resolver;
  Resolver::Done done;
};

const struct LibraryInit {
  LibraryInit() { ares_library_init(ARES_LIB_INIT_ALL); }
  ~LibraryInit() { ares_library_cleanup(); }
} library_init;

}  // namespace

Resolver::Resolver(uv_loop_t* loop) : d_loop(loop) {}

Result<std::unique_ptr<Resolver>> Resolver::create(uv_loop_t* loop, const std::string& servers) {
  std::unique_ptr<Resolver> self(new Resolver(loop));
  ares_options options{};
  options.sock_state_cb = &Resolver::onSocketState;
  options.sock_state_cb_data = self.get();
  options.timeout = kTimeoutMs;
  options.tries = kTries;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  if (int rc = ares_init_options(&self->d_channel, &options, mask); rc != ARES_SUCCESS) {
    return error(std::string("cannot start the resolver: ") + ares_strerror(rc));
  }
  if (!servers.empty()) {
    if (int rc = ares_set_servers_ports_csv(self->d_channel, servers.c_str()); rc != ARES_SUCCESS) {
      return error("resolver '" + servers + "': " + ares_strerror(rc) +
                   " (expected ADDRESS[:PORT] or [IPV6]:PORT, comma-separated)");
    }
  }
  uv_timer_init(loop, &self->d_timer);
  self->d_timer.data = self.get();
  return self;
}

Resolver::~Resolver() {
  if (d_channel) ares_destroy(d_channel);
}

void Resolver::close() {
  if (d_closed) return;
  d_closed = true;
  // Pending lookups end here with ARES_EDESTRUCTION (ignored: d_closed), and c-ares reports
  // its sockets gone, which closes their polls.
  ares_destroy(d_channel);
  d_channel = nullptr;
  for (auto& [fd, poll] : d_polls)
    uv_close(reinterpret_cast<uv_handle_t*>(poll),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  d_polls.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&d_timer), nullptr);
}

void Resolver::resolve(const std::string& hostname, bool want_a, bool want_aaaa, Done done) {
  if (d_closed) return;
  ares_addrinfo_hints hints{};
  hints.ai_family = want_a && want_aaaa ? AF_UNSPEC : want_a ? AF_INET : AF_INET6;
  // No RFC 6724 sorting: it probes routes with connect(), and members are sorted here anyway.
  hints.ai_flags = ARES_AI_NOSORT;
  auto* request = new Request{this, std::move(done)};
  ares_getaddrinfo(d_channel, hostname.c_str(), nullptr, &hints, &Resolver::onAddrinfo, request);
  armTimer();
}

void Resolver::onAddrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  std::unique_ptr<Request> request(static_cast<Request*>(arg));
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || request->resolver->d_closed) {
    if (result) ares_freeaddrinfo(result);
    return;
  }
  Lookup lookup;
  if (status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA) {
    lookup.ok = true;
    int ttl = -1;
    for (ares_addrinfo_node* n = result ? result->nodes : nullptr; n; n = n->ai_next) {
      zone::DiscoveredAddress a;
      char text[INET6_ADDRSTRLEN];
      if (n->ai_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(n->ai_addr);
        a.address.assign(reinterpret_cast<const char*>(&sin->sin_addr), 4);
        a.rtype = wire::type::A;
        inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
      } else if (n->ai_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
        a.address.assign(reinterpret_cast<const char*>(&sin6->sin6_addr), 16);
        a.rtype = wire::type::AAAA;
        inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
      } else {
        continue;
      }
      a.text = text;
      if (n->ai_ttl > 0 && (ttl < 0 || n->ai_ttl < ttl)) ttl = n->ai_ttl;
      lookup.addresses.push_back(std::move(a));
    }
    lookup.ttl = ttl > 0 ? static_cast<uint32_t>(ttl) : 0;
    // Answers come in any order; sorted, a reordering is not taken for a change.
    auto byAddress = [](const zone::DiscoveredAddress& x, const zone::DiscoveredAddress& y) {
      return x.address.size() != y.address.size() ? x.address.size() < y.address.size()
                                                  : x.address < y.address;
    };
    std::sort(lookup.addresses.begin(), lookup.addresses.end(), byAddress);
    lookup.addresses.erase(std::unique(lookup.addresses.begin(), lookup.addresses.end(),
                                       [](const auto& x, const auto& y) {
                                         return x.address == y.address;
                                       }),
                           lookup.addresses.end());
  } else {
    lookup.error = ares_strerror(status);
  }
  if (result) ares_freeaddrinfo(result);
  request->done(std::move(lookup));
}

void Resolver::onSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<Resolver*>(data);
  auto it = self->d_polls.find(fd);
  if (!readable && !writable) {
    if (it == self->d_polls.end()) return;
    uv_close(reinterpret_cast<uv_handle_t*>(it->second),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    self->d_polls.erase(it);
    return;
  }
  if (self->d_closed) return;
  if (it == self->d_polls.end()) {
    auto* poll = new uv_poll_t;
    if (uv_poll_init_socket(self->d_loop, poll, fd) != 0) {
      delete poll;
      return;  // the lookup times out, and is reported as failed
    }
    poll->data = self;
    it = self->d_polls.emplace(fd, poll).first;
  }
  uv_poll_start(it->second, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                &Resolver::onPoll);
}

void Resolver::onPoll(uv_poll_t* poll, int status, int events) {
  auto* self = static_cast<Resolver*>(poll->data);
  if (self->d_closed) return;
  ares_socket_t fd = ARES_SOCKET_BAD;
  for (const auto& [socket, p] : self->d_polls)
    if (p == poll) fd = socket;
  if (fd == ARES_SOCKET_BAD) return;
  // An error on the socket is c-ares' to find out by reading it.
  const bool readable = status < 0 || (events & UV_READABLE);
  const bool writable = status < 0 || (events & UV_WRITABLE);
  ares_process_fd(self->d_channel, readable ? fd : ARES_SOCKET_BAD,
                  writable ? fd : ARES_SOCKET_BAD);
  self->armTimer();
}

void Resolver::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<Resolver*>(timer->data);
  if (self->d_closed) return;
  ares_process_fd(self->d_channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  self->armTimer();
}

void Resolver::armTimer() {
  if (d_closed) return;
  timeval tv{};
  const timeval* wait = ares_timeout(d_channel, nullptr, &tv);
  if (!wait) {  // nothing pending
    uv_timer_stop(&d_timer);
    return;
  }
  const uint64_t ms = static_cast<uint64_t>(wait->tv_sec) * 1000 + (wait->tv_usec + 999) / 1000;
  uv_timer_start(&d_timer, &Resolver::onTimer, ms, 0);
}

}  // namespace rrdns::discovery
