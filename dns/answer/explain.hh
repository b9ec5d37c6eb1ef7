// explain.hh -- why the next answer for a name is what it is, for operators (rrdnsctl explain).
// Cold path: allocates freely, never advances a rotation cursor.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/topology/network.hh"

namespace rrdns::answer {

struct Candidate {
  std::string address;
  std::string state;  // "up", "down", "drained"
  uint32_t weight = 0;            // configured, with operator overrides
  uint32_t effective_weight = 0;  // as the policy uses it now (0: not eligible)
  bool eligible = false;
  std::string note;  // "operator drained", "marked down", "load feedback 0", ...
  std::string site;  // pools with sites: the site it belongs to
};

// A site of the client's list, in list order, as far as the choice looked.
struct SiteStep {
  std::string site;
  bool usable = false;
  std::string state;  // "usable", or why not ("0 of 3 up", "every member drained", ...)
  uint32_t up = 0, active = 0;  // members of the family: up, not drained
  double min_healthy = 0;
  uint32_t capacity = 0;
  double share = 0;  // of first addresses, when it answers
  std::string role;  // "answers", "passed over", or for a spill "takes 50% of first addresses"
};

// How a pool with sites routed the client (Trace::route). A query without a client address gets
// the map's default list and no route.
struct Route {
  std::string pool;
  std::string client;       // "10.1.2.0/24" (ECS) or "192.0.2.7"
  std::string client_from;  // "ecs" (the query's ECS option) or "source" (its source address)
  std::string map;
  std::string network;  // the network that matched, "" when none did
  std::string origin;   // where that network is defined ("geo.toml:12", "geo.nets:3")
  std::vector<std::string> list;  // the client's site list, nearest first
  std::vector<SiteStep> sites;
  std::vector<std::string> chosen;  // the sites that answer; empty: the pool as a whole
  bool spilled = false;
  std::string why;
  uint8_t scope = 0;
  std::string scope_network;  // the client's address cut to the scope ("10.1.0.0/16")
};

// Who asks: without either, the query has no client address and gets the map's default list.
struct ExplainClient {
  // The query's source address (sockaddr_in or sockaddr_in6), as if it came from there.
  std::optional<sockaddr_storage> source;
  // The query carries an EDNS Client Subnet option (RFC 7871) for this network.
  std::optional<topology::Network> subnet;
  // The server's edns-client-subnet: off, the option is ignored as the server ignores it.
  bool client_subnet = true;
};

struct Explanation {
  std::string name;  // as asked, presentation form
  std::string type;
  std::string zone;     // apex of the zone that answers, or "" (REFUSED)
  std::string outcome;  // refused, nxdomain, nodata, records, cname, wildcard, referral, pool
  std::string rcode;
  std::vector<std::string> steps;    // how the lookup went, one sentence each
  std::vector<std::string> records;  // the answer section as it would be written next
  // Pool answers only.
  std::string pool, policy, mode, ttl_rule;
  uint32_t ttl = 0;
  bool fail_open = false;
  std::vector<Candidate> candidates;
  std::optional<Route> route;  // the first pool with sites the answer used
};

// `name` in presentation form; `qtype` a type number. Uses `pools` when computed for `catalog`;
// `health` (indexed like the catalog's targets) and `overrides` (like its members) say why a
// member is or is not eligible; either may be null. `client` says who asks (pools with sites).
Explanation explain(const Catalog& catalog, const PoolStates* pools,
                    const health::HealthSnapshot* health,
                    const std::vector<MemberOverride>* overrides, std::string_view name,
                    uint16_t qtype, const ExplainClient& client = {});

}  // namespace rrdns::answer
