// admin_state.hh -- the operator's word on pool members (drain, weight, mark), kept in a state
// file so that a restart keeps it; the file also keeps each check target's last known health, so
// that a restart can start from it (health::savedHealthUsable says when it may).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dns/answer/pool_state.hh"
#include "dns/base/result.hh"
#include "dns/health/state.hh"
#include "dns/zone/zone.hh"

namespace rrdns::app {

struct MemberAdmin {
  bool drained = false;
  std::optional<int64_t> drain_until;  // unix seconds; absent: until undrained
  std::optional<uint32_t> weight;
  std::optional<bool> mark;  // up (true) or down (false) as an external monitor says

  bool empty() const { return !drained && !weight && !mark; }
};

// Entries are keyed by member address ("127.0.0.11": that address in every pool) or by pool and
// address ("www/127.0.0.11": one pool only); the pool-specific entry wins when both exist.
class AdminState {
 public:
  static std::string key(std::string_view pool, std::string_view address) {
    return pool.empty() ? std::string(address) : std::string(pool) + "/" + std::string(address);
  }

  MemberAdmin& at(const std::string& key) { return d_members[key]; }
  const MemberAdmin* find(const std::string& key) const;
  // Removes entries that say nothing any more.
  void prune();

  // What applies to each member of `zones`, indexed like zones.members().
  std::vector<answer::MemberOverride> overrides(const zone::ZoneSet& zones) const;
  // The entry that applies to `member` of `pool`, or nullptr.
  const MemberAdmin* forMember(const zone::Pool& pool, const zone::PoolMember& member) const;

  // Last known health by health::CheckSpec::key(), with a description for the human reader of
  // the file (`target`, not read back). Replaced whole before each save.
  struct TargetRecord {
    std::string description;
    health::SavedHealth health;
  };
  std::map<std::string, TargetRecord>& health() { return d_health; }
  const std::map<std::string, TargetRecord>& health() const { return d_health; }

  // Ends drains whose time is up; true when something changed. The keys of the entries whose
  // drain ended are appended to `ended`, if given.
  bool expire(int64_t now_unix, std::vector<std::string>* ended = nullptr);

  nlohmann::json toJson() const;

  // Reads the state file. A missing file is an empty state; a file without "health" (written
  // before rrdnsd kept it) has no saved health. A file that cannot be read or parsed leaves the
  // state empty and returns what is wrong (the caller reports it).
  Result<void> load(const std::string& path);
  // Writes the state file atomically (temporary file, fsync, rename).
  Result<void> save(const std::string& path) const;

 private:
  std::map<std::string, MemberAdmin> d_members;
  std::map<std::string, TargetRecord> d_health;
};

}  // namespace rrdns::app
