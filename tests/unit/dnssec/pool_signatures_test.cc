// pool_signatures_test.cc -- a zone signed by signZone with rrdns's Signer (real ECDSA keys): the
// pool states computed for it carry RRSIGs that verify over exactly the members each answer
// holds, the fast path serves them to DO queries (the same bytes as the general path), and a
// member flapping back to a set signed before costs no signature (the Signer's cache by content).
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>

#include "dns/answer/answer.hh"
#include "dns/answer/catalog.hh"
#include "dns/answer/pool_state.hh"
#include "dns/base/bytes.hh"
#include "dns/dnssec/rrsig.hh"
#include "dns/dnssec/signer.hh"
#include "dns/dnssec/zone_signer.hh"
#include "dns/wire/constants.hh"
#include "tests/unit/dnssec/dnssec_test_util.hh"
#include "tests/unit/message_util.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
namespace type = wire::type;

namespace {

// signed.test (tests/fixtures/zones/signed.test.toml) signed with a KSK and a ZSK made in `dir`;
// its pool web has 192.0.2.10, 192.0.2.11 and 2001:db8::10 at www, ttl 30, degraded-ttl 10.
struct SignedPools {
  const dnssectest::TempDir dir;
  std::shared_ptr<dnssec::SigningStats> stats = std::make_shared<dnssec::SigningStats>();
  std::optional<dnssec::Key> zsk;
  std::shared_ptr<const zone::ZoneSet> zones;
  std::shared_ptr<const answer::Catalog> catalog;
  std::shared_ptr<answer::PoolStates> states;

  // signed.test.toml, or `plain` (whose apex is signed.test.) when given.
  explicit SignedPools(std::shared_ptr<zone::Zone> plain = nullptr) {
    zone::DnssecPolicy policy;
    if (!plain) {
      auto load =
          zone::loadTomlZone(zonetest::sourcePath("tests/fixtures/zones/signed.test.toml"));
      zonetest::loaded(load);
      plain = *load.zone;
    }
    zone::ZoneSettings settings = plain->settings();
    settings.dnssec = policy;
    plain->setSettings(settings);
    const std::string apex = zonetest::wireName("signed.test.");
    auto ksk = dnssec::Key::generate(dir.path(), apex, policy.algorithm, dnssec::KeyRole::Ksk);
    auto z = dnssec::Key::generate(dir.path(), apex, policy.algorithm, dnssec::KeyRole::Zsk);
    REQUIRE(ksk.ok());
    REQUIRE(z.ok());
    zsk = z.value();
    auto signer = std::make_shared<dnssec::Signer>(
        apex, std::vector{ksk.value()}, std::vector{*zsk}, policy,
        std::make_shared<dnssec::SignatureCache>(stats), stats);
    const auto result = dnssec::signZone(
        *plain, {signer, {ksk.value().dnskeyRdata(), zsk->dnskeyRdata()}, 0, ""}, 2);
    REQUIRE(result.zone);
    auto set = std::make_shared<zone::ZoneSet>();
    REQUIRE(set->add(result.zone).ok());
    set->assignRotationSlots();
    zones = set;
    catalog = answer::Catalog::make(zones);
  }

  const zone::Pool& web(const char* name = "web") const {
    for (const zone::Pool* p : zones->pools())
      if (p->name == name) return *p;
    FAIL("no pool web");
    throw 0;
  }
  // Every target up but those at `down` (addresses as text).
  void health(std::vector<std::string> down) {
    health::HealthSnapshot snapshot;
    for (const health::CheckSpec& t : zones->targets())
      snapshot.targets.push_back(
          {std::find(down.begin(), down.end(), t.address) == down.end(), 100, 0});
    states = answer::computePoolStates(*zones, &snapshot, 1000000, nullptr, states.get());
    states->catalog = catalog.get();
  }
  const answer::FamilyState& family(int f) const { return states->pools[web().id].family[f]; }
};

// The RRSIG RDATA of the block of owner 0, window `w` of `f` (one key: one record).
std::string blockRdata(const answer::FamilyState& f, size_t w) {
  REQUIRE(f.signature_count == 1);
  const auto* p = reinterpret_cast<const uint8_t*>(f.signatures.data() + w * f.signature_size);
  CHECK(load16(p + 2) == type::RRSIG);
  CHECK(load32(p + 6) == f.ttl);
  return f.signatures.substr(w * f.signature_size + 12, load16(p + 10));
}

std::vector<std::string_view> addressesOf(const zone::Pool& pool, const answer::FamilyState& f) {
  std::vector<std::string_view> out;
  for (uint16_t m : f.eligible) out.push_back(pool.members[m].address);
  return out;
}

}  // namespace

TEST_CASE("pool states of a zone signed by rrdns's Signer: RRSIGs that verify, cached by content") {
  SignedPools fx;
  fx.health({});
  const zone::Pool& web = fx.web();
  const std::string www = zonetest::wireName("www.signed.test.");
  for (int f = 0; f < 2; ++f) {
    const answer::FamilyState& state = fx.family(f);
    REQUIRE(state.windows == 1);
    const std::string rrsig = blockRdata(state, 0);
    CHECK(load32(reinterpret_cast<const uint8_t*>(rrsig.data()) + 4) == 30);  // original TTL
    CHECK(dnssec::verifyRrsig(*fx.zsk, rrsig, www, f == 0 ? type::A : type::AAAA,
                              addressesOf(web, state)));
  }
  const uint64_t all_up = fx.stats->signatures.load();

  fx.health({"192.0.2.11"});
  REQUIRE(fx.family(0).eligible.size() == 1);
  CHECK(fx.family(0).ttl == 10);
  CHECK(dnssec::verifyRrsig(*fx.zsk, blockRdata(fx.family(0), 0), www, type::A,
                            addressesOf(web, fx.family(0))));
  const uint64_t one_down = fx.stats->signatures.load();
  CHECK(one_down == all_up + 1);  // the one new set

  fx.health({});  // back: both sets were signed before
  fx.health({"192.0.2.11"});
  fx.health({});
  CHECK(fx.stats->signatures.load() == one_down);
}

TEST_CASE("the fast path answers a DO query for a signed pool with an RRSIG that verifies") {
  SignedPools fx;
  fx.health({"192.0.2.10"});
  testutil::QuerySpec spec;
  spec.qname = "www.signed.test.";
  spec.edns = spec.dnssec_ok = true;
  const auto q = testutil::query(spec);
  std::vector<uint8_t> out(65535);
  const answer::Outcome o =
      answer::answer(*fx.catalog, fx.states.get(), {q, answer::Transport::Udp}, out);
  REQUIRE(o.size > 0);
  const testutil::Message m = testutil::decode(out.data(), o.size);
  REQUIRE(m.answer.size() == 2);
  CHECK(m.answer[0].type == type::A);
  CHECK(m.address(m.answer[0]) == "192.0.2.11");
  CHECK(m.answer[1].type == type::RRSIG);
  CHECK(m.answer[1].ttl == 10);
  const std::string address(m.answer[0].rdata.begin(), m.answer[0].rdata.end());
  CHECK(dnssec::verifyRrsig(*fx.zsk,
                            std::string(m.answer[1].rdata.begin(), m.answer[1].rdata.end()),
                            zonetest::wireName("www.signed.test."), type::A, {address}));
}

namespace {

// signed.test built here: a rotating A RRset, an MX with its address in the additional section,
// and a pool with two owners, A and AAAA members and max-addresses 2 (a window per start).
std::shared_ptr<zone::Zone> rotatingZone() {
  const std::string apex = zonetest::wireName("signed.test.");
  zone::ZoneBuilder b(apex, "test");
  auto add = [&](const char* owner, uint16_t rtype, std::string rdata) {
    REQUIRE(b.add(zonetest::wireName(owner), rtype, 300, std::move(rdata)).ok());
  };
  add("signed.test.", type::SOA, testutil::soaRdata("signed.test.", 1, 60));
  add("signed.test.", type::NS, zonetest::wireName("ns1.signed.test."));
  add("signed.test.", type::TXT, std::string("\x05hello", 6));
  add("ns1.signed.test.", type::A, testutil::a("192.0.2.53"));
  for (const char* a : {"198.51.100.1", "198.51.100.2", "198.51.100.3"})
    add("rr.signed.test.", type::A, testutil::a(a));
  add("signed.test.", type::MX, std::string("\0\x0a", 2) + zonetest::wireName("mail.signed.test."));
  add("mail.signed.test.", type::A, testutil::a("192.0.2.25"));
  zone::Pool p;
  p.name = "www";
  p.owners = {zonetest::wireName("www.signed.test."), zonetest::wireName("web.signed.test.")};
  for (const char* address : {"192.0.2.10", "192.0.2.11", "192.0.2.12", "2001:db8::10"}) {
    zone::PoolMember m;
    m.text = address;
    m.address = std::string(address).find(':') == std::string::npos ? testutil::a(address)
                                                                    : testutil::aaaa(address);
    m.rtype = m.address.size() == 4 ? type::A : type::AAAA;
    m.check.address = address;
    m.check.port = 8080;
    p.members.push_back(m);
  }
  p.max_addresses = 2;
  p.ttl = 30;
  p.degraded_ttl = 10;
  const std::string err = zonetest::messageOf(b.addPool(std::move(p)));
  REQUIRE_MESSAGE(err.empty(), err);
  auto zone = b.finish();
  REQUIRE(zone.ok());
  return *zone;
}

}  // namespace

TEST_CASE("a signed zone's DO answers: the fast path gives the general path's bytes") {
  SignedPools fx(rotatingZone());
  // The same catalog without a fast path (its own cursors, starting where the other's do).
  auto copy = std::make_shared<answer::Catalog>(*fx.catalog);
  copy->precompiled = answer::FastPath{};
  copy->rotation = std::make_shared<answer::RotationState>(fx.zones->rotationSlots());
  const std::pair<const char*, uint16_t> questions[] = {
      {"www.signed.test.", type::A},      {"web.signed.test.", type::A},
      {"www.signed.test.", type::AAAA},   {"rr.signed.test.", type::A},
      {"signed.test.", type::TXT},        {"signed.test.", type::MX},
      {"signed.test.", type::NS},         {"signed.test.", type::SOA},
      {"signed.test.", type::DNSKEY},     {"rr.signed.test.", type::NSEC},
      {"ns1.signed.test.", type::A},      {"nx.signed.test.", type::A},
      {"rr.signed.test.", type::MX},      {"www.signed.test.", type::TXT}};
  size_t signed_answers = 0;
  for (const std::vector<std::string>& down :
       {std::vector<std::string>{}, {"192.0.2.11"}, {"192.0.2.10", "192.0.2.12"}, {}}) {
    fx.health(down);
    auto general_states = std::make_shared<answer::PoolStates>(*fx.states);
    general_states->catalog = copy.get();
    for (int round = 0; round < 4; ++round)
      for (const auto& [qname, qtype] : questions)
        for (bool dnssec_ok : {false, true}) {
          testutil::QuerySpec spec;
          spec.qname = qname;
          spec.qtype = qtype;
          spec.edns = true;
          spec.dnssec_ok = dnssec_ok;
          const auto q = testutil::query(spec);
          std::vector<uint8_t> a(65535), b(65535);
          const answer::Outcome x =
              answer::answer(*fx.catalog, fx.states.get(), {q, answer::Transport::Udp}, a);
          const answer::Outcome y =
              answer::answer(*copy, general_states.get(), {q, answer::Transport::Udp}, b);
          a.resize(x.size);
          b.resize(y.size);
          CHECK_MESSAGE(a == b, qname << " " << qtype << " DO=" << dnssec_ok);
          CHECK(x.first_member == y.first_member);
          if (dnssec_ok && !a.empty()) {
            const testutil::Message m = testutil::decode(a.data(), a.size());
            for (const auto& r : m.answer) signed_answers += r.type == type::RRSIG;
          }
        }
  }
  CHECK(signed_answers > 0);
  // The DO entries were replayed, not left to the general path: the static RRSIGs are in the
  // table, and pools' DO entries are there for both owners.
  const answer::PrecompiledAnswers& table = *fx.catalog->precompiled.get();
  for (const char* name : {"rr.signed.test.", "www.signed.test.", "web.signed.test."}) {
    const std::string wire = zonetest::wireName(name);
    const answer::PrecompiledAnswer* e = table.find(wire, wire::hashName(wire), type::A);
    REQUIRE(e);
    CHECK(e->signed_next == answer::kSignedNext);
    CHECK(e[1].counts[0] >= e->counts[0]);
  }
}
