// admin_state.cc -- member overrides, their expiry, and the state file.
#include "dns/app/admin_state.hh"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dns/control/protocol.hh"

namespace rrdns::app {

const MemberAdmin* AdminState::find(const std::string& key) const {
  auto it = d_members.find(key);
  return it == d_members.end() ? nullptr : &it->second;
}

void AdminState::prune() {
  std::erase_if(d_members, [](const auto& entry) { return entry.second.empty(); });
}

const MemberAdmin* AdminState::forMember(const zone::Pool& pool,
                                         const zone::PoolMember& member) const {
  if (const MemberAdmin* specific = find(key(pool.name, member.text))) return specific;
  return find(member.text);
}

std::vector<answer::MemberOverride> AdminState::overrides(const zone::ZoneSet& zones) const {
  std::vector<answer::MemberOverride> out(zones.members().size());
  if (d_members.empty()) return out;
  for (const zone::Pool* pool : zones.pools()) {
    for (size_t i = 0; i < pool->members.size(); ++i) {
      const MemberAdmin* admin = forMember(*pool, pool->members[i]);
      if (!admin) continue;
      answer::MemberOverride& o = out[pool->member_base + i];
      o.drained = admin->drained;
      o.weight = admin->weight;
      o.up = admin->mark;
    }
  }
  return out;
}

bool AdminState::expire(int64_t now_unix, std::vector<std::string>* ended) {
  bool changed = false;
  for (auto& [key, admin] : d_members) {
    if (admin.drained && admin.drain_until && *admin.drain_until <= now_unix) {
      admin.drained = false;
      admin.drain_until.reset();
      changed = true;
      if (ended) ended->push_back(key);
    }
  }
  if (changed) prune();
  return changed;
}

nlohmann::json AdminState::toJson() const {
  nlohmann::json members = nlohmann::json::object();
  for (const auto& [key, admin] : d_members) {
    nlohmann::json entry = nlohmann::json::object();
    if (admin.drained) entry["drained"] = true;
    if (admin.drain_until) entry["drain_until"] = *admin.drain_until;
    if (admin.weight) entry["weight"] = *admin.weight;
    if (admin.mark) entry["mark"] = *admin.mark ? "up" : "down";
    members[key] = std::move(entry);
  }
  nlohmann::json doc = {{"version", 1}, {"members", std::move(members)}};
  // Version 1 still: an older rrdnsd reads "members" and ignores this, and a file without it
  // loads here as "nothing saved".
  if (!d_health.empty()) {
    nlohmann::json health = nlohmann::json::object();
    for (const auto& [key, record] : d_health) {
      nlohmann::json entry = {{"target", record.description},
                              {"up", record.health.up},
                              {"observed_ms", record.health.observed_unix_ms}};
      if (record.health.reported_weight) entry["weight"] = *record.health.reported_weight;
      health[key] = std::move(entry);
    }
    doc["health"] = std::move(health);
  }
  return doc;
}

Result<void> AdminState::load(const std::string& path) {
  d_members.clear();
  d_health.clear();
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return success();
    return errorAt(path, 0, "", std::string("cannot read: ") + std::strerror(errno));
  }
  std::map<std::string, MemberAdmin> loaded;
  std::map<std::string, TargetRecord> health;
  try {
    const nlohmann::json doc = nlohmann::json::parse(in);
    if (doc.at("version").get<int>() != 1)
      return errorAt(path, 0, "", "unknown state file version");
    for (const auto& [key, entry] : doc.at("members").items()) {
      MemberAdmin admin;
      admin.drained = entry.value("drained", false);
      if (entry.contains("drain_until")) admin.drain_until = entry.at("drain_until").get<int64_t>();
      if (entry.contains("weight")) {
        // The range `rrdnsctl weight` is held to; get<uint32_t>() alone would turn a
        // hand-edited -1 into 4294967295.
        const nlohmann::json& weight = entry.at("weight");
        if (!weight.is_number_integer() || weight.get<int64_t>() < 0 ||
            weight.get<int64_t>() > control::kMaxWeight)
          return errorAt(path, 0, key,
                         "weight " + weight.dump() + " is not an integer from 0 to " +
                             std::to_string(control::kMaxWeight));
        admin.weight = weight.get<uint32_t>();
      }
      if (entry.contains("mark")) {
        const std::string mark = entry.at("mark").get<std::string>();
        if (mark != "up" && mark != "down") return errorAt(path, 0, key, "mark is not up or down");
        admin.mark = mark == "up";
      }
      loaded.emplace(key, admin);
    }
    if (doc.contains("health")) {
      const nlohmann::json& targets = doc.at("health");
      if (!targets.is_object()) return errorAt(path, 0, "health", "is not an object");
      for (const auto& [key, entry] : targets.items()) {
        TargetRecord record;
        if (!entry.is_object()) return errorAt(path, 0, key, "health entry is not an object");
        if (!entry.contains("up") || !entry.at("up").is_boolean())
          return errorAt(path, 0, key, "health entry has no \"up\" of true or false");
        record.health.up = entry.at("up").get<bool>();
        const nlohmann::json* observed =
            entry.contains("observed_ms") ? &entry.at("observed_ms") : nullptr;
        if (!observed || !observed->is_number_integer() || observed->get<int64_t>() <= 0)
          return errorAt(path, 0, key,
                         "health entry has no \"observed_ms\" (unix time in milliseconds)");
        record.health.observed_unix_ms = observed->get<int64_t>();
        if (entry.contains("weight")) {
          const nlohmann::json& weight = entry.at("weight");
          if (!weight.is_number_integer() || weight.get<int64_t>() < 0 ||
              weight.get<int64_t>() > 100)
            return errorAt(path, 0, key,
                           "health weight " + weight.dump() + " is not an integer from 0 to 100");
          record.health.reported_weight = weight.get<uint8_t>();
        }
        if (entry.contains("target") && entry.at("target").is_string())
          record.description = entry.at("target").get<std::string>();
        health.emplace(key, std::move(record));
      }
    }
  } catch (const std::exception& e) {
    return errorAt(path, 0, "", std::string("corrupt state file: ") + e.what());
  }
  d_members = std::move(loaded);
  d_health = std::move(health);
  return success();
}

Result<void> AdminState::save(const std::string& path) const {
  // A crash mid-write must leave either the old file or the new one, never half of one.
  const std::string temporary = path + ".tmp";
  const std::string text = toJson().dump(2) + "\n";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errorAt(temporary, 0, "", std::strerror(errno));
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error error = errorAt(temporary, 0, "", std::strerror(errno));
      ::close(fd);
      return error;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return errorAt(temporary, 0, "", std::strerror(errno));
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return errorAt(path, 0, "", std::strerror(errno));
  return success();
}

}  // namespace rrdns::app
