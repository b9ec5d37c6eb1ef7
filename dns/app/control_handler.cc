// control_handler.cc -- status, pool, drain/undrain/weight/mark, stats, explain, reload, check.
#include "dns/app/control_handler.hh"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "dns/answer/explain.hh"
#include "dns/answer/site_health.hh"
#include "dns/app/dnssec_control.hh"
#include "dns/app/report.hh"
#include "dns/base/clock.hh"
#include "dns/control/render.hh"
#include "dns/wire/name.hh"
#include "dns/zone/rdata.hh"

namespace rrdns::app {
namespace {

using control::Json;

Json failure(std::string message, const Errors& errors = {}) {
  Json reply = {{"ok", false}, {"error", std::move(message)}};
  if (!errors.empty()) reply["errors"] = texts(errors);
  return reply;
}

std::string requireString(const Json& request, const char* key) {
  if (!request.contains(key) || !request[key].is_string() || request[key].get<std::string>().empty())
    throw std::invalid_argument(std::string("missing \"") + key + "\"");
  return request[key].get<std::string>();
}

std::string optionalString(const Json& request, const char* key) {
  if (!request.contains(key) || request[key].is_null()) return {};
  if (!request[key].is_string()) throw std::invalid_argument(std::string(key) + " must be a string");
  return request[key].get<std::string>();
}

// Members are named by address; the text must match what the zone file means, not its spelling.
std::string canonicalAddress(const std::string& text) {
  unsigned char bytes[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1 && inet_ntop(AF_INET, bytes, out, sizeof out))
    return out;
  if (inet_pton(AF_INET6, text.c_str(), bytes) == 1 && inet_ntop(AF_INET6, bytes, out, sizeof out))
    return out;
  throw std::invalid_argument("'" + text + "' is not an IP address");
}

const char* familyName(int family) { return family == 0 ? "A" : "AAAA"; }

// explain --client: the query's source address, as if the query came from there.
sockaddr_storage socketAddress(const std::string& text) {
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else {
    throw std::invalid_argument("client: '" + text + "' is not an IP address");
  }
  return storage;
}

// explain --subnet: ADDRESS[/PREFIX], cut to the prefix as dig +subnet cuts it (10.1.2.3/16 is
// 10.1.0.0/16); a bare address is a host.
topology::Network clientSubnet(const std::string& text) {
  const size_t slash = text.find('/');
  Result<topology::Network> host = topology::parseNetwork(text.substr(0, slash));
  if (!host.ok())
    throw std::invalid_argument("subnet: '" + text + "' is not ADDRESS/PREFIX");
  topology::Network n = *host;
  if (slash != std::string::npos) {
    const std::string length = text.substr(slash + 1);
    const bool digits = !length.empty() && length.size() <= 3 &&
                        length.find_first_not_of("0123456789") == std::string::npos;
    const unsigned prefix = digits ? std::stoul(length) : 999;
    if (prefix > topology::bits(n.family))
      throw std::invalid_argument("subnet: '" + text + "': prefix length must be 0 to " +
                                  std::to_string(topology::bits(n.family)));
    n.prefix = static_cast<uint8_t>(prefix);
    for (unsigned bit = n.prefix; bit < topology::bits(n.family); ++bit)
      n.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return n;
}

// Each member of `p` as the operator sees it: up (checks, or a mark), its weight (configured
// or the operator's, 0 when drained) and whether it reports load weight 0 (`health`, may be null).
std::vector<answer::MemberStatus> memberStatus(
    const zone::Pool& p, const std::vector<health::TargetStatus>& targets,
    const health::HealthSnapshot* health, const std::vector<answer::MemberOverride>& overrides) {
  std::vector<answer::MemberStatus> out;
  for (size_t i = 0; i < p.members.size(); ++i) {
    const zone::PoolMember& m = p.members[i];
    const answer::MemberOverride& o = overrides[p.member_base + i];
    const health::TargetStatus* t = m.target < targets.size() ? &targets[m.target] : nullptr;
    out.push_back({o.up.value_or(t ? t->up : m.check.startsUp()),
                   o.drained ? 0 : o.weight.value_or(m.weight),
                   health && m.target < health->targets.size() &&
                       health->targets[m.target].load_weight == 0});
  }
  return out;
}

bool hasFamily(const zone::Pool& p, int family) {
  for (const auto& m : p.members)
    if (m.rtype == (family == 0 ? wire::type::A : wire::type::AAAA)) return true;
  return false;
}

// "east: usable, west: 0 of 3 up" (status).
std::string sitesLine(const zone::Pool& p, int family,
                      const std::vector<answer::MemberStatus>& members) {
  const auto health =
      answer::siteHealth(p, family == 0 ? wire::type::A : wire::type::AAAA, members);
  std::string line;
  for (size_t k = 0; k < p.sites.size(); ++k)
    line += (line.empty() ? "" : ", ") + p.sites[k].name + ": " +
            (health[k].usable ? std::string("usable") : health[k].why);
  return line;
}

Json describeRoute(const answer::Route& r) {
  Json sites = Json::array();
  for (const answer::SiteStep& s : r.sites)
    sites.push_back({{"site", s.site},
                     {"state", s.state},
                     {"up", s.up},
                     {"members", s.active},
                     {"min_healthy", s.min_healthy},
                     {"capacity", s.capacity},
                     {"role", s.role}});
  return {{"pool", r.pool},
          {"client", r.client},
          {"client_from", r.client_from},
          {"map", r.map},
          {"network", r.network.empty() ? Json("none (default list)") : Json(r.network)},
          {"network_from", r.origin.empty() ? Json(nullptr) : Json(r.origin)},
          {"site_list", r.list},
          {"sites", std::move(sites)},
          {"chosen", r.chosen.empty() ? Json("the whole pool") : Json(r.chosen)},
          {"spilled", r.spilled},
          {"why", r.why},
          {"scope", r.scope},
          {"scope_network", r.scope_network}};
}

void applyAdmin(const std::string& cmd, const Json& request, MemberAdmin& entry) {
  if (cmd == "drain") {
    entry.drained = true;
    entry.drain_until.reset();
    if (request.contains("for_s") && !request["for_s"].is_null()) {
      const double seconds = request["for_s"].get<double>();
      if (!(seconds > 0)) throw std::invalid_argument("for_s must be above 0");
      // Rounded up to the whole second that drain_until keeps: a drain lasts at least as long as
      // asked (truncating, `--for 1s` asked late in a second ended within milliseconds).
      const double now = std::chrono::duration<double>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
      entry.drain_until = static_cast<int64_t>(std::ceil(now + seconds));
    }
  } else if (cmd == "undrain") {
    entry.drained = false;
    entry.drain_until.reset();
  } else if (cmd == "weight") {
    const auto weight = request.find("weight");
    if (weight != request.end() && *weight == "auto") {
      entry.weight.reset();
      return;
    }
    const std::string range = "0 to " + std::to_string(control::kMaxWeight);
    if (weight == request.end() || !weight->is_number_integer())
      throw std::invalid_argument("missing \"weight\" (" + range + ", or \"auto\")");
    const int64_t value = weight->get<int64_t>();
    if (value < 0 || value > control::kMaxWeight)
      throw std::invalid_argument("weight must be " + range + ", or auto");
    entry.weight = static_cast<uint32_t>(value);
  } else {  // mark
    const std::string state = requireString(request, "state");
    if (state == "up" || state == "down")
      entry.mark = state == "up";
    else if (state == "auto")
      entry.mark.reset();
    else
      throw std::invalid_argument("state must be up, down or auto");
  }
}

// What an admin command changes, as the audit log shows it: "drain", "weight" or "mark".
const char* adminField(const std::string& cmd) {
  if (cmd == "drain" || cmd == "undrain") return "drain";
  return cmd == "weight" ? "weight" : "mark";
}

// That field's value in `entry`: "off", "on" or "until <time> (N s left)"; a weight or "auto";
// "up", "down" or "auto".
std::string adminValue(const std::string& cmd, const MemberAdmin& entry) {
  if (cmd == "drain" || cmd == "undrain") {
    if (!entry.drained) return "off";
    if (!entry.drain_until) return "on";
    return "until " + control::formatUntil(*entry.drain_until, std::time(nullptr));
  }
  if (cmd == "weight") return entry.weight ? std::to_string(*entry.weight) : "auto";
  return entry.mark ? (*entry.mark ? "up" : "down") : "auto";
}

// "demo.test 7 -> 8, rr.test 5 (unchanged), new.test (new) 1, old.test (removed)".
std::string serialChanges(const std::map<std::string, uint32_t>& before,
                          const zone::ZoneSet& after) {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  std::set<std::string> seen;
  for (const auto& z : after.zones()) {
    const std::string name = wire::nameToText(z->apex());
    seen.insert(name);
    const auto old = before.find(name);
    if (old == before.end())
      add(name + " (new) " + std::to_string(z->serial()));
    else if (old->second == z->serial())
      add(name + " " + std::to_string(z->serial()) + " (unchanged)");
    else
      add(name + " " + std::to_string(old->second) + " -> " + std::to_string(z->serial()));
  }
  for (const auto& [name, serial] : before)
    if (!seen.count(name)) add(name + " (removed)");
  return out;
}

// One row per site and address family: capacity, min-healthy, members up of those not
// drained, whether it can take clients (or why not), and the answers it gave: first addresses
// from its members, and of those the ones to clients spilled from their first site.
Json siteRows(const zone::Pool& p, const std::vector<answer::MemberStatus>& members,
              const server::Stats& stats) {
  Json rows = Json::array();
  for (int family = 0; family < 2; ++family) {
    if (!hasFamily(p, family)) continue;
    const uint16_t rtype = family == 0 ? wire::type::A : wire::type::AAAA;
    const auto health = answer::siteHealth(p, rtype, members);
    std::vector<uint64_t> answers(p.sites.size()), spilled(p.sites.size());
    for (size_t i = 0; i < p.members.size(); ++i) {
      const zone::PoolMember& m = p.members[i];
      const size_t index = p.member_base + i;
      if (m.rtype != rtype || m.site >= p.sites.size()) continue;
      if (index < stats.member_first.size()) answers[m.site] += stats.member_first[index];
      if (index < stats.member_spilled.size()) spilled[m.site] += stats.member_spilled[index];
    }
    for (size_t k = 0; k < p.sites.size(); ++k) {
      const zone::Site& site = p.sites[k];
      rows.push_back({{"site", site.name},
                      {"family", familyName(family)},
                      {"capacity", site.capacity},
                      {"min_healthy", site.min_healthy},
                      {"up", health[k].up},
                      {"members", health[k].active},
                      {"usable", health[k].usable},
                      {"why_not", health[k].usable ? Json(nullptr) : Json(health[k].why)},
                      {"answers", answers[k]},
                      {"spilled_answers", spilled[k]}});
    }
  }
  return rows;
}

}  // namespace

void logControlChange(const control::Peer& peer, std::string_view command,
                      std::string_view change) {
  spdlog::info("control: uid {} pid {}: {} {}", peer.uid, peer.pid, command, change);
}

ControlHandler::ControlHandler(CatalogPublisher& publisher, Reloader& reloader,
                               server::Server& server, const server::ServerSettings& settings,
                               DnssecZones& dnssec)
    : d_publisher(publisher),
      d_reloader(reloader),
      d_server(server),
      d_settings(settings),
      d_dnssec(dnssec),
      d_started_ms(monotonicMs()) {}

void ControlHandler::handle(const Json& request, const control::Peer& peer,
                            control::Reply reply) {
  const std::string cmd = request.value("cmd", "");
  try {
    if (cmd == "reload") {
      // reload() takes the reply; a request error must be answered before it is moved.
      try {
        validateReloadZone(request);
      } catch (const std::invalid_argument& e) {
        return reply(failure(cmd + ": " + e.what()));
      }
      return reload(request, peer, std::move(reply));
    }
    if (cmd == "check") return check(std::move(reply));
    if (cmd == "status") return reply(status());
    if (cmd == "pool") return reply(pool(request));
    if (cmd == "drain" || cmd == "undrain" || cmd == "weight" || cmd == "mark")
      return reply(admin(cmd, request, peer));
    if (cmd == "stats") return reply(stats());
    if (cmd == "explain") return reply(explain(request));
    if (cmd == "dnssec") return reply(dnssecCommand(d_dnssec, request, peer));
    reply(failure("unknown command '" + cmd +
                  "' (known: reload, check, status, pool, drain, undrain, weight, mark, stats, "
                  "explain, dnssec)"));
  } catch (const std::invalid_argument& e) {
    reply(failure(cmd + ": " + e.what()));
  }
}

Json ControlHandler::status() const {
  const auto& catalog = *d_publisher.catalog();
  Json zones = Json::array();
  for (const auto& zone : catalog.zones->zones()) {
    zones.push_back({{"zone", wire::nameToText(zone->apex())},
                     {"serial", zone->serial()},
                     {"records", zone->recordCount()},
                     {"pools", zone->pools().size()},
                     {"signed", zone->signedZone() != nullptr},
                     {"file", zone->source()},
                     {"loaded", d_publisher.publishedAt()}});
  }
  Json pools = Json::array();
  const answer::PoolStates& states = *d_publisher.pools();
  const std::vector<health::TargetStatus> targets = d_publisher.targetStatus();
  const auto overrides = d_publisher.overrides();
  for (const zone::Pool* p : catalog.zones->pools()) {
    const auto members = p->sites.empty()
                             ? std::vector<answer::MemberStatus>{}
                             : memberStatus(*p, targets, d_publisher.health().get(), overrides);
    for (int family = 0; family < 2; ++family) {
      const answer::FamilyState& f = states.pools[p->id].family[family];
      if (!hasFamily(*p, family)) continue;
      Json row = {{"pool", p->name},
                  {"zone", wire::nameToText(p->zone)},
                  {"family", familyName(family)},
                  {"mode", answer::poolModeName(f.mode)},
                  {"up", f.up},
                  {"members", f.active},
                  {"answering", f.eligible.size()}};
      // Pools with sites: each site and whether it can take clients (rrdnsctl pool has more).
      if (!p->sites.empty()) row["sites"] = sitesLine(*p, family, members);
      pools.push_back(std::move(row));
    }
  }
  return {{"version", RRDNS_VERSION},
          {"identity", d_settings.identity},
          {"nsid", d_settings.nsid.empty() ? Json(nullptr) : Json(d_settings.nsid)},
          {"uptime_s", (monotonicMs() - d_started_ms) / 1000},
          {"threads", d_settings.threads},
          {"state_file",
           d_publisher.stateFile().empty() ? Json(nullptr) : Json(d_publisher.stateFile())},
          {"zones", std::move(zones)},
          {"pools", std::move(pools)}};
}

Json ControlHandler::pool(const Json& request) const {
  const std::string name = requireString(request, "name");
  const auto& catalog = d_publisher.catalog();
  const zone::Pool* found = nullptr;
  for (const zone::Pool* p : catalog->zones->pools()) {
    if (p->name != name) continue;
    if (found) throw std::invalid_argument("several zones have a pool '" + name + "'");
    found = p;
  }
  if (!found) throw std::invalid_argument("no pool '" + name + "'");
  const zone::Pool& p = *found;
  const answer::PoolState& state = d_publisher.pools()->pools[p.id];
  const server::Stats stats = d_server.stats(catalog.get());
  const std::vector<health::TargetStatus> targets = d_publisher.targetStatus();
  const auto overrides = d_publisher.overrides();
  const uint64_t now = monotonicMs();

  // Shares are within one address family: an A answer never competes with an AAAA one.
  uint64_t answers_total[2] = {0, 0};
  uint64_t weight_total[2] = {0, 0};
  for (size_t i = 0; i < p.members.size(); ++i) {
    const int family = p.members[i].rtype == wire::type::A ? 0 : 1;
    if (p.member_base + i < stats.member_first.size())
      answers_total[family] += stats.member_first[p.member_base + i];
  }
  for (int family = 0; family < 2; ++family)
    for (uint32_t w : state.family[family].weights) weight_total[family] += w;

  Json members = Json::array();
  for (size_t i = 0; i < p.members.size(); ++i) {
    const zone::PoolMember& m = p.members[i];
    const int family = m.rtype == wire::type::A ? 0 : 1;
    const answer::FamilyState& f = state.family[family];
    const answer::MemberOverride& o = overrides[p.member_base + i];
    Json member = {{"address", m.text}};
    if (!p.sites.empty()) member["site"] = m.site < p.sites.size() ? p.sites[m.site].name : "";
    uint32_t effective = 0;
    for (size_t k = 0; k < f.eligible.size(); ++k)
      if (f.eligible[k] == i) effective = f.weights[k];
    const health::TargetStatus* t = m.target < targets.size() ? &targets[m.target] : nullptr;
    const bool up = o.up.value_or(t ? t->up : m.check.startsUp());
    const uint32_t weight = o.drained ? 0 : o.weight.value_or(m.weight);
    member["state"] = !up ? "down" : (weight == 0 ? "drained" : "up");
    member["weight"] = m.weight;
    member["admin_weight"] = o.weight ? Json(*o.weight) : Json(nullptr);
    member["effective_weight"] = effective;
    std::string admin;
    if (o.drained) admin = "drained";
    if (o.up) admin += std::string(admin.empty() ? "" : ", ") + (*o.up ? "marked up" : "marked down");
    member["admin"] = admin.empty() ? Json(nullptr) : Json(admin);
    member["check"] = m.check.description();
    member["discovered_from"] = m.discovered_from.empty() ? Json(nullptr) : Json(m.discovered_from);
    member["last_check"] = t && !t->last_reason.empty() ? Json(t->last_reason) : Json(nullptr);
    member["latency_ms"] = t && t->last_check_ms ? Json(t->last_latency_us / 1000.0) : Json(nullptr);
    member["in_state_s"] = t ? Json((now - std::min(now, t->changed_ms)) / 1000) : Json(nullptr);
    const uint64_t answers =
        p.member_base + i < stats.member_first.size() ? stats.member_first[p.member_base + i] : 0;
    member["answers"] = answers;
    member["share"] = answers_total[family] ? double(answers) / answers_total[family] : 0.0;
    member["configured_share"] = weight_total[family] ? double(effective) / weight_total[family] : 0.0;
    members.push_back(std::move(member));
  }
  Json families = Json::array();
  for (int family = 0; family < 2; ++family) {
    const answer::FamilyState& f = state.family[family];
    if (f.active == 0 && f.eligible.empty()) continue;
    families.push_back({{"family", familyName(family)},
                        {"mode", answer::poolModeName(f.mode)},
                        {"ttl", f.ttl},
                        {"up", f.up},
                        {"members", f.active}});
  }
  Json discover = Json::array();
  for (const auto& source : p.discover) {
    Json row = {{"name", source.hostname},
                {"interval_s", source.interval_ms / 1000.0},
                {"weight", source.weight}};
    if (!p.sites.empty())
      row["site"] = source.site < p.sites.size() ? p.sites[source.site].name : "";
    discover.push_back(std::move(row));
  }
  Json reply = {{"pool", p.name},
                {"discover", std::move(discover)},
                {"zone", wire::nameToText(p.zone)},
                {"policy", zone::policyName(p.policy)},
                {"defined", p.source},
                {"families", std::move(families)}};
  if (!p.sites.empty()) {
    reply["map"] = p.map ? Json(p.map->name) : Json(nullptr);
    reply["spill"] = p.spill;
    reply["sites"] =
        siteRows(p, memberStatus(p, targets, d_publisher.health().get(), overrides), stats);
  }
  reply["members"] = std::move(members);
  return reply;
}

Json ControlHandler::admin(const std::string& cmd, const Json& request,
                          const control::Peer& peer) {
  const std::string address = canonicalAddress(requireString(request, "member"));
  const std::string pool_name = optionalString(request, "pool");
  // The member must exist, or a typo would silently do nothing.
  size_t matched = 0;
  for (const zone::Pool* p : d_publisher.catalog()->zones->pools())
    if (pool_name.empty() || p->name == pool_name)
      for (const auto& m : p->members) matched += m.text == address;
  if (matched == 0)
    throw std::invalid_argument("no member " + address +
                                (pool_name.empty() ? "" : " in pool '" + pool_name + "'"));

  // Without a pool, the change applies to the address in every pool: to the address-wide
  // entry and to any pool-specific entry, which would otherwise win over it.
  std::vector<MemberAdmin*> targets;
  if (pool_name.empty())
    for (const zone::Pool* p : d_publisher.catalog()->zones->pools())
      if (d_publisher.admin().find(AdminState::key(p->name, address)))
        targets.push_back(&d_publisher.admin().at(AdminState::key(p->name, address)));
  MemberAdmin& entry = d_publisher.admin().at(AdminState::key(pool_name, address));
  const std::string before = adminValue(cmd, entry);
  applyAdmin(cmd, request, entry);  // first: a bad request throws before anything else changes
  for (MemberAdmin* t : targets) applyAdmin(cmd, request, *t);
  logControlChange(peer, cmd,
                   "member " + address + " pool " +
                       (pool_name.empty() ? std::string("* (every pool)") : pool_name) + ": " +
                       adminField(cmd) + " " + before + " -> " + adminValue(cmd, entry) +
                       (targets.empty() ? std::string()
                                        : " (and in " + std::to_string(targets.size()) +
                                              " pool-specific entries)"));
  Json reply = {{"member", address},
                {"pool", pool_name.empty() ? Json("*") : Json(pool_name)},
                {"members_matched", matched},
                {"drained", entry.drained},
                {"drain_until", entry.drain_until ? Json(*entry.drain_until) : Json(nullptr)},
                {"weight", entry.weight ? Json(*entry.weight) : Json(nullptr)},
                {"mark", entry.mark ? Json(*entry.mark ? "up" : "down") : Json(nullptr)}};
  const Result<void> saved = d_publisher.adminChanged();
  reply["persisted"] = !d_publisher.stateFile().empty() && saved.ok();
  if (!saved.ok()) reply["warning"] = "in effect, but not saved: " + saved.error().text();
  return reply;
}

Json ControlHandler::stats() const {
  const server::Stats s = d_server.stats(nullptr);
  Json rcodes = Json::object(), qtypes = Json::object();
  for (size_t i = 0; i < server::kRcodeBuckets; ++i)
    rcodes[std::string(server::rcodeBucketName(i))] = s.responses[i];
  for (size_t i = 0; i < server::kQtypeBuckets; ++i)
    qtypes[std::string(server::qtypeBucketName(i))] = s.qtypes[i];
  return {{"queries", {{"udp", s.udp_queries}, {"tcp", s.tcp_queries}, {"total", s.queries()}}},
          {"rcode", std::move(rcodes)},
          {"qtype", std::move(qtypes)},
          {"truncated", s.truncated},
          {"not_answered", s.dropped + s.udp_dropped},
          {"tcp",
           {{"connections", s.tcp_accepted},
            {"refused_over_limit", s.tcp_rejected},
            {"evicted_idle", s.tcp_evicted}}},
          {"fail_open_events", d_publisher.failOpenEvents()},
          {"reloads", {{"ok", d_reloader.succeeded()}, {"failed", d_reloader.failed()}}}};
}

Json ControlHandler::explain(const Json& request) const {
  const std::string name = requireString(request, "name");
  const std::string type_name = optionalString(request, "type");
  const auto qtype = type_name.empty() ? std::optional<uint16_t>(wire::type::A)
                                       : wire::typeFromName(type_name);
  if (!qtype) throw std::invalid_argument("unknown type '" + type_name + "'");
  answer::ExplainClient client;
  client.client_subnet = d_settings.edns_client_subnet;  // an ECS option counts as it would
  if (const std::string source = optionalString(request, "client"); !source.empty())
    client.source = socketAddress(source);
  if (const std::string subnet = optionalString(request, "subnet"); !subnet.empty())
    client.subnet = clientSubnet(subnet);
  const auto overrides = d_publisher.overrides();
  const answer::Explanation e =
      answer::explain(*d_publisher.catalog(), d_publisher.pools().get(), d_publisher.health().get(),
                      &overrides, name, *qtype, client);
  Json reply = {{"name", e.name}, {"type", e.type}, {"zone", e.zone.empty() ? Json(nullptr) : Json(e.zone)},
                {"outcome", e.outcome}, {"rcode", e.rcode}, {"steps", e.steps}};
  if (e.route) reply["route"] = describeRoute(*e.route);
  if (e.outcome == "pool") {
    // The checks' own words for a member that is down ("status 503", "connection refused").
    const auto targets = d_publisher.targetStatus();
    std::map<std::string, std::string> reasons;
    for (const zone::Pool* p : d_publisher.catalog()->zones->pools())
      if (p->name == e.pool)
        for (const auto& m : p->members)
          if (m.target < targets.size() && !targets[m.target].up)
            reasons[m.text] = "check: " + targets[m.target].last_reason;
    reply["pool"] = e.pool;
    reply["policy"] = e.policy;
    reply["mode"] = e.mode;
    reply["fail_open"] = e.fail_open;
    reply["ttl"] = e.ttl;
    reply["ttl_rule"] = e.ttl_rule;
    Json candidates = Json::array();
    for (const auto& c : e.candidates) {
      Json candidate = {{"address", c.address}};
      if (!c.site.empty()) candidate["site"] = c.site;  // pools with sites
      candidate["state"] = c.state;
      candidate["weight"] = c.weight;
      candidate["effective_weight"] = c.effective_weight;
      candidate["eligible"] = c.eligible;
      candidate["note"] = !c.note.empty()              ? Json(c.note)
                          : reasons.count(c.address) ? Json(reasons[c.address])
                                                     : Json(nullptr);
      candidates.push_back(std::move(candidate));
    }
    reply["candidates"] = std::move(candidates);
  }
  reply["next_answer"] = e.records;
  return reply;
}

void ControlHandler::validateReloadZone(const Json& request) const {
  const std::string zone_name = optionalString(request, "zone");
  if (!zone_name.empty()) {
    std::string wire_name, error;
    const std::string root(1, '\0');
    if (!wire::nameFromText(zone_name, root, wire_name, error)) throw std::invalid_argument(error);
    bool known = false;
    for (const auto& z : d_publisher.catalog()->zones->zones())
      known = known || z->apex() == wire_name;
    if (!known) throw std::invalid_argument("no zone " + wire::nameToText(wire_name) + " is served");
  }
}

void ControlHandler::reload(const Json&, const control::Peer& peer, control::Reply reply) {
  // The serials before, for the audit log's old -> new.
  std::map<std::string, uint32_t> serials;
  for (const auto& z : d_publisher.catalog()->zones->zones())
    serials[wire::nameToText(z->apex())] = z->serial();
  logControlChange(peer, "reload", "requested");
  // Zones are checked as one set (a name may only live in one zone), so every file is read
  // again; the reply comes once the new data serves, or with the errors and the old data kept.
  d_reloader.request([reply = std::move(reply), peer,
                      serials = std::move(serials)](const zone::ZoneSetLoad& result) {
    if (!result.zones.ok()) {
      logControlChange(peer, "reload",
                       "failed (" + std::to_string(result.zones.errors().size()) +
                           " errors): still serving the previous zones");
      return reply(
          failure("reload failed; still serving the previous zones", result.zones.errors()));
    }
    logControlChange(peer, "reload", "serials: " + serialChanges(serials, **result.zones));
    Json zones = Json::array();
    for (const auto& z : (*result.zones)->zones()) zones.push_back(describeZone(*z));
    Json body = {{"reloaded", std::move(zones)}};
    if (!result.warnings.empty()) body["warnings"] = texts(result.warnings);
    reply(std::move(body));
  });
}

namespace {

// Every record and pool of a zone set as a line, keyed by zone.
std::map<std::string, std::set<std::string>> contents(const zone::ZoneSet& zones) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& z : zones.zones()) {
    auto& lines = out[wire::nameToText(z->apex())];
    for (const auto& [owner, node] : z->nodes())
      for (const auto& rrset : node.rrsets)
        for (const auto& rdata : rrset.rdata)
          lines.insert(wire::nameToText(owner) + " " + std::to_string(rrset.ttl) + " " +
                       wire::typeName(rrset.type) + " " + zone::rdataToText(rrset.type, rdata));
    for (const auto& p : z->pools()) {
      std::string line = "pool " + p->name + ":";
      for (const auto& owner : p->owners) line += " " + wire::nameToText(owner);
      line += " ttl " + std::to_string(p->ttl) + "/" + std::to_string(p->degraded_ttl) + " members";
      for (const auto& m : p->members) line += " " + m.text + "=" + std::to_string(m.weight);
      line += " check " + (p->members.empty() ? std::string() : p->members.front().check.key());
      lines.insert(line);
    }
  }
  return out;
}

}  // namespace

void ControlHandler::check(control::Reply reply) {
  std::shared_ptr<const zone::ZoneSet> serving = d_publisher.catalog()->zones;
  d_reloader.check([reply = std::move(reply), serving](const zone::ZoneSetLoad& result) {
    if (!result.zones.ok())
      return reply(failure("the files have errors; a reload would fail", result.zones.errors()));
    const zone::ZoneSet& loaded = **result.zones;
    const auto before = contents(*serving);
    const auto after = contents(loaded);
    Json changes = Json::array();
    std::set<std::string> zones;
    for (const auto& [zone, lines] : before) zones.insert(zone);
    for (const auto& [zone, lines] : after) zones.insert(zone);
    for (const auto& zone : zones) {
      static const std::set<std::string> none;
      const auto& old_lines = before.count(zone) ? before.at(zone) : none;
      const auto& new_lines = after.count(zone) ? after.at(zone) : none;
      for (const auto& line : new_lines)
        if (!old_lines.count(line)) changes.push_back({{"zone", zone}, {"change", "+"}, {"record", line}});
      for (const auto& line : old_lines)
        if (!new_lines.count(line)) changes.push_back({{"zone", zone}, {"change", "-"}, {"record", line}});
    }
    Json reply_body = {{"would_serve", Json::array()}, {"changes", std::move(changes)}};
    for (const auto& z : loaded.zones()) reply_body["would_serve"].push_back(describeZone(*z));
    if (!result.warnings.empty()) reply_body["warnings"] = texts(result.warnings);
    reply_body["summary"] = reply_body["changes"].empty() ? "no changes" : std::to_string(reply_body["changes"].size()) + " changed lines";
    reply(std::move(reply_body));
  });
}

}  // namespace rrdns::app
