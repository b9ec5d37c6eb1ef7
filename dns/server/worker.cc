// worker.cc -- a worker's loop, catalog mailbox, answer-share counters and shutdown.
#include "dns/server/worker.hh"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "dns/base/clock.hh"
#include "dns/base/thread_role.hh"
#include "dns/server/tcp_listener.hh"
#include "dns/server/udp_listener.hh"

namespace rrdns::server {

Worker::Worker(unsigned index, const ServerSettings& settings,
               std::atomic<unsigned>& tcp_connections, ClientConnections& client_connections,
               std::shared_ptr<const answer::Catalog> catalog)
    : d_index(index),
      d_settings(settings),
      d_tcp_connections(tcp_connections),
      d_client_connections(client_connections),
      d_answer_options{settings.udp_max_payload,
                       [this](const sockaddr* client) {
                         // The transfer ACL for IXFR over UDP (TCP decides it per connection).
                         for (const auto& prefix : d_settings.allow_transfer)
                           if (prefix.contains(client)) return true;
                         return false;
                       },
                       {settings.nsid, settings.identity, settings.version},
                       settings.edns_client_subnet},
      d_rate_limiter(settings.rate_limit),
      d_catalog(std::move(catalog)) {
  int rc = uv_loop_init(&d_loop);
  if (rc != 0) throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
  d_loop_open = true;
  d_logger = spdlog::default_logger_raw();
  // uv_async_init cannot fail on Linux once the loop exists (the loop owns the eventfd).
  uv_async_init(&d_loop, &d_mailbox_async, onMailbox);
  d_mailbox_async.data = this;
  uv_async_init(&d_loop, &d_stop_async, onStop);
  d_stop_async.data = this;
  uv_async_init(&d_loop, &d_release_async, onRelease);
  d_release_async.data = this;
  resetMemberCounters(nullptr);
}

Worker::~Worker() {
  if (d_thread.joinable()) {
    stop();
    join();
  }
  closeLoop();
}

std::string Worker::addListeners(uv::Fd udp, uv::Fd tcp, const ListenAddress& address) {
  d_listen_fds.push_back(udp.get());
  d_listen_fds.push_back(tcp.get());
  auto udp_listener = std::make_unique<UdpListener>(*this);
  int rc = udp_listener->open(std::move(udp));
  d_udp.push_back(std::move(udp_listener));
  if (rc != 0) return "cannot listen on " + address.text + " (udp): " + uv_strerror(rc);

  auto tcp_listener = std::make_unique<TcpListener>(*this);
  rc = tcp_listener->open(std::move(tcp));
  d_tcp.push_back(std::move(tcp_listener));
  if (rc != 0) return "cannot listen on " + address.text + " (tcp): " + uv_strerror(rc);
  return {};
}

void Worker::start() {
  d_thread = std::thread([this] { run(); });
}

// See worker.hh for why the thread waits here rather than in uv_run(UV_RUN_DEFAULT).
void Worker::run() {
  std::string name = "rrdns-w" + std::to_string(d_index);
  pthread_setname_np(pthread_self(), name.c_str());  // shows in top -H; failure is harmless
  t_query_thread = true;  // nothing may be signed here (dnssec::queryPathSignatures counts it)
  // The UDP sockets, then libuv's backend. Set up once: the listeners are fixed by now.
  std::vector<pollfd> fds;
  for (const auto& udp : d_udp) fds.push_back({udp->fd(), POLLIN, 0});
  fds.push_back({uv_backend_fd(&d_loop), POLLIN, 0});
  const size_t udp_count = d_udp.size();
  bool turn = true;  // the loop has work, or a timer of its is due
  uint64_t due = 0;  // when the loop's next timer is due, on uv_now's clock
  for (;;) {
    // The loop first: a catalog published before a query arrived must be the one that answers it.
    if (turn) {
      if (uv_run(&d_loop, UV_RUN_NOWAIT) == 0) break;  // every handle closed: stop() finished
      const int timeout = uv_backend_timeout(&d_loop);  // -1: no timer; 0: more work right away
      d_now_ms = uv_now(&d_loop);
      due = timeout < 0 ? UINT64_MAX : d_now_ms + static_cast<unsigned>(timeout);
    }
    for (size_t i = 0; i < udp_count; ++i) {
      if (d_udp[i]->closing()) fds[i].fd = -1;  // poll() skips it from now on
      if (fds[i].revents != 0 && fds[i].fd >= 0) d_udp[i]->receive();
      fds[i].revents = 0;
    }

    const int wait = due == UINT64_MAX ? -1 : static_cast<int>(due > d_now_ms ? due - d_now_ms : 0);
    // The raw call: glibc's wrapper adds cancellation bookkeeping, and no thread is cancelled.
    const int ready = static_cast<int>(::syscall(SYS_poll, fds.data(), fds.size(), wait));
    if (ready < 0) {
      // EINTR; anything else would be a bug in how the set is used (no packet can cause it).
      if (errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      for (auto& p : fds) p.revents = 0;
    }
    d_now_ms = monotonicMs();
    turn = d_now_ms >= due || fds.back().revents != 0;  // libuv's backend: TCP, the mailbox...
    fds.back().revents = 0;
  }
}

void Worker::publish(std::shared_ptr<const answer::Catalog> catalog,
                     std::shared_ptr<const answer::PoolStates> pools) {
  {
    std::lock_guard lock(d_mailbox_mutex);
    d_mailbox_catalog = std::move(catalog);
    d_mailbox_pools = std::move(pools);
    d_mailbox_full = true;
  }
  uv_async_send(&d_mailbox_async);
}

void Worker::onMailbox(uv_async_t* async) {
  auto* self = static_cast<Worker*>(async->data);
  std::shared_ptr<const answer::Catalog> catalog;
  std::shared_ptr<const answer::PoolStates> pools;
  {
    std::lock_guard lock(self->d_mailbox_mutex);
    if (!self->d_mailbox_full) return;
    self->d_mailbox_full = false;
    catalog.swap(self->d_mailbox_catalog);
    pools.swap(self->d_mailbox_pools);
  }
  // Several publishes may coalesce into one callback; the mailbox holds only the newest.
  self->d_catalog.swap(catalog);
  self->d_pools.swap(pools);
  // Most publishes only bring new pool states; the members change with the catalog only.
  if (self->d_catalog.get() != self->d_member_catalog) self->resetMemberCounters(catalog.get());
  // The locals now hold the old ones: this worker is done with them. If it was their last user,
  // dropping them hands them to the reclaimer thread (answer/reclaimer.hh), which frees them: a
  // catalog of a million records takes too long to free here, between two queries.
}

namespace {

// Identifies a pool member across catalogs: a reload builds new objects, and may reorder them.
std::string memberKey(const zone::Pool& pool, const zone::PoolMember& member) {
  std::string key = pool.zone;
  key += '\0';
  key += pool.name;
  key += '\0';
  key += member.address;
  return key;
}

}  // namespace

// Loop thread (or the constructor). `previous` is the catalog d_member_first counted for, still
// alive: members present in both keep their counts, so a reload does not reset a member's
// answer count as the exporter shows it.
void Worker::resetMemberCounters(const answer::Catalog* previous) {
  const zone::ZoneSet* zones = d_catalog ? d_catalog->zones.get() : nullptr;
  std::vector<Counter> fresh(zones ? zones->members().size() : 0);
  std::vector<Counter> fresh_spilled(fresh.size());
  if (zones && previous && previous->zones && !d_member_first.empty()) {
    std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> old_counts;
    for (const zone::Pool* pool : previous->zones->pools())
      for (size_t i = 0; i < pool->members.size(); ++i)
        if (const size_t index = pool->member_base + i; index < d_member_first.size())
          old_counts.emplace(memberKey(*pool, pool->members[i]),
                             std::pair(d_member_first[index].load(),
                                       d_member_spilled[index].load()));
    for (const zone::Pool* pool : zones->pools())
      for (size_t i = 0; i < pool->members.size(); ++i)
        if (auto it = old_counts.find(memberKey(*pool, pool->members[i]));
            it != old_counts.end() && pool->member_base + i < fresh.size()) {
          fresh[pool->member_base + i].set(it->second.first);
          fresh_spilled[pool->member_base + i].set(it->second.second);
        }
  }
  {
    std::lock_guard lock(d_member_mutex);
    d_member_first.swap(fresh);
    d_member_spilled.swap(fresh_spilled);
    d_member_catalog = d_catalog.get();
  }
  // `fresh` and `fresh_spilled` now hold the old counters; freed here, after addStats() can no
  // longer see them.
}

void Worker::addStats(Stats& total, const answer::Catalog* catalog) const {
  d_counters.addTo(total);
  if (catalog == nullptr) return;
  std::lock_guard lock(d_member_mutex);
  if (d_member_catalog != catalog) return;
  const size_t n = std::min(total.member_first.size(), d_member_first.size());
  for (size_t i = 0; i < n; ++i) total.member_first[i] += d_member_first[i].load();
  const size_t spilled = std::min(total.member_spilled.size(), d_member_spilled.size());
  for (size_t i = 0; i < spilled; ++i) total.member_spilled[i] += d_member_spilled[i].load();
}

void Worker::stop() { uv_async_send(&d_stop_async); }

void Worker::release() { uv_async_send(&d_release_async); }

void Worker::onRelease(uv_async_t* async) {
  auto* self = static_cast<Worker*>(async->data);
  for (auto& udp : self->d_udp) udp->release();
  for (auto& tcp : self->d_tcp) tcp->close();
  uv_close(reinterpret_cast<uv_handle_t*>(&self->d_release_async), nullptr);
}

void Worker::onStop(uv_async_t* async) {
  auto* self = static_cast<Worker*>(async->data);
  uv::closeAllHandles(self->loop());
}

void Worker::join() {
  if (d_thread.joinable()) d_thread.join();
}

void Worker::close() {
  if (d_closing) return;
  d_closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&d_mailbox_async), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&d_stop_async), nullptr);
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&d_release_async)))
    uv_close(reinterpret_cast<uv_handle_t*>(&d_release_async), nullptr);
}

void Worker::closeLoop() {
  if (!d_loop_open) return;
  // Also covers a worker that never ran (startup failed after its loop was set up).
  uv::closeAllHandles(&d_loop);
  uv_run(&d_loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&d_loop);
  if (rc != 0) spdlog::warn("worker {}: loop did not close cleanly: {}", d_index, uv_strerror(rc));
  d_loop_open = false;
}

}  // namespace rrdns::server
