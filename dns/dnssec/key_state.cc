// key_state.cc -- key timers: their state file (keys.json) and the planner that sets them.
#include "dns/dnssec/key_state.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace rrdns::dnssec {

namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

bool signsDnskey(KeyRole role) { return role != KeyRole::Zsk; }

// Whether the key signs at `now`.
bool activeAt(const KeyRecord& k, uint64_t now) {
  return k.active != 0 && k.active <= now && (k.retire == 0 || now < k.retire);
}
bool removedAt(const KeyRecord& k, uint64_t now) { return k.remove != 0 && k.remove <= now; }

// A successor under way: published (or to be) but not active yet, or to become active later.
bool awaitingActivation(const KeyRecord& k, uint64_t now) {
  return !removedAt(k, now) && (k.active == 0 || k.active > now);
}

// How long after a key signing data stops, its signatures may still sit in caches: the largest
// TTL of any RRset it signed. A KSK signs only the DNSKEY RRset.
uint64_t signatureCacheTime(KeyRole role, const ZoneTimes& times) {
  return role == KeyRole::Ksk ? times.dnskey_ttl : std::max(times.dnskey_ttl, times.max_ttl);
}

KeyRecord newKey(const zone::DnssecPolicy& policy, KeyRole role, uint64_t now) {
  KeyRecord k;
  k.algorithm = policy.algorithm;
  k.role = role;
  k.created = now;
  k.publish = now;
  return k;
}

// The roles the policy signs with.
std::vector<KeyRole> rolesOf(const zone::DnssecPolicy& policy) {
  if (policy.single_type_signing) return {KeyRole::Csk};
  return {KeyRole::Ksk, KeyRole::Zsk};
}

// The earliest timer after `now` of any key, and when the active ZSK is due to roll; 0: none.
uint64_t nextEvent(const KeySet& set, const zone::DnssecPolicy& policy, uint64_t now) {
  uint64_t next = 0;
  auto consider = [&](uint64_t t) {
    if (t > now && (next == 0 || t < next)) next = t;
  };
  bool zsk_successor = false;
  for (const KeyRecord& k : set.keys) {
    if (k.role == KeyRole::Zsk && awaitingActivation(k, now)) zsk_successor = true;
  }
  for (const KeyRecord& k : set.keys) {
    for (uint64_t t : {k.publish, k.ready, k.active, k.retire, k.remove}) consider(t);
    if (k.role == KeyRole::Zsk && policy.zsk_lifetime > 0 && activeAt(k, now) && k.retire == 0 &&
        !zsk_successor) {
      consider(k.active + policy.zsk_lifetime);
    }
  }
  return next;
}

// RFC 6781 4.1.1.1, pre-publication: the successor is published now and takes over once its
// DNSKEY has reached every cache (propagation-delay + dnskey-ttl); the old key stays published
// until the signatures it made have left them (propagation-delay + the largest TTL).
void rollZsk(KeySet& set, size_t old, const zone::DnssecPolicy& policy, const ZoneTimes& times,
             uint64_t now) {
  KeyRecord successor = newKey(policy, KeyRole::Zsk, now);
  successor.active = now + policy.propagation_delay + times.dnskey_ttl;
  set.keys[old].retire = successor.active;
  set.keys[old].remove = successor.active + policy.propagation_delay +
                         signatureCacheTime(KeyRole::Zsk, times);
  set.keys.push_back(successor);
}

Error stateError(const std::string& path, uint32_t line, std::string message) {
  return errorAt(path, line, {}, std::move(message));
}

std::optional<KeyRole> roleFromName(std::string_view name) {
  for (KeyRole r : {KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk})
    if (roleName(r) == name) return r;
  return std::nullopt;
}

std::string toHex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(digits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(digits[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

std::optional<std::string> fromHex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

const char* const kTimerNames[] = {"created", "publish", "ready", "active",
                                   "retire",  "remove",  "submitted"};
uint64_t KeyRecord::*const kTimers[] = {&KeyRecord::created, &KeyRecord::publish,
                                        &KeyRecord::ready,   &KeyRecord::active,
                                        &KeyRecord::retire,  &KeyRecord::remove,
                                        &KeyRecord::submitted};

}  // namespace

KeyState keyState(const KeyRecord& key, uint64_t now) {
  auto reached = [now](uint64_t t) { return t != 0 && t <= now; };
  if (reached(key.remove)) return KeyState::Removed;
  if (reached(key.retire)) return KeyState::Retired;
  if (reached(key.active)) return KeyState::Active;
  if (reached(key.ready)) return KeyState::Ready;
  if (reached(key.publish)) return KeyState::Published;
  return KeyState::Generated;
}

std::string_view keyStateName(KeyState state) {
  switch (state) {
    case KeyState::Generated: return "generated";
    case KeyState::Published: return "published";
    case KeyState::Ready: return "ready";
    case KeyState::Active: return "active";
    case KeyState::Retired: return "retired";
    case KeyState::Removed: return "removed";
  }
  return "?";
}

Result<std::optional<KeySet>> readKeySet(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return std::optional<KeySet>{};
  std::ifstream in(path);
  if (!in) return stateError(path, 0, std::string("cannot read: ") + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // The line where the JSON stops making sense.
    size_t upto = std::min<size_t>(e.byte, text.size());
    auto line = static_cast<uint32_t>(
        std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(upto), '\n') + 1);
    return stateError(path, line, "not valid JSON");
  }
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array())
    return stateError(path, 0, "not a key state file: no \"keys\" array");
  if (doc.value("version", 0) != kFormatVersion)
    return stateError(path, 0, "unknown key state format version (this rrdns reads " +
                                   std::to_string(kFormatVersion) + ")");
  KeySet set;
  if (doc.contains("nsec3-salt")) {
    const json& salt = doc["nsec3-salt"];
    auto raw = salt.is_string() ? fromHex(salt.get<std::string>()) : std::nullopt;
    if (!raw) return stateError(path, 0, "nsec3-salt: not hex");
    set.nsec3_salt = *raw;
  }
  size_t index = 0;
  for (const json& k : doc["keys"]) {
    std::string where = "keys[" + std::to_string(index++) + "]";
    if (!k.is_object()) return errorAt(path, 0, where, "not an object");
    KeyRecord rec;
    if (!k.contains("id") || !k["id"].is_string() || k["id"].get<std::string>().empty())
      return errorAt(path, 0, where + ".id", "missing");
    rec.id = k["id"].get<std::string>();
    // The id names the PEM file: nothing that could leave the directory.
    if (rec.id.find_first_not_of("0123456789abcdef") != std::string::npos)
      return errorAt(path, 0, where + ".id", "not a key id (lower-case hex)");
    if (!k.contains("role") || !k["role"].is_string() || !roleFromName(k["role"].get<std::string>()))
      return errorAt(path, 0, where + ".role", "not ksk, zsk or csk");
    rec.role = *roleFromName(k["role"].get<std::string>());
    if (!k.contains("algorithm") || !k["algorithm"].is_number_unsigned())
      return errorAt(path, 0, where + ".algorithm", "missing");
    auto alg = k["algorithm"].get<uint64_t>();
    if (alg != static_cast<uint64_t>(zone::DnssecAlgorithm::EcdsaP256Sha256) &&
        alg != static_cast<uint64_t>(zone::DnssecAlgorithm::Ed25519))
      return errorAt(path, 0, where + ".algorithm", "not 13 or 15: " + std::to_string(alg));
    rec.algorithm = static_cast<zone::DnssecAlgorithm>(alg);
    if (!k.contains("tag") || !k["tag"].is_number_unsigned() || k["tag"].get<uint64_t>() > 65535)
      return errorAt(path, 0, where + ".tag", "missing or not 0..65535");
    rec.tag = static_cast<uint16_t>(k["tag"].get<uint64_t>());
    for (size_t t = 0; t < std::size(kTimers); ++t) {
      if (!k.contains(kTimerNames[t])) continue;
      const json& v = k[kTimerNames[t]];
      if (!v.is_number_unsigned()) return errorAt(path, 0, where + "." + kTimerNames[t], "not unix seconds");
      rec.*kTimers[t] = v.get<uint64_t>();
    }
    set.keys.push_back(std::move(rec));
  }
  return std::optional<KeySet>(std::move(set));
}

Result<void> writeKeySet(const std::string& path, const KeySet& keys) {
  json doc;
  doc["version"] = kFormatVersion;
  if (!keys.nsec3_salt.empty()) doc["nsec3-salt"] = toHex(keys.nsec3_salt);
  doc["keys"] = json::array();
  for (const KeyRecord& k : keys.keys) {
    json rec;
    rec["id"] = k.id;
    rec["tag"] = k.tag;
    rec["algorithm"] = static_cast<int>(k.algorithm);
    rec["role"] = std::string(roleName(k.role));
    for (size_t t = 0; t < std::size(kTimers); ++t) {
      if (k.*kTimers[t] != 0) rec[kTimerNames[t]] = k.*kTimers[t];
    }
    doc["keys"].push_back(std::move(rec));
  }
  std::string text = doc.dump(2) + "\n";
  // A new file beside the old one, renamed over it: a crash leaves the old state or the new one.
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return stateError(tmp, 0, std::string("cannot write: ") + std::strerror(errno));
  bool ok = fchmod(fd, 0600) == 0;  // a leftover .tmp may have had other modes
  size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  int saved = errno;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) saved = errno;
    unlink(tmp.c_str());
    return stateError(path, 0, std::string("cannot write: ") + std::strerror(saved));
  }
  return success();
}

KeyPlan planKeys(const KeySet& keys, const zone::DnssecPolicy& policy, const ZoneTimes& times,
                 uint64_t now) {
  KeyPlan plan;
  plan.keys.nsec3_salt = keys.nsec3_salt;
  // Removed keys leave the set.
  for (const KeyRecord& k : keys.keys) {
    if (removedAt(k, now)) {
      plan.changed = true;
      continue;
    }
    plan.keys.keys.push_back(k);
  }
  // Initial keys: a role without any key gets one, published and active at once (nothing is
  // signed yet, so there is nothing to roll from; a KSK's DS may go to the parent right away).
  for (KeyRole role : rolesOf(policy)) {
    bool present = std::any_of(plan.keys.keys.begin(), plan.keys.keys.end(),
                               [role](const KeyRecord& k) { return k.role == role; });
    if (present) continue;
    KeyRecord k = newKey(policy, role, now);
    k.active = now;
    if (signsDnskey(role)) k.ready = now;
    plan.keys.keys.push_back(k);
    plan.changed = true;
  }
  // The automatic ZSK rollover: the active ZSK has lived zsk-lifetime and no successor is on its
  // way.
  if (policy.zsk_lifetime > 0) {
    bool successor = std::any_of(plan.keys.keys.begin(), plan.keys.keys.end(),
                                 [now](const KeyRecord& k) {
                                   return k.role == KeyRole::Zsk && awaitingActivation(k, now);
                                 });
    for (size_t i = 0; i < plan.keys.keys.size() && !successor; ++i) {
      const KeyRecord& k = plan.keys.keys[i];
      if (k.role == KeyRole::Zsk && activeAt(k, now) && k.retire == 0 &&
          now >= k.active + policy.zsk_lifetime) {
        rollZsk(plan.keys, i, policy, times, now);
        plan.changed = true;
        successor = true;
      }
    }
  }
  plan.next_event = nextEvent(plan.keys, policy, now);
  return plan;
}

Result<KeyPlan> startRollover(const KeySet& keys, KeyRole role, const zone::DnssecPolicy& policy,
                              const ZoneTimes& times, uint64_t now) {
  std::vector<KeyRole> roles = rolesOf(policy);
  if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
    return error(std::string("the zone has no ") + std::string(roleName(role)) + " to roll over (" +
                 (policy.single_type_signing ? "it signs with a csk" : "it signs with a ksk and a zsk") +
                 ")");
  }
  KeyPlan plan = planKeys(keys, policy, times, now);
  std::vector<KeyRecord>& set = plan.keys.keys;
  for (const KeyRecord& k : set) {
    if (k.role == role && awaitingActivation(k, now)) {
      return error("a " + std::string(roleName(role)) + " rollover is under way already (key " +
                   std::to_string(k.tag) + (k.active ? " becomes active at " + std::to_string(k.active)
                                                     : std::string(" waits for `dnssec submitted`")) +
                   ")");
    }
  }
  auto current = std::find_if(set.begin(), set.end(),
                              [&](const KeyRecord& k) { return k.role == role && activeAt(k, now); });
  if (current == set.end()) return error("no active " + std::string(roleName(role)) + " to roll over");
  if (role == KeyRole::Zsk) {
    rollZsk(plan.keys, static_cast<size_t>(current - set.begin()), policy, times, now);
  } else {
    // Double signature (RFC 6781 4.1.2): the successor signs the DNSKEY RRset beside the old key
    // from now on, and its DS may go to the parent once its DNSKEY has reached every cache. It
    // becomes active, and the old key retires, when the operator says the DS is there.
    KeyRecord successor = newKey(policy, role, now);
    successor.ready = now + policy.propagation_delay + times.dnskey_ttl;
    set.push_back(successor);
  }
  plan.changed = true;
  plan.next_event = nextEvent(plan.keys, policy, now);
  return plan;
}

Result<KeyPlan> dsSubmitted(const KeySet& keys, const zone::DnssecPolicy& policy,
                            const ZoneTimes& times, uint64_t now) {
  KeyPlan plan = planKeys(keys, policy, times, now);
  std::vector<KeyRecord>& set = plan.keys.keys;
  auto successor = std::find_if(set.begin(), set.end(), [&](const KeyRecord& k) {
    return signsDnskey(k.role) && k.active == 0 && !removedAt(k, now);
  });
  if (successor == set.end()) return error("no KSK/CSK rollover is waiting for its DS");
  if (successor->ready == 0 || successor->ready > now) {
    return error("the new " + std::string(roleName(successor->role)) + " (key " +
                 std::to_string(successor->tag) + ") is not ready yet: its DS may go to the " +
                 "parent from " + std::to_string(successor->ready) + " (unix time) on");
  }
  successor->submitted = now;
  successor->active = now;
  KeyRole role = successor->role;
  for (auto it = set.begin(); it != set.end(); ++it) {
    if (it == successor || it->role != role) continue;
    if (it->retire != 0 && it->retire <= now) continue;  // retired already
    it->retire = now;
    // Its DNSKEY stays until caches can no longer hold signatures by it alone.
    it->remove = now + policy.propagation_delay + signatureCacheTime(role, times);
  }
  plan.changed = true;
  plan.next_event = nextEvent(plan.keys, policy, now);
  return plan;
}

}  // namespace rrdns::dnssec
