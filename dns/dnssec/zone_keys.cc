// zone_keys.cc -- a signed zone's keys at run time: the key directory, the planner's steps, and
// the Signer and DNSKEY/DS records of the moment.
#include "dns/dnssec/zone_keys.hh"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "dns/wire/name.hh"

extern "C" {  // libdnssec's headers leave C linkage to their users
#include <libdnssec/random.h>
}

namespace rrdns::dnssec {

namespace {

// KEY_DIR/ZONE for the apex: the zone's name in text without the final dot ("root" for ".").
std::string zoneDirectory(const std::string& key_directory, std::string_view apex) {
  std::string name = wire::nameToText(apex);
  if (name == ".") return key_directory + "/root";
  if (!name.empty() && name.back() == '.') name.pop_back();
  return key_directory + "/" + name;
}

// `path` as a directory only the daemon's user may enter: created 0700 if missing; an existing
// one is made 0700 if `enforce` (a zone's directory, which holds nothing but its keys).
Result<void> privateDirectory(const std::string& path, bool enforce) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return error(path + ": cannot create the key directory: " + std::strerror(errno));
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return error(path + ": not a directory");
  if (enforce && (st.st_mode & 0777) != 0700 && chmod(path.c_str(), 0700) != 0)
    return error(path + ": cannot make it private (chmod 0700): " + std::strerror(errno));
  return success();
}

std::string upperHex(std::string_view bytes) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (char c : bytes) {
    out.push_back(digits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(digits[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

std::string algorithmText(zone::DnssecAlgorithm alg) {
  return alg == zone::DnssecAlgorithm::Ed25519 ? "ed25519" : "ecdsap256sha256";
}

// Keys the policy cannot sign with: another algorithm (there is no algorithm rollover) or
// another scheme (KSK + ZSK against a CSK).
Result<void> checkKeys(const KeySet& keys, const zone::DnssecPolicy& policy, const std::string& file) {
  for (const KeyRecord& k : keys.keys) {
    if (k.algorithm != policy.algorithm) {
      return errorAt(file, 0, {}, "key " + std::to_string(k.tag) + " is " + algorithmText(k.algorithm) +
                                      ", the zone's policy says " + algorithmText(policy.algorithm) +
                                      " (rrdns has no algorithm rollover: move the key directory "
                                      "away to start over with new keys)");
    }
    bool csk = k.role == KeyRole::Csk;
    if (csk != policy.single_type_signing) {
      return errorAt(file, 0, {}, "key " + std::to_string(k.tag) + " is a " +
                                      std::string(roleName(k.role)) + ", the zone's policy says " +
                                      (policy.single_type_signing ? "single-type-signing (a csk)"
                                                                  : "a ksk and a zsk"));
    }
  }
  return success();
}

}  // namespace

Result<std::unique_ptr<ZoneKeys>> ZoneKeys::open(const std::string& key_directory, std::string apex,
                                                 const zone::DnssecPolicy& policy,
                                                 const ZoneTimes& times, uint64_t now) {
  std::unique_ptr<ZoneKeys> zk(new ZoneKeys());
  zk->d_directory = zoneDirectory(key_directory, apex);
  zk->d_apex = std::move(apex);
  zk->d_policy = policy;
  zk->d_times = times;
  zk->d_stats = std::make_shared<SigningStats>();
  zk->d_cache = std::make_shared<SignatureCache>(zk->d_stats);
  if (auto made = privateDirectory(key_directory, false); !made) return made.errors();
  if (auto made = privateDirectory(zk->d_directory, true); !made) return made.errors();
  std::string file = zk->d_directory + "/keys.json";
  auto read = readKeySet(file);
  if (!read) return read.errors();
  bool existed = read->has_value();
  if (existed) {
    zk->d_keys = std::move(**read);
    if (auto ok = checkKeys(zk->d_keys, policy, file); !ok) return ok.errors();
    for (const KeyRecord& k : zk->d_keys.keys) {
      auto key = Key::load(zk->d_directory, k.id, zk->d_apex, k.algorithm, k.role);
      if (!key) return errorAt(file, 0, {}, "key " + std::to_string(k.tag) + ": " + key.error().text());
      if (key->tag() != k.tag) {
        return errorAt(file, 0, {}, "key " + k.id + ": its tag is " + std::to_string(key->tag()) +
                                        ", the state file says " + std::to_string(k.tag));
      }
      zk->d_loaded.push_back(std::move(key.value()));
    }
  }
  zk->d_last_step = now;
  if (auto planned = zk->apply(planKeys(zk->d_keys, policy, times, now), /*force_save=*/!existed);
      !planned) {
    return planned.errors();
  }
  return zk;
}

// Takes the planner's keys: generates the new ones (empty id), forgets and deletes the removed
// ones, keeps the NSEC3 salt as long as the policy asks, and saves when anything changed.
Result<void> ZoneKeys::apply(KeyPlan plan, bool force_save) {
  bool changed = plan.changed || force_save;
  std::vector<Key> loaded;
  for (KeyRecord& k : plan.keys.keys) {
    auto same = std::find_if(d_loaded.begin(), d_loaded.end(),
                             [&](const Key& key) { return !k.id.empty() && key.id() == k.id; });
    if (same != d_loaded.end()) {
      loaded.push_back(*same);
      continue;
    }
    auto key = Key::generate(d_directory, d_apex, k.algorithm, k.role);
    if (!key) return key.errors();
    k.id = key->id();
    k.tag = key->tag();
    loaded.push_back(std::move(key.value()));
  }
  size_t salt_length = d_policy.nsec3 ? d_policy.nsec3_salt_length : 0;
  if (plan.keys.nsec3_salt.size() != salt_length) {
    std::string salt(salt_length, '\0');
    if (salt_length > 0 &&
        dnssec_random_buffer(reinterpret_cast<uint8_t*>(salt.data()), salt.size()) != 0) {
      return error(d_directory + ": no random bytes for the NSEC3 salt");
    }
    plan.keys.nsec3_salt = std::move(salt);
    changed = true;
  }
  if (changed) {
    if (auto saved = writeKeySet(d_directory + "/keys.json", plan.keys); !saved) return saved.errors();
  }
  // The private keys of removed keys go once the state no longer names them.
  for (const Key& old : d_loaded) {
    bool kept = std::any_of(loaded.begin(), loaded.end(), [&](const Key& k) { return k.id() == old.id(); });
    if (!kept) unlink((d_directory + "/" + old.id() + ".pem").c_str());
  }
  d_keys = std::move(plan.keys);
  d_loaded = std::move(loaded);
  d_next_event = plan.next_event;
  return success();
}

Result<void> ZoneKeys::update(const zone::DnssecPolicy& policy, const ZoneTimes& times) {
  if (policy.algorithm != d_policy.algorithm) {
    return error("dnssec algorithm: " + algorithmText(d_policy.algorithm) + " -> " +
                 algorithmText(policy.algorithm) + " needs an algorithm rollover, which rrdns does not do");
  }
  if (policy.single_type_signing != d_policy.single_type_signing) {
    return error("dnssec single-type-signing: changing it needs new keys, which rrdns does not roll to");
  }
  d_policy = policy;
  d_times = times;
  // The salt follows the policy at once (the zone about to be signed must see it); the keys only
  // at the next step, whose `now` is the real one: a plan at the last step's time could start
  // a rollover in the past and shorten its propagation wait.
  KeyPlan preview = planKeys(d_keys, d_policy, d_times, d_last_step);
  KeyPlan keep;
  keep.keys = d_keys;
  if (auto applied = apply(std::move(keep)); !applied) return applied.errors();
  // When to plan next under the new timers: at once if something is due already.
  d_next_event = preview.changed ? d_last_step : preview.next_event;
  return success();
}

Result<bool> ZoneKeys::step(uint64_t now) {
  std::vector<KeyState> before;
  for (const KeyRecord& k : d_keys.keys) before.push_back(keyState(k, d_last_step));
  KeyPlan plan = planKeys(d_keys, d_policy, d_times, now);
  bool changed = plan.changed;
  // A timer that passed changes which keys are published or sign, though nothing is saved.
  if (!changed) {
    for (size_t i = 0; i < d_keys.keys.size(); ++i) {
      if (keyState(d_keys.keys[i], now) != before[i]) changed = true;
    }
  }
  if (auto applied = apply(std::move(plan)); !applied) return applied.errors();
  d_last_step = now;
  d_cache->prune(now, d_policy.rrsig_refresh);
  return changed;
}

Result<void> ZoneKeys::startRollover(KeyRole role, uint64_t now) {
  auto plan = dnssec::startRollover(d_keys, role, d_policy, d_times, now);
  if (!plan) return plan.errors();
  if (auto applied = apply(std::move(plan.value())); !applied) return applied.errors();
  d_last_step = now;
  return success();
}

Result<void> ZoneKeys::dsSubmitted(uint64_t now) {
  auto plan = dnssec::dsSubmitted(d_keys, d_policy, d_times, now);
  if (!plan) return plan.errors();
  if (auto applied = apply(std::move(plan.value())); !applied) return applied.errors();
  d_last_step = now;
  return success();
}

std::vector<std::string> ZoneKeys::dnskeys(uint64_t now) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < d_keys.keys.size(); ++i) {
    KeyState s = keyState(d_keys.keys[i], now);
    if (s != KeyState::Generated && s != KeyState::Removed) out.push_back(d_loaded[i].dnskeyRdata());
  }
  return out;
}

std::shared_ptr<const Signer> ZoneKeys::signer(uint64_t now) const {
  std::vector<Key> ksks, zsks;
  for (size_t i = 0; i < d_keys.keys.size(); ++i) {
    const KeyRecord& k = d_keys.keys[i];
    KeyState s = keyState(k, now);
    // The DNSKEY RRset: every published KSK/CSK (double signature, RFC 6781 4.1.2): a successor
    // awaiting its DS, and an old one retired by `submitted` until it is removed, for
    // validators that still hold the parent's old DS (Knot's "retire-active"). The rest: the
    // active ZSK/CSK.
    if (k.role != KeyRole::Zsk && s != KeyState::Generated && s != KeyState::Removed)
      ksks.push_back(d_loaded[i]);
    if (k.role != KeyRole::Ksk && s == KeyState::Active) zsks.push_back(d_loaded[i]);
  }
  return std::make_shared<const Signer>(d_apex, std::move(ksks), std::move(zsks), d_policy, d_cache,
                                        d_stats);
}

std::vector<std::string> ZoneKeys::dsRecords(uint64_t now) const {
  std::vector<std::string> out;
  std::string owner = wire::nameToText(d_apex);
  for (size_t i = 0; i < d_keys.keys.size(); ++i) {
    const KeyRecord& k = d_keys.keys[i];
    KeyState s = keyState(k, now);
    if (k.role == KeyRole::Zsk || (s != KeyState::Ready && s != KeyState::Active)) continue;
    std::string ds = d_loaded[i].dsRdata();  // tag(2) algorithm(1) digest type(1) digest
    out.push_back(owner + " " + std::to_string(d_times.dnskey_ttl) + " IN DS " +
                  std::to_string(d_loaded[i].tag()) + " " +
                  std::to_string(static_cast<uint8_t>(ds[2])) + " " +
                  std::to_string(static_cast<uint8_t>(ds[3])) + " " + upperHex(ds.substr(4)));
  }
  return out;
}

std::vector<KeyStatus> ZoneKeys::status(uint64_t now) const {
  std::vector<KeyStatus> out;
  for (const KeyRecord& k : d_keys.keys) out.push_back(KeyStatus{k, keyState(k, now)});
  return out;
}

size_t ZoneKeys::cacheSize() const { return d_cache->size(); }

}  // namespace rrdns::dnssec
