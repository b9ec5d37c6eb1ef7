// site_health_test.cc -- which sites can take clients, and why not, as operators are told.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/answer/site_health.hh"
#include "dns/wire/constants.hh"

using namespace rrdns;
namespace type = wire::type;

namespace {

// Two sites: east with three A members, west with two A members and one AAAA member.
zone::Pool twoSites(double east_min_healthy = 0) {
  zone::Pool p;
  p.name = "www";
  p.sites = {{"east", "geo.toml:10", 100, east_min_healthy}, {"west", "geo.toml:14", 50, 0}};
  auto add = [&p](const char* text, uint16_t rtype, uint16_t site) {
    zone::PoolMember m;
    m.text = text;
    m.rtype = rtype;
    m.site = site;
    p.members.push_back(m);
  };
  add("127.0.1.1", type::A, 0);
  add("127.0.1.2", type::A, 0);
  add("127.0.1.3", type::A, 0);
  add("127.0.2.1", type::A, 1);
  add("127.0.2.2", type::A, 1);
  add("::2:1", type::AAAA, 1);
  return p;
}

}  // namespace

TEST_CASE("siteUsable: a member answering, and up/active at least min-healthy") {
  CHECK(answer::siteUsable(true, 1, 3, 0));
  CHECK_FALSE(answer::siteUsable(false, 0, 3, 0));  // no fail-open inside a site
  CHECK_FALSE(answer::siteUsable(false, 3, 3, 0));  // up, but every one reports weight 0
  CHECK(answer::siteUsable(true, 2, 4, 0.5));
  CHECK_FALSE(answer::siteUsable(true, 1, 4, 0.5));
  CHECK(answer::siteUsable(true, 3, 3, 1));
}

TEST_CASE("siteHealth counts each site's members of the family and says why one cannot answer") {
  const zone::Pool p = twoSites(0.5);
  std::vector<answer::MemberStatus> m(6, answer::MemberStatus{true, 100, false});

  auto a = answer::siteHealth(p, type::A, m);
  REQUIRE(a.size() == 2);
  CHECK(a[0].usable);
  CHECK(a[0].members == 3);
  CHECK(a[0].active == 3);
  CHECK(a[0].up == 3);
  CHECK(a[0].why.empty());
  CHECK(a[1].members == 2);

  m[0].up = m[1].up = false;  // east: 1 of 3 up, below its min-healthy 0.5
  a = answer::siteHealth(p, type::A, m);
  CHECK_FALSE(a[0].usable);
  CHECK(a[0].why == "1 of 3 up, min-healthy 0.5");
  CHECK(a[1].usable);

  m[2].weight = 0;  // the one left up is drained: 0 of 2 active are up
  a = answer::siteHealth(p, type::A, m);
  CHECK(a[0].active == 2);
  CHECK(a[0].up == 0);
  CHECK(a[0].why == "0 of 2 up");

  m[0].weight = m[1].weight = 0;
  a = answer::siteHealth(p, type::A, m);
  CHECK(a[0].why == "every member drained");

  m[3].load_zero = m[4].load_zero = true;  // west: both up, both asking for no clients
  a = answer::siteHealth(p, type::A, m);
  CHECK_FALSE(a[1].usable);
  CHECK(a[1].up == 2);
  CHECK(a[1].why == "every member up reports X-Rrdns-Weight 0");

  const auto aaaa = answer::siteHealth(p, type::AAAA, m);
  CHECK_FALSE(aaaa[0].usable);
  CHECK(aaaa[0].why == "no AAAA member");
  CHECK(aaaa[1].usable);
  CHECK(aaaa[1].members == 1);
}
