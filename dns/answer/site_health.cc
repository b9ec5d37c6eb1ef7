// site_health.cc -- the site-usable rule, counted from members' health and weights.
#include "dns/answer/site_health.hh"

#include "dns/wire/constants.hh"

namespace rrdns::answer {

namespace {

std::string fraction(double value) {
  std::string text = std::to_string(value);
  while (text.size() > 1 && text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

bool siteUsable(bool answering, uint32_t up, uint32_t active, double min_healthy) {
  // computePoolStates() decides by this too, so explain cannot call a site usable that the
  // answers pass over.
  return answering && static_cast<double>(up) >= min_healthy * active;
}

std::vector<SiteHealth> siteHealth(const zone::Pool& pool, uint16_t rtype,
                                   const std::vector<MemberStatus>& members) {
  std::vector<SiteHealth> sites(pool.sites.size());
  std::vector<bool> answering(pool.sites.size(), false);
  for (size_t i = 0; i < pool.members.size() && i < members.size(); ++i) {
    const zone::PoolMember& m = pool.members[i];
    if (m.rtype != rtype || m.site >= sites.size()) continue;
    SiteHealth& s = sites[m.site];
    ++s.members;
    if (members[i].weight == 0) continue;
    ++s.active;
    if (!members[i].up) continue;
    ++s.up;
    if (!members[i].load_zero) answering[m.site] = true;
  }
  for (size_t k = 0; k < sites.size(); ++k) {
    SiteHealth& s = sites[k];
    const double min_healthy = pool.sites[k].min_healthy;
    s.usable = siteUsable(answering[k], s.up, s.active, min_healthy);
    if (s.usable) continue;
    if (s.members == 0)
      s.why = std::string("no ") + (rtype == wire::type::A ? "A" : "AAAA") + " member";
    else if (s.active == 0)
      s.why = "every member drained";
    else if (s.up > 0 && !answering[k])
      s.why = "every member up reports X-Rrdns-Weight 0";
    else
      s.why = std::to_string(s.up) + " of " + std::to_string(s.active) + " up" +
              (s.up > 0 ? ", min-healthy " + fraction(min_healthy) : std::string());
  }
  return sites;
}

}  // namespace rrdns::answer
