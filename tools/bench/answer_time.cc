// answer_time.cc -- rrdns-answer-time: nanoseconds of user-space work per query, without a kernel
// in the way. Loads zones as rrdnsd does (fast path built), then answers a query list (dnsperf's
// "name type" lines) in a loop on one thread and prints ns per query: the median and minimum
// over rounds, for the whole list and for each distinct query (plus those of --each FILE, timed
// one by one only: e.g. a pool name that the list itself does not ask).
//
// Why it exists: under udpblast the server's user time per query comes from /proc's utime, which
// this kernel samples with the 250 Hz tick. A tick that lands while a system call is on its way
// back to user space is charged to user time, so at 400k system calls a second limit.c, which does
// no DNS work at all, shows 20-350 ns "user" per query between runs. This figure is the DNS work
// alone, with warm caches, and barely moves between runs.
//
// --subnet CIDR sends an EDNS Client Subnet option (RFC 7871) with every query (EDNS implied), so
// that pools with sites route by it and every answer carries it back.
//
// Usage: rrdns-answer-time [--rounds N] [--ms MS] [--edns] [--subnet CIDR] [--each FILE] QUERIES
//                          ZONE_FILE...
#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/zone/loader.hh"

using namespace rrdns;

namespace {

struct Query {
  std::string text;  // "www.rr.test A"
  std::vector<uint8_t> wire;
};

// The ECS option (code, length, data) for "ADDRESS/PREFIX", or "" with `error` set.
std::string subnetOption(const std::string& cidr, std::string& error) {
  const size_t slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  const int prefix = slash == std::string::npos ? -1 : std::atoi(cidr.c_str() + slash + 1);
  uint8_t bytes[16];
  uint16_t family = 1;
  if (inet_pton(AF_INET, address.c_str(), bytes) != 1) {
    family = 2;
    if (inet_pton(AF_INET6, address.c_str(), bytes) != 1) {
      error = "--subnet: not ADDRESS/PREFIX: " + cidr;
      return {};
    }
  }
  if (prefix < 0 || prefix > (family == 1 ? 32 : 128)) {
    error = "--subnet: bad prefix length in " + cidr;
    return {};
  }
  const size_t n = (static_cast<size_t>(prefix) + 7) / 8;
  std::string o(8, '\0');
  store16(reinterpret_cast<uint8_t*>(&o[0]), 8);
  store16(reinterpret_cast<uint8_t*>(&o[2]), static_cast<uint16_t>(4 + n));
  store16(reinterpret_cast<uint8_t*>(&o[4]), family);
  o[6] = static_cast<char>(prefix);
  o.append(reinterpret_cast<const char*>(bytes), n);
  return o;
}

// A query as udpblast -r sends it: RD set, one question, EDNS (payload 1232) when asked, with
// `options` (raw EDNS options) in its OPT record.
bool encode(const std::string& name, const std::string& type, bool edns,
            const std::string& options, Query& q, std::string& error) {
  std::string owner;
  const std::string absolute = name.ends_with('.') ? name : name + ".";
  if (!wire::nameFromText(absolute, "", owner, error)) return false;
  const auto qtype = wire::typeFromName(type);
  if (!qtype) {
    error = "unknown type " + type;
    return false;
  }
  std::vector<uint8_t>& m = q.wire;
  m.assign(12, 0);
  store16(&m[0], 0x2a2a);
  store16(&m[2], 0x0100);  // RD
  store16(&m[4], 1);
  store16(&m[10], edns ? 1 : 0);
  m.insert(m.end(), owner.begin(), owner.end());
  uint8_t tail[4];
  store16(tail, *qtype);
  store16(tail + 2, 1);  // IN
  m.insert(m.end(), tail, tail + 4);
  if (edns) {
    uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    store16(opt + 9, static_cast<uint16_t>(options.size()));
    m.insert(m.end(), opt, opt + sizeof opt);
    m.insert(m.end(), options.begin(), options.end());
  }
  q.text = name + " " + type;
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ns per answer over `ms` milliseconds of passes over `queries`, answered into `out`.
double timeAnswers(const answer::Catalog& catalog, const std::vector<const Query*>& queries,
                   std::vector<uint8_t>& out, int ms) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto end = start + std::chrono::milliseconds(ms);
  uint64_t answered = 0;
  size_t bytes = 0;  // consumed below, so that the compiler keeps every call
  auto now = start;
  do {
    for (int pass = 0; pass < 64; ++pass)
      for (const Query* q : queries)
        bytes += answer::answer(catalog, nullptr, {q->wire, answer::Transport::Udp}, out).size;
    answered += 64 * queries.size();
    now = clock::now();
  } while (now < end);
  if (bytes == 0) std::fprintf(stderr, "rrdns-answer-time: every answer was empty\n");
  return std::chrono::duration<double, std::nano>(now - start).count() /
         static_cast<double>(answered);
}

// dnsperf's format: "name type" per line; blank lines and # comments are skipped.
bool readQueries(const std::string& path, bool edns, const std::string& options,
                 std::vector<Query>& queries) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "rrdns-answer-time: cannot read %s\n", path.c_str());
    return false;
  }
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    std::istringstream words(line);
    std::string name, type, error;
    if (!(words >> name >> type) || name.starts_with('#')) continue;
    Query q;
    if (!encode(name, type, edns, options, q, error)) {
      std::fprintf(stderr, "%s:%d: %s\n", path.c_str(), lineno, error.c_str());
      return false;
    }
    queries.push_back(std::move(q));
  }
  return true;
}

int usage() {
  std::fprintf(stderr, "usage: rrdns-answer-time [--rounds N] [--ms MS] [--edns] [--subnet CIDR] "
                       "[--each FILE] QUERIES ZONE_FILE...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5, ms = 300;
  bool edns = false;
  std::string each_file, options;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (a == "--ms" && i + 1 < argc) ms = std::atoi(argv[++i]);
    else if (a == "--edns") edns = true;
    else if (a == "--each" && i + 1 < argc) each_file = argv[++i];
    else if (a == "--subnet" && i + 1 < argc) {
      std::string error;
      options = subnetOption(argv[++i], error);
      if (options.empty()) {
        std::fprintf(stderr, "rrdns-answer-time: %s\n", error.c_str());
        return 2;
      }
      edns = true;
    }
    else if (a.starts_with("--")) return usage();
    else args.push_back(a);
  }
  if (args.size() < 2 || rounds < 1 || ms < 1) return usage();

  zone::ZoneSetLoad load = zone::loadZoneSet({args.begin() + 1, args.end()});
  for (const Error& e : load.zones.errors()) std::fprintf(stderr, "%s\n", e.text().c_str());
  if (!load.zones) return 1;
  auto catalog = answer::Catalog::make(*load.zones, answer::Precompile::Now);

  std::vector<Query> queries, extra;
  if (!readQueries(args[0], edns, options, queries) ||
      (!each_file.empty() && !readQueries(each_file, edns, options, extra)))
    return 1;
  if (queries.empty()) {
    std::fprintf(stderr, "rrdns-answer-time: no queries in %s\n", args[0].c_str());
    return 1;
  }

  std::vector<uint8_t> out(1232);
  std::vector<const Query*> all;
  std::map<std::string, std::vector<const Query*>> each;  // one list per distinct query
  for (const Query& q : queries) {
    all.push_back(&q);
    if (each[q.text].empty()) each[q.text].push_back(&q);
  }
  // A list of many names (the bench's --nxdomain flood) is timed as a whole: a line for each
  // would be thousands of lines and as many timing loops.
  constexpr size_t kMaxEach = 32;
  const size_t distinct = each.size();
  if (distinct > kMaxEach) each.clear();
  for (const Query& q : extra)
    if (each[q.text].empty()) each[q.text].push_back(&q);
  std::vector<double> whole;
  std::map<std::string, std::vector<double>> single;
  for (int r = 0; r < rounds; ++r) {
    whole.push_back(timeAnswers(*catalog, all, out, ms));
    for (const auto& [text, list] : each)
      single[text].push_back(timeAnswers(*catalog, list, out, std::max(1, ms / 10)));
  }
  std::printf("%-28s %9s %9s\n", "query", "ns_median", "ns_min");
  std::printf("%-28s %9.1f %9.1f\n", ("(all " + std::to_string(queries.size()) + " lines)").c_str(),
              median(whole), *std::min_element(whole.begin(), whole.end()));
  if (distinct > kMaxEach)
    std::printf("(%zu distinct queries: timed as a whole only)\n", distinct);
  for (const auto& [text, v] : single)
    std::printf("%-28s %9.1f %9.1f\n", text.c_str(), median(v), *std::min_element(v.begin(), v.end()));
  return 0;
}
