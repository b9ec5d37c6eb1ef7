// The property issue 21 asks for: the scope RouteTable::find() gives is exactly the widest
// prefix around the address in which every address gets the same answer (never too wide, never
// too narrow), checked by brute force against random maps. The oracle knows nothing of the
// trie: it scans the list of add()/paint() calls for every address it needs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "dns/topology/prefix_map.hh"

using namespace rrdns::topology;

namespace {

__extension__ typedef unsigned __int128 u128;  // IPv6 addresses as integers

struct Op {
  Network network;
  uint32_t label;
  bool paint;
  u128 first;  // the network's addresses as integers
  u128 last;
};

u128 spaceMask(Family f) { return f == Family::V4 ? u128(0xffffffffu) : ~u128(0); }
u128 hostMask(Family f, unsigned prefix) {  // the bits past `prefix`
  const unsigned host = bits(f) - prefix;
  return host == 128 ? ~u128(0) : (u128(1) << host) - 1;
}

void toBytes(Family f, u128 v, uint8_t* out) {
  for (int i = bits(f) / 8 - 1; i >= 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v);
}

struct Model {
  Family family;
  uint32_t default_label;
  std::vector<Op> ops;            // in the order applied
  std::vector<uint32_t> answers;  // answer_of_label
  std::vector<u128> boundaries;   // where the covering set of networks can change

  // The index of the op that decides `a` (-1: the default), from the semantics alone: the last
  // paint covering `a` erased every covering op before it at its prefix or longer; of what
  // remains, the longest prefix wins, the later one on a tie (add() replaces).
  int decider(u128 a) const {
    size_t from = 0;
    for (size_t i = ops.size(); i-- > 0;)
      if (ops[i].paint && ops[i].first <= a && a <= ops[i].last) {
        from = i;
        break;
      }
    int best = -1;
    for (size_t i = from; i < ops.size(); ++i)
      if (ops[i].first <= a && a <= ops[i].last &&
          (best < 0 || ops[i].network.prefix >= ops[best].network.prefix))
        best = static_cast<int>(i);
    // A covering op before `from` with a shorter prefix than the paint still loses to it.
    return best;
  }
  uint32_t label(u128 a) const {
    const int d = decider(a);
    return d < 0 ? default_label : ops[d].label;
  }
  uint32_t answer(u128 a) const { return answers[label(a)]; }

  // Whether every address of the /prefix around `a` gets one answer.
  bool uniform(u128 a, unsigned prefix) const {
    const u128 lo = a & ~hostMask(family, prefix) & spaceMask(family);
    const u128 hi = lo | hostMask(family, prefix);
    const uint32_t first = answer(lo);
    for (auto it = std::upper_bound(boundaries.begin(), boundaries.end(), lo);
         it != boundaries.end() && *it <= hi; ++it)
      if (answer(*it) != first) return false;
    return true;
  }
};

struct Figures {
  size_t maps = 0, addresses = 0, too_wide = 0, too_narrow = 0, wrong_answer = 0, wrong_label = 0;
  size_t scope_sum = 0;
};

void checkFamily(Family family, size_t maps, uint64_t seed, Figures& figures) {
  std::mt19937_64 rng(seed);
  auto below = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  auto random128 = [&] { return (u128(rng()) << 64 | rng()) & spaceMask(family); };
  const unsigned width = bits(family);

  for (size_t m = 0; m < maps; ++m) {
    Model model{family, 0, {}, {}, {}};
    const uint32_t labels = 1 + static_cast<uint32_t>(below(6));
    const uint32_t answers = 1 + static_cast<uint32_t>(below(4));  // few: labels merge often
    model.default_label = static_cast<uint32_t>(below(labels));
    for (uint32_t l = 0; l < labels; ++l)
      model.answers.push_back(static_cast<uint32_t>(below(answers)));

    // Networks cluster around a few bases, so they nest, neighbour and overlap.
    u128 bases[3];
    for (u128& b : bases) b = random128();
    const size_t count = below(41);
    PrefixMap map(family, model.default_label);
    for (size_t i = 0; i < count; ++i) {
      const unsigned prefix = static_cast<unsigned>(below(width + 1));
      const unsigned vary = static_cast<unsigned>(std::min<uint64_t>(prefix, below(10)));
      u128 a = bases[below(3)] ^ (random128() & hostMask(family, prefix - vary));
      a &= ~hostMask(family, prefix) & spaceMask(family);
      Op op{Network{family, static_cast<uint8_t>(prefix), {}}, static_cast<uint32_t>(below(labels)),
            below(4) == 0, a, a | hostMask(family, prefix)};
      toBytes(family, a, op.network.address);
      if (op.paint)
        map.paint(op.network, op.label);
      else
        map.add(op.network, op.label);
      model.ops.push_back(op);
      model.boundaries.push_back(op.first);
      if (op.last != spaceMask(family)) model.boundaries.push_back(op.last + 1);
    }
    std::sort(model.boundaries.begin(), model.boundaries.end());
    const RouteTable table = map.route(model.answers);
    REQUIRE(table.family() == family);

    std::vector<u128> samples;
    for (const Op& op : model.ops) {
      samples.insert(
          samples.end(),
          {op.first, op.last, (op.first - 1) & spaceMask(family), (op.last + 1) & spaceMask(family),
           op.first | (random128() & hostMask(family, op.network.prefix))});
    }
    for (int i = 0; i < 20; ++i) samples.push_back(random128());
    for (int i = 0; i < 20; ++i)
      samples.push_back(
          bases[below(3)] ^
          (random128() & hostMask(family, width - static_cast<unsigned>(below(width / 2)))));

    for (u128 a : samples) {
      uint8_t bytes[16] = {};
      toBytes(family, a, bytes);
      const RouteTable::Hit hit = table.find(bytes);
      // Brute force over every prefix around the address: the widest uniform one.
      unsigned widest = 0;
      while (!model.uniform(a, widest)) ++widest;
      ++figures.addresses;
      figures.scope_sum += hit.scope;
      if (hit.scope < widest) ++figures.too_wide;
      if (hit.scope > widest) ++figures.too_narrow;
      if (hit.answer != model.answer(a)) ++figures.wrong_answer;
      // match(): the label and the network that decided it.
      const PrefixMap::Match got = map.match(bytes);
      const int d = model.decider(a);
      const bool right =
          d < 0 ? (!got.matched && got.label == model.default_label && got.network.prefix == 0)
                : (got.matched && got.label == model.ops[d].label &&
                   got.network == model.ops[d].network);
      if (!right) ++figures.wrong_label;
    }
    ++figures.maps;
  }
}

}  // namespace

TEST_CASE("route scopes are the widest uniform prefix: IPv4 and IPv6 against brute force") {
  for (Family family : {Family::V4, Family::V6}) {
    Figures f;
    checkFamily(family, 400, family == Family::V4 ? 21 : 2121, f);
    MESSAGE((family == Family::V4 ? "IPv4" : "IPv6")
            << ": " << f.maps << " maps, " << f.addresses << " addresses, mean scope "
            << (f.addresses ? double(f.scope_sum) / f.addresses : 0) << ", too wide " << f.too_wide
            << ", too narrow " << f.too_narrow << ", wrong answer " << f.wrong_answer
            << ", wrong match " << f.wrong_label);
    CHECK(f.addresses > 10000);
    CHECK(f.too_wide == 0);
    CHECK(f.too_narrow == 0);
    CHECK(f.wrong_answer == 0);
    CHECK(f.wrong_label == 0);
  }
}
