// catalog_publisher.cc -- snapshots in, pool states out, transitions logged.
#include "dns/app/catalog_publisher.hh"

#include <spdlog/spdlog.h>

#include <ctime>
#include <map>
#include <unordered_map>

#include "dns/base/clock.hh"
#include "dns/wire/name.hh"

namespace rrdns::app {
namespace {

constexpr uint64_t kTickMs = 250;

}  // namespace

CatalogPublisher::CatalogPublisher(uv_loop_t* loop, server::Server& server)
    : d_server(server),
      d_checker([this](std::shared_ptr<const health::HealthSnapshot> snapshot) {
        {
          std::lock_guard lock(d_mailbox_mutex);
          d_mailbox = std::move(snapshot);
        }
        uv_async_send(&d_async);
      }) {
  uv_async_init(loop, &d_async, onSnapshot);
  d_async.data = this;
  uv_timer_init(loop, &d_tick);
  d_tick.data = this;
  uv_timer_start(&d_tick, onTick, kTickMs, kTickMs);
  d_checker.start();
}

CatalogPublisher::~CatalogPublisher() { d_checker.stop(); }

void CatalogPublisher::close() {
  if (d_closed) return;
  d_closed = true;
  d_checker.stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&d_async), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&d_tick), nullptr);
}

void CatalogPublisher::publish(std::shared_ptr<const answer::Catalog> catalog) {
  const auto& targets = catalog->zones->targets();
  d_health = health::carryOver(targets, d_catalog ? &d_catalog->zones->targets() : nullptr,
                               d_health.get(), monotonicMs());
  d_catalog = std::move(catalog);
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  d_published_at = when;
  recompute();
  d_checker.setTargets(targets);
  ++d_generation;
}

void CatalogPublisher::onSnapshot(uv_async_t* async) {
  auto* self = static_cast<CatalogPublisher*>(async->data);
  std::shared_ptr<const health::HealthSnapshot> snapshot;
  {
    std::lock_guard lock(self->d_mailbox_mutex);
    snapshot.swap(self->d_mailbox);
  }
  if (!snapshot || !self->d_catalog || snapshot->generation != self->d_generation) return;
  self->d_health = std::move(snapshot);
  self->recompute();
}

void CatalogPublisher::onTick(uv_timer_t* timer) {
  auto* self = static_cast<CatalogPublisher*>(timer->data);
  if (self->d_admin.expire(std::time(nullptr))) {
    spdlog::info("a timed drain ended");
    (void)self->adminChanged();  // a failed save is logged there
  } else if (self->d_pools && self->d_pools->ramping) {
    self->recompute();
  }
}

void CatalogPublisher::loadAdminState(std::string path) {
  d_state_file = std::move(path);
  if (d_state_file.empty()) return;
  if (Result<void> loaded = d_admin.load(d_state_file); !loaded.ok())
    spdlog::error("{}; ignoring it (it is rewritten on the next change)", loaded.error().text());
  else
    spdlog::info("operator state from {}: {}", d_state_file, d_admin.toJson()["members"].dump());
  if (d_catalog) recompute();
}

Result<void> CatalogPublisher::adminChanged() {
  d_admin.prune();
  Result<void> saved;
  if (!d_state_file.empty()) {
    saved = d_admin.save(d_state_file);
    if (!saved.ok()) spdlog::error("cannot save the operator state: {}", saved.error().text());
  }
  if (d_catalog) recompute();
  return saved;
}

void CatalogPublisher::recompute() {
  const auto overrides = d_admin.overrides(*d_catalog->zones);
  auto pools = answer::computePoolStates(*d_catalog->zones, d_health.get(), monotonicMs(),
                                         &overrides);
  pools->catalog = d_catalog.get();
  logPoolChanges(*pools);
  d_pools = std::move(pools);
  d_server.publish(d_catalog, d_pools);
  if (d_on_published) d_on_published();
}

void CatalogPublisher::logPoolChanges(const answer::PoolStates& after) {
  // Keyed by zone and pool name rather than pool id, so a reload is not taken for a change.
  std::map<std::string, answer::PoolMode> modes;
  for (const zone::Pool* pool : d_catalog->zones->pools()) {
    for (int family = 0; family < 2; ++family) {
      const answer::FamilyState& now = after.pools[pool->id].family[family];
      const std::string key = pool->zone + pool->name + (family == 0 ? "/A" : "/AAAA");
      modes[key] = now.mode;
      auto it = d_modes.find(key);
      const answer::PoolMode was = it != d_modes.end() ? it->second : answer::PoolMode::Healthy;
      if (now.mode == was || now.up + now.active == 0) continue;
      const bool bad = now.mode == answer::PoolMode::FailOpen ||
                       now.mode == answer::PoolMode::AllDownNone ||
                       now.mode == answer::PoolMode::AllDownServfail;
      if (now.mode == answer::PoolMode::FailOpen) ++d_fail_open_events;
      spdlog::log(bad ? spdlog::level::warn : spdlog::level::info,
                  "pool {} ({}) {}: {}, {} of {} members up", pool->name,
                  wire::nameToText(pool->zone), family == 0 ? "A" : "AAAA",
                  answer::poolModeName(now.mode), now.up, now.active);
    }
  }
  d_modes = std::move(modes);
}

}  // namespace rrdns::app
