// catalog_publisher.cc -- snapshots in, pool states out, transitions logged.
#include "dns/app/catalog_publisher.hh"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <unordered_map>

#include "dns/app/report.hh"
#include "dns/base/clock.hh"
#include "dns/wire/name.hh"

namespace rrdns::app {
namespace {

constexpr uint64_t kTickMs = 250;
// Health changes are written to the state file at most this often: a flapping pool of many
// members costs one write a second, not one per probe.
constexpr uint64_t kSaveDelayMs = 1000;
// How often the start wait looks whether the first round is complete.
constexpr uint64_t kFirstRoundPollMs = 5;

std::string seconds(uint64_t ms) { return fmt::format("{:.2f} s", ms / 1000.0); }

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
  uv_timer_init(loop, &d_save);
  d_save.data = this;
  uv_timer_init(loop, &d_first_round);
  d_first_round.data = this;
  d_checker.start();
}

CatalogPublisher::~CatalogPublisher() { d_checker.stop(); }

void CatalogPublisher::close() {
  if (d_closed) return;
  d_closed = true;
  // A clean stop keeps the health it knows for the next start (failures are logged there).
  (void)saveState();
  d_checker.stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&d_async), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&d_tick), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&d_save), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&d_first_round), nullptr);
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
  // Snapshots come when health changes (or a first result arrives): keep it for a restart.
  if (!self->d_state_file.empty() && !uv_is_active(reinterpret_cast<uv_handle_t*>(&self->d_save)))
    uv_timer_start(&self->d_save, onSaveDue, kSaveDelayMs, 0);
}

void CatalogPublisher::onSaveDue(uv_timer_t* timer) {
  (void)static_cast<CatalogPublisher*>(timer->data)->saveState();  // a failure is logged there
}

void CatalogPublisher::onTick(uv_timer_t* timer) {
  auto* self = static_cast<CatalogPublisher*>(timer->data);
  if (std::vector<std::string> ended; self->d_admin.expire(std::time(nullptr), &ended)) {
    for (const std::string& key : ended) {  // "www/127.0.0.11", or "127.0.0.11": every pool
      const size_t slash = key.find('/');
      spdlog::info("timed drain ended: member {} pool {}", key.substr(slash + 1),
                   slash == std::string::npos ? "* (every pool)" : key.substr(0, slash));
    }
    (void)self->adminChanged();  // a failed save is logged there
  } else if (self->d_pools && self->d_pools->ramping) {
    self->recompute();
  }
}

void CatalogPublisher::loadAdminState(std::string path) {
  d_state_file = std::move(path);
  if (d_state_file.empty()) return;
  if (Result<void> loaded = d_admin.load(d_state_file); !loaded.ok()) {
    spdlog::error("{}; ignoring it (it is rewritten on the next change)", loaded.error().text());
  } else {
    spdlog::info("operator state from {}: {}", d_state_file, d_admin.toJson()["members"].dump());
    std::map<std::string, health::SavedHealth> saved;
    for (const auto& [key, record] : d_admin.health()) saved.emplace(key, record.health);
    // Before the first setTargets (publish), so that the targets it creates can start from it.
    if (!saved.empty()) {
      spdlog::info("saved health for {} from {} (used where younger than interval x fall/rise)",
                   quantity(saved.size(), "target"), d_state_file);
      d_checker.setSavedHealth(std::move(saved));
    }
  }
  if (d_catalog) recompute();
}

Result<void> CatalogPublisher::adminChanged() {
  d_admin.prune();
  Result<void> saved = saveState();
  if (d_catalog) recompute();
  return saved;
}

void CatalogPublisher::healthToAdmin() {
  // Before the first round the checker knows less than the file it was started from (a start
  // that fails, or is stopped while it waits, must not erase it): keep what was loaded.
  if (!d_first_round_done) return;
  auto& records = d_admin.health();
  records.clear();
  for (const health::TargetStatus& t : d_checker.status()) {
    if (t.observed_unix_ms <= 0) continue;  // nothing observed: nothing to keep
    records[t.spec.key()] = {t.spec.description(),
                             {t.checks_up, t.reported_weight, t.observed_unix_ms}};
  }
}

Result<void> CatalogPublisher::saveState() {
  if (d_state_file.empty()) return success();
  uv_timer_stop(&d_save);
  healthToAdmin();
  Result<void> saved = d_admin.save(d_state_file);
  if (!saved.ok()) spdlog::error("cannot save the state file: {}", saved.error().text());
  return saved;
}

void CatalogPublisher::releaseStateFile() {
  d_state_file.clear();
  if (!d_closed) uv_timer_stop(&d_save);
}

void CatalogPublisher::awaitFirstHealth(std::function<bool()> members_settled,
                                        std::function<void()> ready) {
  uint64_t longest = 0;
  if (d_catalog) {
    for (const health::CheckSpec& spec : d_catalog->zones->targets())
      if (spec.kind != health::CheckKind::None)
        longest = std::max<uint64_t>(longest, spec.timeout_ms);
    for (const zone::DiscoverySource& source : d_catalog->zones->discoverySources())
      if (source.check.kind != health::CheckKind::None)
        longest = std::max<uint64_t>(longest, source.check.timeout_ms);
  }
  d_wait = {monotonicMs(), longest + kFirstRoundSlackMs, std::move(members_settled),
            std::move(ready)};
  if (d_closed) return;
  uv_timer_start(&d_first_round, onFirstRoundTick, 0, kFirstRoundPollMs);
}

void CatalogPublisher::onFirstRoundTick(uv_timer_t* timer) {
  auto* self = static_cast<CatalogPublisher*>(timer->data);
  FirstRound& wait = self->d_wait;
  const bool settled = !wait.members_settled || wait.members_settled();
  // The snapshot the workers' pool states come from, not the checker's own view: when it says
  // every target is seen, so do the answers.
  const bool known = self->d_health && self->d_health->generation == self->d_generation &&
                     self->d_health->awaiting_first == 0;
  const uint64_t waited = monotonicMs() - wait.started_ms;
  if (!(settled && known) && waited < wait.bound_ms) return;
  uv_timer_stop(timer);

  size_t targets = 0, from_saved = 0;
  std::vector<std::string> unseen;
  std::map<std::string, bool> keys;  // a target named by several members counts once
  for (const health::TargetStatus& t : self->d_checker.status()) {
    if (t.spec.kind == health::CheckKind::None || !keys.emplace(t.spec.key(), true).second)
      continue;
    ++targets;
    if (t.from_saved) ++from_saved;
    if (!t.seen)
      unseen.push_back(t.spec.description() + " (" + (t.up ? "up" : "down") + ")");
  }
  if (settled && known) {
    if (targets > 0)
      spdlog::info("health: first round done in {}: {} known ({} from saved health)",
                   seconds(waited), quantity(targets, "target"), from_saved);
  } else {
    std::string missing;
    for (const auto& u : unseen) missing += (missing.empty() ? "" : ", ") + u;
    spdlog::warn(
        "health: first round cut short after {} (longest check timeout + {} ms): {}{}",
        seconds(waited), kFirstRoundSlackMs,
        unseen.empty() ? std::string("every target known")
                       : quantity(unseen.size(), "target") +
                             " without a result answer as `initial` says until it comes: " +
                             missing,
        settled ? "" : "; member discovery has not answered for every name yet (its members "
                       "join as their names resolve, once checked)");
  }
  self->d_first_round_done = true;
  auto ready = std::move(wait.ready);
  wait = {};
  if (ready) ready();
}

void CatalogPublisher::recompute() {
  const auto overrides = d_admin.overrides(*d_catalog->zones);
  auto pools = answer::computePoolStates(*d_catalog->zones, d_health.get(), monotonicMs(),
                                         &overrides, d_pools.get());
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
