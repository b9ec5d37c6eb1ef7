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

bool siteUsable(uint32_t up, uint32_t active, double min_healthy) {
  // up/active >= min_healthy, without dividing (active may be 0) and with room for the rounding
  // of a fraction like 0.3 written in a zone file.
  return up > 0 && static_cast<double>(up) + 1e-9 >= min_healthy * static_cast<double>(active);
}

std::vector<SiteHealth> siteHealth(const zone::Pool& pool, uint16_t rtype,
                                   const std::vector<bool>& up,
                                   const std::vector<uint32_t>& weight) {
  std::vector<SiteHealth> sites(pool.sites.size());
  for (size_t i = 0; i < pool.members.size(); ++i) {
    const zone::PoolMember& m = pool.members[i];
    if (m.rtype != rtype || m.site >= sites.size()) continue;
    SiteHealth& s = sites[m.site];
    ++s.members;
    if (i < weight.size() && weight[i] == 0) continue;
    ++s.active;
    if (i < up.size() && up[i]) ++s.up;
  }
  for (size_t k = 0; k < sites.size(); ++k) {
    SiteHealth& s = sites[k];
    const double min_healthy = pool.sites[k].min_healthy;
    s.usable = siteUsable(s.up, s.active, min_healthy);
    if (s.usable) continue;
    if (s.members == 0)
      s.why = std::string("no ") + (rtype == wire::type::A ? "A" : "AAAA") + " member";
    else if (s.active == 0)
      s.why = "every member drained";
    else
      s.why = std::to_string(s.up) + " of " + std::to_string(s.active) + " up" +
              (s.up > 0 ? ", min-healthy " + fraction(min_healthy) : std::string());
  }
  return sites;
}

}  // namespace rrdns::answer
