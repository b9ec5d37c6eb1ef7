// Signed pools on the fast path (issue 22): computePoolStates() signs every RRset a pool state can
// answer (each owner, each window of max-addresses, each site's answer) through the zone's signer,
// precompile() adds the DO answers of a signed zone's names, and the replay serves a pool's DO
// answer as its records and the RRSIG records of exactly the window it answered. The signer here
// is a fake that counts what it is asked and "signs" deterministically, so the RRSIG RDATA of any
// member set can be predicted.
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "dns/answer/answer.hh"
#include "dns/answer/pool_state.hh"
#include "dns/answer/precompiled.hh"
#include "dns/base/bytes.hh"
#include "dns/topology/network.hh"
#include "dns/wire/constants.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::Message;
using testutil::QuerySpec;
namespace type = wire::type;

namespace {

std::string u16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)}; }
std::string u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)) + u16(v & 0xFFFF); }

// Signs like a real signer as far as the answers can tell: one RRSIG RDATA (RFC 4034 3.1) per
// key, of fixed size, over the canonical RRset (sorted, deduplicated), with a 64-byte "signature"
// that depends on the content only. Counts calls and distinct contents (what a cache by content
// would have to sign).
class FakeSigner : public zone::RRsetSigner {
 public:
  FakeSigner(std::string apex, int keys = 1) : d_apex(std::move(apex)), d_keys(keys) {}

  std::vector<std::string> sign(std::string_view owner, uint16_t rtype, uint32_t ttl,
                                const std::vector<std::string_view>& rdata) const override {
    std::vector<std::string> set(rdata.begin(), rdata.end());
    const std::string c = content(owner, rtype, ttl, set);
    std::lock_guard lock(d_mutex);
    ++d_calls;
    d_contents.insert(c);
    return rrsigs(owner, rtype, ttl, c);
  }

  // What sign() returns for the RRset of `rtype` at `owner` holding `rdata` (not counted).
  std::vector<std::string> expected(const std::string& owner, uint16_t rtype, uint32_t ttl,
                                    std::vector<std::string> rdata) const {
    return rrsigs(owner, rtype, ttl, content(owner, rtype, ttl, rdata));
  }

  size_t calls() const {
    std::lock_guard lock(d_mutex);
    return d_calls;
  }
  size_t distinct() const {
    std::lock_guard lock(d_mutex);
    return d_contents.size();
  }

 private:
  // The canonical RRset (RFC 4034 6.3: sorted, no duplicates) with what else a signature covers.
  static std::string content(std::string_view owner, uint16_t rtype, uint32_t ttl,
                             std::vector<std::string> set) {
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    std::string c = std::string(owner) + u16(rtype) + u32(ttl);
    for (const auto& r : set) c += u16(static_cast<uint16_t>(r.size())) + r;
    return c;
  }

  std::vector<std::string> rrsigs(std::string_view owner, uint16_t rtype, uint32_t ttl,
                                  const std::string& covered) const {
    uint8_t labels = 0;
    for (size_t at = 0; at < owner.size() && owner[at] != 0; at += 1 + owner[at]) ++labels;
    std::vector<std::string> out;
    for (int key = 0; key < d_keys; ++key) {
      std::string r = u16(rtype) + std::string{13, static_cast<char>(labels)} + u32(ttl) +
                      u32(2000000000) + u32(1700000000) + u16(static_cast<uint16_t>(4242 + key)) +
                      d_apex;
      uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(key);
      for (char c : covered) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
      for (int i = 0; i < 64; ++i) r += static_cast<char>(h >> (i % 8 * 8));
      out.push_back(r);
    }
    return out;
  }

  std::string d_apex;
  int d_keys;
  mutable std::mutex d_mutex;
  mutable size_t d_calls = 0;
  mutable std::set<std::string> d_contents;
};

zone::PoolMember member(const char* address, uint16_t site = 0) {
  zone::PoolMember m;
  m.text = address;
  uint8_t b[16];
  if (inet_pton(AF_INET, address, b) == 1) {
    m.address.assign(reinterpret_cast<char*>(b), 4);
    m.rtype = type::A;
  } else {
    REQUIRE(inet_pton(AF_INET6, address, b) == 1);
    m.address.assign(reinterpret_cast<char*>(b), 16);
    m.rtype = type::AAAA;
  }
  m.site = site;
  m.check.address = address;
  m.check.port = 8080;
  return m;
}

const char* const kFour[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"};

zone::Pool fourMembers(uint32_t max_addresses) {
  zone::Pool p;
  p.name = "www";
  p.owners = {testutil::name("www.signed.test."), testutil::name("web.signed.test.")};
  for (const char* a : kFour) p.members.push_back(member(a));
  p.max_addresses = max_addresses;
  p.ttl = 30;
  p.degraded_ttl = 5;
  return p;
}

// signed.test: a static rotating A RRset at `static`, a TXT at the apex, and `pool`; signed
// through a FakeSigner when `sign` (else the same zone unsigned).
struct SignedFixture {
  std::shared_ptr<FakeSigner> signer;
  std::shared_ptr<const zone::ZoneSet> zones;
  std::shared_ptr<const answer::Catalog> fast, general;
  std::shared_ptr<answer::PoolStates> fast_states, general_states;

  explicit SignedFixture(zone::Pool pool, bool sign = true, int keys = 1) {
    const std::string apex = testutil::name("signed.test.");
    signer = std::make_shared<FakeSigner>(apex, keys);
    zone::ZoneBuilder b(apex, "test");
    REQUIRE(b.add(apex, type::SOA, 300, testutil::soaRdata("signed.test.", 1, 60)).ok());
    REQUIRE(b.add(apex, type::NS, 300, testutil::name("ns1.signed.test.")).ok());
    REQUIRE(b.add(apex, type::TXT, 300, std::string("\x05hello", 6)).ok());
    REQUIRE(b.add(testutil::name("ns1.signed.test."), type::A, 300, testutil::a("192.0.2.53"))
                .ok());
    for (const char* a : {"198.51.100.1", "198.51.100.2", "198.51.100.3"})
      REQUIRE(b.add(testutil::name("static.signed.test."), type::A, 300, testutil::a(a)).ok());
    const std::string err = zonetest::messageOf(b.addPool(std::move(pool)));
    REQUIRE_MESSAGE(err.empty(), err);
    if (sign) {
      auto signed_zone = std::make_shared<zone::SignedZone>();
      signed_zone->signer = signer;
      b.setSigned(signed_zone);
    }
    zones = testutil::zoneSetOf(b);
    fast = answer::Catalog::make(zones);
    // The same catalog without a fast path: every query takes the general path.
    auto copy = std::make_shared<answer::Catalog>(*fast);
    copy->precompiled = answer::FastPath{};
    copy->rotation = std::make_shared<answer::RotationState>(fast->zones->rotationSlots());
    general = copy;
  }

  const zone::Pool& pool() const { return *zones->pools().front(); }

  // Publishes states computed for this health (targets in ZoneSet::targets() order) to both.
  void health(std::vector<health::TargetHealth> targets, const answer::PoolStates* previous = nullptr) {
    REQUIRE(targets.size() == zones->targets().size());
    health::HealthSnapshot snapshot;
    snapshot.targets = std::move(targets);
    fast_states = answer::computePoolStates(*zones, &snapshot, 1000000, nullptr, previous);
    fast_states->catalog = fast.get();
    general_states = std::make_shared<answer::PoolStates>(*fast_states);
    general_states->catalog = general.get();
  }
  const answer::FamilyState& family(int f = 0) const {
    return (fast_states ? *fast_states : *fast->initial_pools).pools[pool().id].family[f];
  }

  static std::vector<uint8_t> query(const std::string& qname, uint16_t qtype, bool dnssec_ok,
                                    bool edns = true) {
    QuerySpec spec;
    spec.qname = qname;
    spec.qtype = qtype;
    spec.edns = edns || dnssec_ok;
    spec.dnssec_ok = dnssec_ok;
    return testutil::query(spec);
  }
  std::vector<uint8_t> answerWith(const answer::Catalog& catalog, const answer::PoolStates* states,
                                  const std::vector<uint8_t>& q,
                                  const answer::Options& options = {},
                                  const sockaddr* source = nullptr) const {
    std::vector<uint8_t> out(65535);
    const answer::Outcome o =
        answer::answer(catalog, states, {q, answer::Transport::Udp, source}, out, options);
    out.resize(o.size);
    return out;
  }
  Message askFast(const std::string& qname, uint16_t qtype, bool dnssec_ok) const {
    const auto out = answerWith(*fast, fast_states.get(), query(qname, qtype, dnssec_ok));
    REQUIRE(!out.empty());
    return testutil::decode(out.data(), out.size());
  }
};

health::TargetHealth up() { return {true, 100, 0}; }
health::TargetHealth down() { return {false, 100, 0}; }

// The member addresses (wire RDATA) of window `w` of `f` (FamilyState::signatures).
std::vector<std::string> windowRdata(const zone::Pool& pool, const answer::FamilyState& f,
                                     size_t w) {
  const size_t n = f.eligible.size();
  const size_t count = pool.max_addresses ? std::min<size_t>(pool.max_addresses, n) : n;
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) out.push_back(pool.members[f.eligible[(w + i) % n]].address);
  return out;
}

// Checks that `f` holds, for every owner of `pool` and every window, the RRSIG records the signer
// gives for exactly that window's members: owner a pointer to the question, TTL the state's.
void checkBlocks(const zone::Pool& pool, const answer::FamilyState& f, const FakeSigner& signer,
                 uint16_t rtype = type::A) {
  const size_t n = f.eligible.size();
  REQUIRE(n > 0);
  const size_t count = pool.max_addresses ? std::min<size_t>(pool.max_addresses, n) : n;
  CHECK(f.windows == (count == n ? 1u : n));
  REQUIRE(f.signature_size > 0);
  CHECK(f.signatures.size() == pool.owners.size() * f.windows * f.signature_size);
  for (size_t k = 0; k < pool.owners.size(); ++k) {
    for (size_t w = 0; w < f.windows; ++w) {
      const std::vector<std::string> want =
          signer.expected(pool.owners[k], rtype, std::max(pool.ttl, pool.degraded_ttl),
                          windowRdata(pool, f, w));
      CHECK(want.size() == f.signature_count);
      size_t at = (k * f.windows + w) * f.signature_size;
      for (const std::string& rdata : want) {
        REQUIRE(at + 12 + rdata.size() <= f.signatures.size());
        const auto* p = reinterpret_cast<const uint8_t*>(f.signatures.data() + at);
        CHECK(load16(p) == 0xC00C);
        CHECK(load16(p + 2) == type::RRSIG);
        CHECK(load16(p + 4) == wire::klass::IN);
        CHECK(load32(p + 6) == f.ttl);
        CHECK(load16(p + 10) == rdata.size());
        CHECK(f.signatures.compare(at + 12, rdata.size(), rdata) == 0);
        at += 12 + rdata.size();
      }
      CHECK(at == (k * f.windows + w + 1) * f.signature_size);
    }
  }
}

// The A addresses (wire) and the RRSIG RDATA in a message's answer section.
std::vector<std::string> answerAddresses(const Message& m) {
  std::vector<std::string> out;
  for (const auto& r : m.answer)
    if (r.type == type::A) out.emplace_back(r.rdata.begin(), r.rdata.end());
  return out;
}
std::vector<std::string> answerRrsigs(const Message& m) {
  std::vector<std::string> out;
  for (const auto& r : m.answer)
    if (r.type == type::RRSIG) out.emplace_back(r.rdata.begin(), r.rdata.end());
  return out;
}

}  // namespace

TEST_CASE("signed pool states: every owner and every window of max-addresses has its RRSIGs") {
  SignedFixture fx(fourMembers(2));
  fx.health({up(), up(), up(), up()});
  const answer::FamilyState& f = fx.family();
  CHECK(f.eligible.size() == 4);
  CHECK(f.windows == 4);
  checkBlocks(fx.pool(), f, *fx.signer);
  // Each window is its own RRset; two owners sign alike members apart.
  CHECK(fx.signer->distinct() == 2 * 4);
  // No AAAA members: nothing to answer, nothing signed.
  CHECK(fx.family(1).windows == 0);
  CHECK(fx.family(1).signatures.empty());

  // Degraded: the windows are those of the members left, their records served with the
  // degraded TTL, signed with the original TTL (max(ttl, degraded-ttl)).
  fx.health({up(), down(), up(), up()});
  CHECK(fx.family().ttl == 5);
  CHECK(fx.family().windows == 3);
  checkBlocks(fx.pool(), fx.family(), *fx.signer);
}

TEST_CASE("signed pool states: one window when every member is answered; one block per key") {
  SignedFixture fx(fourMembers(0), true, 2);
  fx.health({up(), up(), down(), up()});
  const answer::FamilyState& f = fx.family();
  CHECK(f.windows == 1);
  CHECK(f.signature_count == 2);  // e.g. two ZSKs during an algorithm-free double signature
  checkBlocks(fx.pool(), f, *fx.signer);
  // max-addresses at least the members: one window too.
  SignedFixture wide(fourMembers(8));
  CHECK(wide.family().windows == 1);
  checkBlocks(wide.pool(), wide.family(), *wide.signer);
}

TEST_CASE("signed pool states: fail-open, drained-only and all-down states") {
  zone::Pool p = fourMembers(0);
  p.min_healthy = 0.75;
  SignedFixture fx(std::move(p));
  fx.health({up(), down(), down(), up()});  // too few up: every member answers
  CHECK(fx.family().mode == answer::PoolMode::FailOpen);
  checkBlocks(fx.pool(), fx.family(), *fx.signer);

  // Only drained members are up: they answer (weight 0 is "only when nothing else is left").
  zone::Pool d = fourMembers(1);
  d.members[2].weight = d.members[3].weight = 0;
  SignedFixture drained(std::move(d));
  drained.health({down(), down(), up(), up()});
  CHECK(drained.family().eligible == std::vector<uint16_t>{2, 3});
  CHECK(drained.family().windows == 2);
  checkBlocks(drained.pool(), drained.family(), *drained.signer);

  zone::Pool q = fourMembers(0);
  q.all_down = zone::AllDown::Servfail;
  SignedFixture servfail(std::move(q));
  servfail.health({down(), down(), down(), down()});
  CHECK(servfail.family().mode == answer::PoolMode::AllDownServfail);
  CHECK(servfail.family().windows == 0);
  CHECK(servfail.family().signature_size == 0);
  CHECK(servfail.family().signatures.empty());
}

TEST_CASE("an unsigned zone's pool states carry no signatures") {
  SignedFixture fx(fourMembers(2), false);
  fx.health({up(), up(), up(), up()});
  CHECK(fx.family().windows == 0);
  CHECK(fx.family().signature_size == 0);
  CHECK(fx.family().signatures.empty());
  CHECK(fx.signer->calls() == 0);
}

TEST_CASE("a member flapping back to a set already seen needs no new signature") {
  SignedFixture fx(fourMembers(0));
  fx.health({up(), up(), up(), up()});
  const size_t all_up = fx.signer->distinct();
  CHECK(all_up == 2);  // two owners, one window
  fx.health({up(), down(), up(), up()});
  const size_t after_down = fx.signer->distinct();
  CHECK(after_down == 4);
  const size_t calls = fx.signer->calls();
  fx.health({up(), up(), up(), up()});  // back: a set seen before
  CHECK(fx.signer->distinct() == after_down);
  CHECK(fx.signer->calls() > calls);  // asked again, answered from what it has
  fx.health({up(), down(), up(), up()});
  CHECK(fx.signer->distinct() == after_down);
  checkBlocks(fx.pool(), fx.family(), *fx.signer);
}

TEST_CASE("signed pools with sites: every site answer and spill state is signed") {
  auto map = std::make_shared<topology::TopologyMap>();
  map->name = "geo";
  map->lists = {{}, {"east", "west"}, {"west", "east"}};
  map->networks[0].add(*topology::parseNetwork("10.1.0.0/16"), 1);
  map->networks[0].add(*topology::parseNetwork("10.2.0.0/16"), 2);
  zone::Pool p = fourMembers(1);
  p.members[0].site = p.members[1].site = 0;
  p.members[2].site = p.members[3].site = 1;
  for (const char* name : {"east", "west"}) {
    zone::Site site;
    site.name = name;
    p.sites.push_back(site);
  }
  p.site_lists = {{}, {0, 1}, {1, 0}};
  p.map = map;
  SignedFixture fx(std::move(p));
  fx.health({up(), up(), up(), up()});
  const answer::PoolState& state = fx.fast_states->pools[fx.pool().id];
  REQUIRE(state.topology);
  checkBlocks(fx.pool(), state.family[0], *fx.signer);
  REQUIRE(state.topology->answers[0].size() == 3);  // default (whole), east, west
  for (const answer::SiteAnswer& a : state.topology->answers[0])
    checkBlocks(fx.pool(), a.state, *fx.signer);
  // East down: its clients spill to west, whose state is then weighted by capacity.
  fx.health({down(), down(), up(), up()}, fx.fast_states.get());
  const answer::PoolState& after = fx.fast_states->pools[fx.pool().id];
  for (const answer::SiteAnswer& a : after.topology->answers[0]) {
    checkBlocks(fx.pool(), a.state, *fx.signer);
    for (uint16_t m : a.state.eligible) CHECK(fx.pool().members[m].site == 1);
  }

  // The fast path routes a DO query by its ECS option and answers with its window's RRSIGs.
  QuerySpec spec;
  spec.qname = "www.signed.test.";
  spec.edns = spec.dnssec_ok = true;
  spec.edns_options = testutil::ednsOption(8, std::string{'\0', '\1', 24, '\0', 10, 1, 7});
  answer::Options options;
  options.client_subnet = true;
  fx.health({up(), up(), up(), up()}, fx.fast_states.get());
  for (int i = 0; i < 4; ++i) {
    const auto out = fx.answerWith(*fx.fast, fx.fast_states.get(), testutil::query(spec), options);
    REQUIRE(!out.empty());
    const Message m = testutil::decode(out.data(), out.size());
    const auto addresses = answerAddresses(m);
    REQUIRE(addresses.size() == 1);
    CHECK((addresses[0] == testutil::a("192.0.2.1") || addresses[0] == testutil::a("192.0.2.2")));
    CHECK(answerRrsigs(m) ==
          fx.signer->expected(fx.pool().owners[0], type::A, 30, addresses));
    CHECK(m.answer.back().ttl == 30);
  }
}

TEST_CASE("the fast path answers a signed pool's DO query with the RRSIGs of the window it gives") {
  SignedFixture fx(fourMembers(2));
  fx.health({up(), up(), down(), up()});
  const std::string owners[] = {"www.signed.test.", "web.signed.test."};
  for (size_t k = 0; k < 2; ++k) {
    std::set<std::string> firsts;
    for (int i = 0; i < 6; ++i) {
      const Message m = fx.askFast(owners[k], type::A, true);
      CHECK(m.aa());
      const auto addresses = answerAddresses(m);
      REQUIRE(addresses.size() == 2);
      firsts.insert(addresses[0]);
      REQUIRE(m.answer.size() == 3);
      CHECK(m.answer[2].type == type::RRSIG);
      CHECK(m.answer[2].ttl == 5);  // the state's TTL
      CHECK(m.answer[2].owner == owners[k]);
      CHECK(answerRrsigs(m) == fx.signer->expected(fx.pool().owners[k], type::A, 30, addresses));
      REQUIRE(m.opt());
      CHECK((m.opt()->ttl & 0x8000) != 0);  // DO echoed
    }
    CHECK(firsts.size() == 3);  // every window came round
  }
  // DO=0: the records alone, as in an unsigned zone.
  const Message plain = fx.askFast("www.signed.test.", type::A, false);
  CHECK(plain.answer.size() == 2);
  CHECK(answerRrsigs(plain).empty());
}

TEST_CASE("a signed zone's DO=0 answers are those of the same zone unsigned") {
  SignedFixture signed_fx(fourMembers(2));
  SignedFixture plain_fx(fourMembers(2), false);
  signed_fx.health({up(), down(), up(), up()});
  plain_fx.health({up(), down(), up(), up()});
  const std::pair<const char*, uint16_t> questions[] = {
      {"www.signed.test.", type::A},    {"web.signed.test.", type::A},
      {"www.signed.test.", type::AAAA}, {"static.signed.test.", type::A},
      {"signed.test.", type::TXT},      {"signed.test.", type::MX},
      {"nx.signed.test.", type::A},     {"signed.test.", type::NS}};
  for (int round = 0; round < 3; ++round)
    for (const auto& [qname, qtype] : questions)
      for (bool edns : {false, true}) {
        const auto q = SignedFixture::query(qname, qtype, false, edns);
        CHECK(signed_fx.answerWith(*signed_fx.fast, signed_fx.fast_states.get(), q) ==
              plain_fx.answerWith(*plain_fx.fast, plain_fx.fast_states.get(), q));
      }
}

TEST_CASE("precompile: a signed pool's DO answer is a hidden entry naming its owner") {
  SignedFixture fx(fourMembers(2));
  const answer::PrecompiledAnswers& table = *fx.fast->precompiled.get();
  const std::string owners[] = {testutil::name("www.signed.test."),
                                testutil::name("web.signed.test.")};
  for (uint32_t k = 0; k < 2; ++k) {
    const answer::PrecompiledAnswer* e = table.find(owners[k], wire::hashName(owners[k]), type::A);
    REQUIRE(e);
    CHECK(e->pool == &fx.pool());
    CHECK(e->rotate_slot == zone::kNoRotation);
    REQUIRE(e->signed_next == answer::kSignedNext);
    const answer::PrecompiledAnswer& d = e[1];
    CHECK(d.pool == &fx.pool());
    CHECK(d.pool_family == e->pool_family);
    CHECK(d.qtype == type::A);
    CHECK(d.rotate_slot == k);
    CHECK(d.signed_next == 0);
  }
  // The unsigned zone's entries have none.
  SignedFixture plain(fourMembers(2), false);
  const answer::PrecompiledAnswer* e =
      plain.fast->precompiled->find(owners[0], wire::hashName(owners[0]), type::A);
  REQUIRE(e);
  CHECK(e->signed_next == 0);
  for (const answer::NegativeAnswer& z : fx.fast->precompiled->negatives()) CHECK(z.signed_zone);
  for (const answer::NegativeAnswer& z : plain.fast->precompiled->negatives())
    CHECK(!z.signed_zone);
}

TEST_CASE("PrecompiledAnswers: the entry after a signed_next one is never found by itself") {
  answer::PrecompiledAnswers table;
  const std::string name = testutil::name("x.test.");
  answer::PrecompiledAnswer e;
  e.hash = wire::hashName(name);
  e.name = name.data();
  e.name_size = static_cast<uint8_t>(name.size());
  e.qtype = type::A;
  e.signed_next = answer::kSignedNext;
  table.add(e, "plain");
  answer::PrecompiledAnswer d = e;
  d.signed_next = 0;
  d.qtype = type::TXT;  // a type no visible entry has: found only if it were in the slots
  table.add(d, "signed");
  table.finish();
  const answer::PrecompiledAnswer* found = table.find(name, e.hash, type::A);
  REQUIRE(found);
  CHECK(std::string_view(reinterpret_cast<const char*>(table.image(*found)), found->image_size) ==
        "plain");
  CHECK(std::string_view(reinterpret_cast<const char*>(table.image(found[1])), found[1].image_size) ==
        "signed");
  CHECK(table.find(name, e.hash, type::TXT) == nullptr);
}

TEST_CASE("a signed zone's DO=1 negative answers take the general path; DO=0 ones are replayed") {
  SignedFixture fx(fourMembers(0));
  // A copy of the fast path whose negative images are marked (the SOA's TTL changed), so that an
  // answer from them can be told from the general path's.
  auto table = std::make_shared<answer::PrecompiledAnswers>(*fx.fast->precompiled.get());
  std::vector<answer::NegativeAnswer> negatives = table->negatives();
  REQUIRE(negatives.size() == 1);
  REQUIRE(negatives[0].usable);
  REQUIRE(negatives[0].signed_zone);
  // The image is the SOA record: a pointer to the apex, type, class, then the TTL.
  std::string& image = negatives[0].image;
  REQUIRE(image.size() > 10);
  image[6] = '\x7f';
  table->setNegatives(negatives);
  auto marked = std::make_shared<answer::Catalog>(*fx.fast);
  marked->precompiled = answer::FastPath{};
  marked->precompiled.set(table);
  for (const auto& [qname, qtype] :
       {std::pair<const char*, uint16_t>{"nx.signed.test.", type::A},       // NXDOMAIN
        std::pair<const char*, uint16_t>{"static.signed.test.", type::MX}}) {  // NODATA
    const auto plain = fx.answerWith(*marked, nullptr, SignedFixture::query(qname, qtype, false));
    REQUIRE(!plain.empty());
    const Message p = testutil::decode(plain.data(), plain.size());
    REQUIRE(p.authority.size() == 1);
    CHECK((p.authority[0].ttl >> 24) == 0x7fu);  // replayed
    const auto signed_answer =
        fx.answerWith(*marked, nullptr, SignedFixture::query(qname, qtype, true));
    REQUIRE(!signed_answer.empty());
    const Message s = testutil::decode(signed_answer.data(), signed_answer.size());
    REQUIRE(!s.authority.empty());
    CHECK(s.authority[0].type == type::SOA);
    CHECK(s.authority[0].ttl == 60);  // the general path's
  }
}
