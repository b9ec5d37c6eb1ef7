// catalog_publisher.hh -- what the workers serve: each catalog, published with the pool states
// that its health checks and the operator's overrides give, and republished when either changes.
// It also keeps the checker's targets in step with the catalog being served.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "dns/answer/answer.hh"
#include "dns/app/admin_state.hh"
#include "dns/health/checker.hh"
#include "dns/server/server.hh"
#include "dns/uv/handle.hh"

namespace rrdns::app {

// Lives on the main loop. The checker runs on its own thread and hands snapshots over through
// a mailbox and a uv_async; pool states are computed here, off the query path, and published to
// the workers together with the catalog they belong to.
class CatalogPublisher final : public uv::HandleOwner {
 public:
  CatalogPublisher(uv_loop_t* loop, server::Server& server);
  ~CatalogPublisher();
  CatalogPublisher(const CatalogPublisher&) = delete;
  CatalogPublisher& operator=(const CatalogPublisher&) = delete;

  // Main loop: serve `catalog` from now on (at startup and after every reload). Targets it shares
  // with the previous catalog keep their health, so a reload never resets a down member to up.
  void publish(std::shared_ptr<const answer::Catalog> catalog);

  // Main loop: calls `ready` once every target of the catalog being served has its first result
  // or starts from saved health, and `members_settled()` is true (discovery has answered for
  // every name, so the members it gives are targets too), or when the bound passes: the longest
  // check timeout of the catalog (discovery's checks included) plus kFirstRoundSlackMs. Logs what
  // it waited for and how long. rrdnsd calls it before it reads its first query (a new daemon
  // taking over from an old one waits the same way), so that a replica already dead at start is
  // never answered. Not called if the publisher is closed first. Once at a time.
  void awaitFirstHealth(std::function<bool()> members_settled, std::function<void()> ready);
  // A timed-out probe reports at its timeout: the slack lets that result in before the bound.
  static constexpr uint64_t kFirstRoundSlackMs = 200;

  // Main loop: writes the state file now (operator entries and every target's last known
  // health), if there is one. Health changes are saved by themselves (coalesced), and at close.
  // Until awaitFirstHealth's round is over, the health loaded from the file is written back
  // unchanged (the checker does not know more yet).
  Result<void> saveState();
  // Main loop, after rrdnsctl replace handed over: the state file is the new daemon's from now
  // on, so this one never writes it again (not even at close), or it would undo the new one's
  // changes.
  void releaseStateFile();

  // Main loop: saves the state, closes the async and the timers and stops the checker (for
  // closeAllHandles).
  void close() override;

  uint64_t failOpenEvents() const { return d_fail_open_events; }

  // Main loop: called after every publication to the workers (for the metrics feed).
  void onPublished(std::function<void()> hook) { d_on_published = std::move(hook); }

  // Operator overrides (rrdnsctl drain/weight/mark). `path` is the state file that keeps them
  // over a restart ("" keeps them in memory only). A state file that cannot be read is reported
  // and ignored.
  void loadAdminState(std::string path);
  AdminState& admin() { return d_admin; }
  const std::string& stateFile() const { return d_state_file; }
  // After changing admin(): persists it and publishes new pool states. Fails with the error
  // writing the state file (the change is in effect either way).
  Result<void> adminChanged();

  // What is being served, for status and explain (main loop only).
  const std::shared_ptr<const answer::Catalog>& catalog() const { return d_catalog; }
  const std::shared_ptr<const answer::PoolStates>& pools() const { return d_pools; }
  const std::shared_ptr<const health::HealthSnapshot>& health() const { return d_health; }
  std::vector<answer::MemberOverride> overrides() const {
    return d_admin.overrides(*d_catalog->zones);
  }
  std::vector<health::TargetStatus> targetStatus() const { return d_checker.status(); }
  // When the catalog being served was published (ISO 8601, UTC).
  const std::string& publishedAt() const { return d_published_at; }

 private:
  static void onSnapshot(uv_async_t* async);
  static void onTick(uv_timer_t* timer);
  static void onSaveDue(uv_timer_t* timer);
  static void onFirstRoundTick(uv_timer_t* timer);
  void healthToAdmin();
  void recompute();
  void logPoolChanges(const answer::PoolStates& after);

  server::Server& d_server;
  health::Checker d_checker;
  uv_async_t d_async;
  uv_timer_t d_tick;  // recomputes while a member is in slow start
  uv_timer_t d_save;  // one save for the health changes of the last kSaveDelayMs
  uv_timer_t d_first_round;  // polls while awaitFirstHealth waits
  bool d_closed = false;

  std::mutex d_mailbox_mutex;  // the checker thread's hand-over slot
  std::shared_ptr<const health::HealthSnapshot> d_mailbox;

  std::shared_ptr<const answer::Catalog> d_catalog;
  std::shared_ptr<const health::HealthSnapshot> d_health;  // indexed like d_catalog's targets
  std::shared_ptr<const answer::PoolStates> d_pools;
  uint64_t d_generation = 0;  // setTargets calls made; snapshots of older lists are dropped
  uint64_t d_fail_open_events = 0;
  std::map<std::string, answer::PoolMode> d_modes;  // last logged mode per pool and family
  std::function<void()> d_on_published;
  AdminState d_admin;
  std::string d_published_at;
  std::string d_state_file;

  struct FirstRound {
    uint64_t started_ms = 0;
    uint64_t bound_ms = 0;
    std::function<bool()> members_settled;
    std::function<void()> ready;
  };
  FirstRound d_wait;
  bool d_first_round_done = false;  // from then on the checker's health is what the file keeps
};

}  // namespace rrdns::app
