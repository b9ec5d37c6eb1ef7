// main.cc: rrdns-verify's command line. Three modes against one server:
//   rotation  N queries; first-address shares vs expected weights, chi-square test, PASS/FAIL
//   watch     steady queries; one line per change of the answered address set
//   latency   closed loop (--concurrency) or open loop Poisson (--rate); percentiles, histogram
// Output is text, or one JSON object with --json; --svg FILE writes a chart. --subnet CIDR: every
// query carries that EDNS Client Subnet, and every response must echo it (its scope is reported).
// Exit: 0 ok/PASS, 1 FAIL (or a response without the ECS echo), 2 usage, 3 no answers. --help and --version print to stdout, exit 0.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/verify/client_subnet.hh"
#include "tools/verify/resolver.hh"
#include "tools/verify/stats.hh"
#include "tools/verify/svg.hh"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

volatile std::sig_atomic_t g_interrupted = 0;
void onSigint(int) { g_interrupted = 1; }

// The synopsis goes with every usage error; --help adds the rest (docs/man/rrdns-verify.1.md
// documents the same options, and the man-flags test keeps the two in step).
constexpr const char* kSynopsis =
    "usage: rrdns-verify rotation --server HOST:PORT --count N [--expect ADDR=WEIGHT,...]\n"
    "                             [--expect-from FILE|-] [OPTIONS] NAME\n"
    "       rrdns-verify watch --server HOST:PORT [--interval S] [--duration S] [OPTIONS] NAME\n"
    "       rrdns-verify latency --server HOST:PORT [--concurrency C | --rate QPS] --duration S\n"
    "                            [OPTIONS] NAME\n"
    "       rrdns-verify --help | --version\n";

constexpr const char* kHelp =
    "\n"
    "Sends its own queries for NAME (A, or AAAA with --aaaa) to one DNS server and checks the\n"
    "addresses in the answers, in wire order.\n"
    "\n"
    "modes:\n"
    "  rotation  --count queries; each address's share of first place against the expected\n"
    "            shares (chi-square test): PASS when p >= 0.001, else FAIL\n"
    "  watch     a query every --interval seconds; a line whenever the set of addresses\n"
    "            changes, a summary at the end (--duration, or Ctrl-C)\n"
    "  latency   a closed loop (--concurrency) or an open loop (--rate) for --duration\n"
    "            seconds: percentiles, histogram and CDF of the answer times\n"
    "\n"
    "options:\n"
    "  --server HOST:PORT     the server (required): 127.0.0.1:5353, [::1]:5353\n"
    "  --count N              rotation: how many queries\n"
    "  --expect ADDR=WEIGHT,...\n"
    "                         rotation: expected weights (normalised); default: equal shares\n"
    "                         over the addresses seen\n"
    "  --expect-from FILE|-   rotation: expected weights from `rrdnsctl pool NAME --json`\n"
    "  --interval S           watch: seconds between queries (default 0.1)\n"
    "  --duration S           watch: stop after S seconds (default: at Ctrl-C);\n"
    "                         latency: how long to send queries (required)\n"
    "  --concurrency C        latency: queries outstanding at once (default 1)\n"
    "  --rate QPS             latency: Poisson arrivals at QPS queries per second\n"
    "  --timeout S            a query unanswered after S seconds is lost (default 1)\n"
    "  --tcp                  query over TCP (default: UDP)\n"
    "  --aaaa                 ask for AAAA records instead of A\n"
    "  --subnet CIDR          send this EDNS Client Subnet (10.1.0.0/24, 2001:db8::/48) with\n"
    "                         every query; each response must echo it: its scope is reported\n"
    "  --json                 print one JSON object instead of text\n"
    "  --svg FILE             also write a chart: rotation shares, watch timeline, latency CDF\n"
    "  -h, --help             this text\n"
    "  --version              the version\n"
    "\n"
    "Options also take the form --server=HOST:PORT.\n"
    "exit status: 0 ok (rotation: PASS); 1 rotation FAIL, or with --subnet a response without\n"
    "the subnet's echo; 2 usage error; 3 no answers\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  bool help = false;
  bool version = false;
  std::string mode;
  std::string server;
  std::string name;
  std::string svg;
  std::string expect;
  std::string expect_from;  // `rrdnsctl pool NAME --json` output: the daemon's own weights
  long count = 0;
  double interval = 0.1;
  double duration = -1;
  double timeout = 1.0;
  long concurrency = 0;
  double rate = 0;
  bool tcp = false;
  bool json = false;
  bool aaaa = false;
  std::optional<ClientSubnet> subnet;  // --subnet, as it goes on the wire (host bits cleared)
};

double toNumber(const std::string& flag, const std::string& text) {
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v) || v < 0) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    throw UsageError(flag + ": not a non-negative number: '" + text + "'");
  }
}

Options parseCommandLine(int argc, char** argv) {
  Options o;
  // --help and --version win wherever they are, as for rrdnsd and rrdnsctl: no mode needed.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      return o;
    }
    if (arg == "--version") {
      o.version = true;
      return o;
    }
  }
  if (argc < 2) throw UsageError("missing mode (rotation, watch or latency)");
  o.mode = argv[1];
  if (o.mode != "rotation" && o.mode != "watch" && o.mode != "latency")
    throw UsageError("unknown mode '" + o.mode + "' (rotation, watch or latency)");
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    // "--name value" or "--name=value".
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--server") o.server = value();
    else if (arg == "--count") o.count = static_cast<long>(toNumber(arg, value()));
    else if (arg == "--expect") o.expect = value();
    else if (arg == "--expect-from") o.expect_from = value();
    else if (arg == "--interval") o.interval = toNumber(arg, value());
    else if (arg == "--duration") o.duration = toNumber(arg, value());
    else if (arg == "--timeout") o.timeout = toNumber(arg, value());
    else if (arg == "--concurrency") o.concurrency = static_cast<long>(toNumber(arg, value()));
    else if (arg == "--rate") o.rate = toNumber(arg, value());
    else if (arg == "--svg") o.svg = value();
    else if (arg == "--subnet") {
      std::string error;
      o.subnet = parseClientSubnet(value(), error);
      if (!o.subnet) throw UsageError("--subnet: " + error);
    }
    else if (inline_value && (arg == "--tcp" || arg == "--json" || arg == "--aaaa"))
      throw UsageError(arg + " takes no value");
    else if (arg == "--tcp") o.tcp = true;
    else if (arg == "--json") o.json = true;
    else if (arg == "--aaaa") o.aaaa = true;
    else if (!arg.empty() && arg[0] == '-') throw UsageError("unknown option " + arg);
    else if (o.name.empty()) o.name = arg;
    else throw UsageError("more than one NAME");
  }
  if (o.server.empty()) throw UsageError("--server is required");
  if (o.name.empty()) throw UsageError("NAME is required");
  if (o.timeout <= 0) throw UsageError("--timeout must be positive");
  if (o.mode == "rotation" && o.count < 1) throw UsageError("rotation needs --count N >= 1");
  if (o.mode == "watch" && o.interval <= 0) throw UsageError("--interval must be positive");
  if (o.mode == "latency") {
    if (o.duration <= 0) throw UsageError("latency needs --duration S > 0");
    if (o.concurrency > 0 && o.rate > 0)
      throw UsageError("--concurrency and --rate exclude each other");
    if (o.concurrency <= 0 && o.rate <= 0) o.concurrency = 1;
  }
  if (o.mode != "latency" && (o.concurrency > 0 || o.rate > 0))
    throw UsageError("--concurrency/--rate are for latency only");
  if (o.mode != "rotation" && (!o.expect.empty() || !o.expect_from.empty()))
    throw UsageError("--expect and --expect-from are for rotation only");
  if (!o.expect.empty() && !o.expect_from.empty())
    throw UsageError("give --expect or --expect-from, not both");
  return o;
}

std::map<std::string, double> parseExpect(const std::string& text) {
  std::map<std::string, double> weights;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--expect: want ADDR=WEIGHT, got '" + item + "'");
    weights[item.substr(0, eq)] += toNumber("--expect", item.substr(eq + 1));
  }
  double total = 0;
  for (auto& [addr, w] : weights) total += w;
  if (weights.empty() || total <= 0) throw UsageError("--expect: weights must sum to more than 0");
  for (auto& [addr, w] : weights) w /= total;
  return weights;
}

// Expected shares from `rrdnsctl pool NAME --json`: each member's effective weight, i.e. what
// the daemon itself means to answer right now (down and drained members have 0).
std::map<std::string, double> expectFromPool(const std::string& file) {
  nlohmann::json pool;
  try {
    if (file == "-") {
      pool = nlohmann::json::parse(std::cin);
    } else {
      std::ifstream in(file);
      if (!in) throw UsageError("--expect-from: cannot read " + file);
      pool = nlohmann::json::parse(in);
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(std::string("--expect-from: not JSON: ") + e.what());
  }
  if (!pool.contains("members") || !pool["members"].is_array())
    throw UsageError("--expect-from: no \"members\": give the output of rrdnsctl pool NAME --json");
  std::string text;
  for (const auto& m : pool["members"]) {
    const double weight = m.value("effective_weight", 0.0);
    if (weight <= 0) continue;
    if (!text.empty()) text += ",";
    text += m.value("address", std::string()) + "=" + std::to_string(weight);
  }
  return parseExpect(text);
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void writeSvgFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// --subnet in a report: the subnet sent, the scopes seen, the responses that did not echo it.
Json subnetJson(const ClientSubnet& sent, const ScopeTally& tally) {
  Json j;
  j["subnet"] = formatClientSubnet(sent);
  j["scopes"] = Json::array();
  for (const auto& [scope, n] : tally.scopes)
    j["scopes"].push_back({{"scope", scope}, {"responses", n}});
  j["without_ecs"] = tally.without;
  j["mismatched"] = tally.mismatched;
  return j;
}

void printSubnet(const ClientSubnet& sent, const ScopeTally& tally) {
  std::printf("  ECS %s: %s\n", formatClientSubnet(sent).c_str(), tally.summary().c_str());
}

// ------------------------------------------------------------------------------------------
// rotation

int runRotation(const Options& o) {
  std::map<std::string, double> expectShares;
  if (!o.expect.empty()) expectShares = parseExpect(o.expect);
  if (!o.expect_from.empty()) expectShares = expectFromPool(o.expect_from);
  Resolver resolver(o.server, o.tcp, o.timeout, o.subnet);
  ScopeTally scopes;
  std::map<std::string, long> firstCounts;
  std::map<std::string, long> seenCounts;
  std::map<std::string, long> orderings;
  long answered = 0, lost = 0, empty = 0;
  const bool tty = isatty(STDERR_FILENO);
  const auto start = Clock::now();
  double lastProgress = 0;
  for (long i = 0; i < o.count; ++i) {
    Answer a = resolver.query(o.name, o.aaaa);
    if (a.answered && o.subnet) scopes.add(*o.subnet, a.ecs);
    if (!a.answered) ++lost;
    else if (a.addresses.empty()) ++empty;
    else {
      ++answered;
      ++firstCounts[a.addresses.front()];
      std::string key;
      for (const auto& addr : a.addresses) {
        ++seenCounts[addr];
        key += (key.empty() ? "" : " ") + addr;
      }
      ++orderings[key];
    }
    double t = secondsSince(start);
    if (tty && t > 1.0 && t - lastProgress > 0.2) {
      lastProgress = t;
      std::fprintf(stderr, "\r  rotation: %ld/%ld queries, %.1f s", i + 1, o.count, t);
      std::fflush(stderr);
    }
  }
  if (tty && lastProgress > 0) std::fprintf(stderr, "\r%60s\r", "");
  const double elapsed = secondsSince(start);

  // Categories: every address seen plus every expected one.
  std::set<std::string> addresses;
  for (auto& [addr, n] : seenCounts) addresses.insert(addr);
  for (auto& [addr, s] : expectShares) addresses.insert(addr);
  std::vector<std::string> order(addresses.begin(), addresses.end());
  std::vector<double> observed, shares;
  for (const auto& addr : order) {
    observed.push_back(firstCounts.count(addr) ? firstCounts[addr] : 0);
    if (!expectShares.empty()) shares.push_back(expectShares.count(addr) ? expectShares[addr] : 0);
    else shares.push_back(1.0 / static_cast<double>(seenCounts.size()));
  }
  ChiSquare chi = chiSquareTest(observed, shares);
  // With --subnet the shares say something about that subnet only if the server read it.
  const bool pass = answered > 0 && chi.pValue >= 0.001 && scopes.ok();

  Json j;
  j["mode"] = "rotation";
  j["name"] = o.name;
  j["server"] = o.server;
  j["transport"] = o.tcp ? "tcp" : "udp";
  j["queries"] = o.count;
  j["answered"] = answered;
  j["empty"] = empty;
  j["lost"] = lost;
  j["seconds"] = elapsed;
  j["addresses"] = Json::array();
  for (size_t i = 0; i < order.size(); ++i) {
    double share = answered ? observed[i] / static_cast<double>(answered) : 0;
    j["addresses"].push_back({{"address", order[i]},
                              {"seen", seenCounts.count(order[i]) ? seenCounts[order[i]] : 0},
                              {"first", static_cast<long>(observed[i])},
                              {"share", share},
                              {"expected", shares[i]}});
  }
  j["chi_square"] = std::isinf(chi.statistic) ? Json(nullptr) : Json(chi.statistic);
  j["dof"] = chi.dof;
  j["p_value"] = chi.pValue;
  j["orderings"] = orderings.size();
  j["expected_source"] = expectShares.empty()       ? "equal"
                         : !o.expect_from.empty() ? "rrdnsctl pool"
                                                  : "expect";
  if (o.subnet) j["ecs"] = subnetJson(*o.subnet, scopes);
  j["result"] = answered == 0 ? "NO ANSWERS" : pass ? "PASS" : "FAIL";

  if (o.json) {
    std::cout << j.dump(2) << '\n';
  } else {
    std::printf("%s: %ld queries over %s, %ld answered, %ld empty, %ld lost, %.2f s\n",
                o.name.c_str(), o.count, o.tcp ? "TCP" : "UDP", answered, empty, lost, elapsed);
    std::printf("  %-40s %8s %8s %8s %9s\n", "address", "seen", "first", "share", "expected");
    for (const auto& e : j["addresses"])
      std::printf("  %-40s %8ld %8ld %7.2f%% %8.2f%%\n",
                  e["address"].get<std::string>().c_str(), e["seen"].get<long>(),
                  e["first"].get<long>(), 100 * e["share"].get<double>(),
                  100 * e["expected"].get<double>());
    std::printf("  expected shares: %s\n", expectShares.empty()       ? "equal over the addresses seen"
                                            : !o.expect_from.empty() ? "the pool's effective weights"
                                                                     : "from --expect");
    std::printf("  chi-square %s, %d degrees of freedom, p = %.4g\n",
                std::isinf(chi.statistic) ? "inf" : fmt("%.3f", chi.statistic).c_str(), chi.dof,
                chi.pValue);
    std::printf("  distinct orderings: %zu\n", orderings.size());
    if (o.subnet) printSubnet(*o.subnet, scopes);
    std::printf("%s\n", j["result"].get<std::string>().c_str());
  }
  if (!o.svg.empty()) {
    std::vector<ShareBar> bars;
    for (const auto& e : j["addresses"])
      bars.push_back({e["address"], e["share"], e["expected"]});
    std::ostringstream svg;
    writeShareChart(svg, "First-address shares of " + o.name + " (" + std::to_string(o.count) +
                             " queries)", bars);
    writeSvgFile(o.svg, svg.str());
  }
  if (answered == 0) return 3;
  return pass ? 0 : 1;
}

// ------------------------------------------------------------------------------------------
// watch

std::string joined(const std::set<std::string>& s) {
  std::string out;
  for (const auto& a : s) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string scopeText(std::optional<int> scope) {
  return scope ? "/" + std::to_string(*scope) : "none";
}

int runWatch(const Options& o) {
  Resolver resolver(o.server, o.tcp, o.timeout, o.subnet);
  ScopeTally scopes;
  std::optional<int> currentScope;  // --subnet: the scope of the last answer (none: no echo)
  std::signal(SIGINT, onSigint);
  const auto start = Clock::now();
  std::set<std::string> current;
  bool haveCurrent = false;
  long queries = 0, answered = 0, lost = 0;
  Json changes = Json::array();
  std::map<std::string, std::vector<std::pair<double, double>>> segments;
  std::map<std::string, double> openSince;
  double next = 0;
  while (!g_interrupted) {
    double now = secondsSince(start);
    if (o.duration >= 0 && now >= o.duration) break;
    if (now < next) {
      double wait = next - now;
      if (o.duration >= 0) wait = std::min(wait, o.duration - now);
      usleep(static_cast<useconds_t>(std::max(0.0, wait) * 1e6));
      continue;
    }
    next += o.interval;
    if (next < now) next = now + o.interval;  // fell behind (timeouts): do not burst
    ++queries;
    Answer a = resolver.query(o.name, o.aaaa);
    double at = secondsSince(start);
    if (!a.answered) {
      ++lost;
      continue;
    }
    ++answered;
    std::optional<int> scope;
    if (o.subnet) scope = scopes.add(*o.subnet, a.ecs);
    std::set<std::string> set(a.addresses.begin(), a.addresses.end());
    // With --subnet a change of scope is a change too: health moved where the answer changes.
    const bool scopeChanged = haveCurrent && scope != currentScope;
    if (haveCurrent && set == current && !scopeChanged) continue;
    std::vector<std::string> joinedAddrs, leftAddrs;
    for (const auto& x : set)
      if (!current.count(x)) joinedAddrs.push_back(x);
    for (const auto& x : current)
      if (!set.count(x)) leftAddrs.push_back(x);
    for (const auto& x : joinedAddrs) openSince[x] = at;
    for (const auto& x : leftAddrs) {
      segments[x].push_back({openSince[x], at});
      openSince.erase(x);
    }
    const std::optional<int> previousScope = currentScope;
    current = set;
    currentScope = scope;
    changes.push_back({{"t", at}, {"joined", joinedAddrs}, {"left", leftAddrs},
                       {"now", std::vector<std::string>(set.begin(), set.end())}});
    if (o.subnet) changes.back()["scope"] = scope ? Json(*scope) : Json(nullptr);
    if (!o.json) {
      std::string what;
      for (const auto& x : joinedAddrs) what += (what.empty() ? "+ " : "  + ") + x;
      for (const auto& x : leftAddrs) what += (what.empty() ? "- " : "  - ") + x;
      if (scopeChanged)
        what += (what.empty() ? "scope " : "  scope ") + scopeText(previousScope) + " -> " +
                scopeText(scope);
      if (what.empty()) what = "(empty)";
      std::string nowText = set.empty() ? "no addresses" : joined(set);
      if (o.subnet) nowText += ", scope " + scopeText(scope);
      std::printf("%7.3fs  %s  (now %s)\n", at, what.c_str(), nowText.c_str());
      std::fflush(stdout);
    }
    haveCurrent = true;
  }
  const double elapsed = secondsSince(start);
  for (auto& [addr, since] : openSince) segments[addr].push_back({since, elapsed});

  Json j;
  j["mode"] = "watch";
  j["name"] = o.name;
  j["server"] = o.server;
  j["transport"] = o.tcp ? "tcp" : "udp";
  j["seconds"] = elapsed;
  j["interval"] = o.interval;
  j["queries"] = queries;
  j["answered"] = answered;
  j["lost"] = lost;
  j["changes"] = changes;
  j["final"] = std::vector<std::string>(current.begin(), current.end());
  j["presence"] = Json::object();
  for (auto& [addr, segs] : segments) {
    double total = 0;
    for (auto& s : segs) total += s.second - s.first;
    j["presence"][addr] = elapsed > 0 ? total / elapsed : 0;
  }
  if (o.subnet) j["ecs"] = subnetJson(*o.subnet, scopes);
  if (o.json) {
    std::cout << j.dump(2) << '\n';
  } else {
    std::printf("summary: %.1f s, %ld queries, %ld answered, %ld lost, %zu changes; now %s\n",
                elapsed, queries, answered, lost, changes.empty() ? 0 : changes.size() - 1,
                current.empty() ? "no addresses" : joined(current).c_str());
    for (auto& [addr, frac] : j["presence"].items())
      std::printf("  %-40s answered %5.1f%% of the time\n", addr.c_str(), 100 * frac.get<double>());
    if (o.subnet) printSubnet(*o.subnet, scopes);
  }
  if (!o.svg.empty()) {
    std::vector<TimelineRow> rows;
    for (auto& [addr, segs] : segments) rows.push_back({addr, segs});
    std::ostringstream svg;
    writeTimelineChart(svg, "Addresses answered for " + o.name, elapsed, rows);
    writeSvgFile(o.svg, svg.str());
  }
  if (answered == 0) return 3;
  return scopes.ok() ? 0 : 1;
}

// ------------------------------------------------------------------------------------------
// latency

int runLatency(const Options& o) {
  Resolver resolver(o.server, o.tcp, o.timeout, o.subnet);
  std::signal(SIGINT, onSigint);
  std::vector<double> latencies;
  long sent = 0, answered = 0, lost = 0;
  ScopeTally scopes;
  auto record = [&](const Answer& a) {
    if (a.answered) {
      ++answered;
      if (o.subnet) scopes.add(*o.subnet, a.ecs);
      latencies.push_back(a.latencyMs);
    } else {
      ++lost;
    }
  };
  const auto start = Clock::now();
  std::mt19937_64 rng(std::random_device{}());
  std::exponential_distribution<double> gap(o.rate > 0 ? o.rate : 1);
  double nextArrival = 0;
  while (!g_interrupted) {
    double now = secondsSince(start);
    if (now >= o.duration) break;
    if (o.rate > 0) {
      while (nextArrival <= now && nextArrival < o.duration) {
        ++sent;
        resolver.send(o.name, o.aaaa, record);
        nextArrival += gap(rng);
      }
      resolver.poll(std::min(nextArrival, o.duration) - secondsSince(start));
    } else {
      while (resolver.pending() < o.concurrency) {
        ++sent;
        resolver.send(o.name, o.aaaa, record);
      }
      resolver.poll(std::min(0.05, o.duration - now));
    }
  }
  const double sendSeconds = secondsSince(start);
  // Drain: every outstanding query ends by its answer or its timeout.
  while (resolver.pending() > 0) resolver.poll(0.05);
  std::sort(latencies.begin(), latencies.end());

  Json j;
  j["mode"] = "latency";
  j["name"] = o.name;
  j["server"] = o.server;
  j["transport"] = o.tcp ? "tcp" : "udp";
  j["loop"] = o.rate > 0 ? "open" : "closed";
  if (o.rate > 0) j["rate"] = o.rate;
  else j["concurrency"] = o.concurrency;
  j["seconds"] = sendSeconds;
  j["timeout"] = o.timeout;
  j["sent"] = sent;
  j["answered"] = answered;
  j["lost"] = lost;
  j["throughput"] = sendSeconds > 0 ? static_cast<double>(answered) / sendSeconds : 0;
  Json ms;
  ms["min"] = percentile(latencies, 0);
  ms["p50"] = percentile(latencies, 0.5);
  ms["p90"] = percentile(latencies, 0.9);
  ms["p99"] = percentile(latencies, 0.99);
  ms["p99.9"] = percentile(latencies, 0.999);
  ms["max"] = latencies.empty() ? 0 : latencies.back();
  double sum = 0;
  for (double l : latencies) sum += l;
  ms["mean"] = latencies.empty() ? 0 : sum / static_cast<double>(latencies.size());
  j["latency_ms"] = ms;
  // Log buckets: [2^k, 2^(k+1)) microseconds.
  std::map<int, long> buckets;
  for (double l : latencies) {
    double us = std::max(1.0, l * 1000);
    ++buckets[static_cast<int>(std::floor(std::log2(us)))];
  }
  j["histogram"] = Json::array();
  for (auto& [k, n] : buckets)
    j["histogram"].push_back({{"from_ms", std::ldexp(1.0, k) / 1000},
                              {"to_ms", std::ldexp(1.0, k + 1) / 1000}, {"count", n}});
  const double cdfQ[] = {0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1};
  j["cdf"] = Json::array();
  for (double q : cdfQ) j["cdf"].push_back({{"fraction", q}, {"ms", percentile(latencies, q)}});
  if (o.subnet) j["ecs"] = subnetJson(*o.subnet, scopes);

  if (o.json) {
    std::cout << j.dump(2) << '\n';
  } else {
    std::printf("%s: %s loop (%s) over %s for %.2f s\n", o.name.c_str(),
                o.rate > 0 ? "open" : "closed",
                o.rate > 0 ? fmt("Poisson %.0f qps", o.rate).c_str()
                           : ("concurrency " + std::to_string(o.concurrency)).c_str(),
                o.tcp ? "TCP" : "UDP", sendSeconds);
    std::printf("  sent %ld, answered %ld, lost %ld (timeout %.3g s), throughput %.1f answers/s\n",
                sent, answered, lost, o.timeout, j["throughput"].get<double>());
    std::printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
                ms["p50"].get<double>(), ms["p90"].get<double>(), ms["p99"].get<double>(),
                ms["p99.9"].get<double>(), ms["max"].get<double>());
    long most = 0;
    for (auto& [k, n] : buckets) most = std::max(most, n);
    std::printf("  histogram (ms):\n");
    for (auto& [k, n] : buckets) {
      int bar = most ? static_cast<int>(std::ceil(50.0 * static_cast<double>(n) / static_cast<double>(most))) : 0;
      std::printf("  %9.3f - %-9.3f %8ld %s\n", std::ldexp(1.0, k) / 1000,
                  std::ldexp(1.0, k + 1) / 1000, n, std::string(bar, '#').c_str());
    }
    std::printf("  cdf:");
    for (const auto& p : j["cdf"])
      std::printf(" %g%%<=%.3f", 100 * p["fraction"].get<double>(), p["ms"].get<double>());
    std::printf("\n");
    if (o.subnet) printSubnet(*o.subnet, scopes);
  }
  if (!o.svg.empty()) {
    std::vector<std::pair<double, double>> points;
    const size_t n = latencies.size();
    const size_t step = std::max<size_t>(1, n / 400);
    for (size_t i = 0; i < n; i += step)
      points.push_back({latencies[i], static_cast<double>(i + 1) / static_cast<double>(n)});
    if (n) points.push_back({latencies.back(), 1.0});
    std::ostringstream svg;
    writeCdfChart(svg, "Latency CDF of " + o.name + " (" + std::to_string(answered) + " answers)",
                  points);
    writeSvgFile(o.svg, svg.str());
  }
  if (answered == 0) return 3;
  return scopes.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parseCommandLine(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "rrdns-verify: %s\n%s(rrdns-verify --help for more)\n", e.what(),
                 kSynopsis);
    return 2;
  }
  if (o.help) {
    std::fputs(kSynopsis, stdout);
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (o.version) {
    std::printf("rrdns-verify %s\n", RRDNS_VERSION);
    return 0;
  }
  try {
    if (o.mode == "rotation") return runRotation(o);
    if (o.mode == "watch") return runWatch(o);
    return runLatency(o);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "rrdns-verify: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rrdns-verify: %s\n", e.what());
    return 2;
  }
}
