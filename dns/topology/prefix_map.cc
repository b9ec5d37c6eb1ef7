#include "dns/topology/prefix_map.hh"

#include <algorithm>
#include <array>
#include <cassert>
#include <map>
#include <unordered_map>
#include <utility>

namespace rrdns::topology {

namespace {

constexpr uint32_t kNoLabel = UINT32_MAX;

bool bitAt(const uint8_t* address, unsigned bit) { return address[bit / 8] >> (7 - bit % 8) & 1; }

// A node of the minimised binary trie route() builds: a leaf (one answer for the whole prefix)
// or two children.
struct Ref {
  bool leaf;
  uint32_t value;  // leaf: the answer; else an index into MinimalTrie::nodes
};

struct MinimalTrie {
  std::vector<std::pair<Ref, Ref>> nodes;
};

}  // namespace

RouteTable::RouteTable() {
  // One table for every default-constructed RouteTable: pool states hold several each.
  static const auto everything_answers_0 = std::make_shared<const Storage>(
      Storage{std::vector<uint32_t>(256, kLeaf | 0), {Hit{0, 0}}});
  adopt(everything_answers_0);
}

void RouteTable::adopt(std::shared_ptr<const Storage> storage) {
  d_storage = std::move(storage);
  d_nodes = d_storage->nodes.data();
  d_leaves = d_storage->leaves.data();
}

size_t RouteTable::bytes() const {
  return d_storage->nodes.capacity() * sizeof(uint32_t) +
         d_storage->leaves.capacity() * sizeof(Hit);
}

PrefixMap::PrefixMap(Family family, uint32_t default_label)
    : d_family(family), d_default(default_label), d_nodes(1) {}

namespace {

// The node `network` ends at, made with its path if missing.
template <typename Node>
uint32_t descend(std::vector<Node>& nodes, const Network& network) {
  uint32_t at = 0;
  for (unsigned bit = 0; bit < network.prefix; ++bit) {
    const unsigned b = bitAt(network.address, bit);
    if (nodes[at].child[b] == 0) {
      nodes[at].child[b] = static_cast<uint32_t>(nodes.size());
      nodes.emplace_back();
    }
    at = nodes[at].child[b];
  }
  return at;
}

}  // namespace

void PrefixMap::add(const Network& network, uint32_t label) {
  assert(network.family == d_family);
  d_nodes[descend(d_nodes, network)].label = label;
}

void PrefixMap::paint(const Network& network, uint32_t label) {
  assert(network.family == d_family);
  Node& node = d_nodes[descend(d_nodes, network)];
  node.label = label;
  // The nodes below stay in d_nodes unreachable: paint() is for the few networks an operator
  // lists, so the garbage is small and building stays one pass.
  node.child[0] = node.child[1] = 0;
}

PrefixMap::Match PrefixMap::match(const uint8_t* address) const {
  Match m{d_default, Network{d_family, 0, {}}, false};
  uint32_t at = 0;
  unsigned depth = 0;
  for (;;) {
    if (d_nodes[at].label != kNoLabel) {
      m.label = d_nodes[at].label;
      m.network.prefix = static_cast<uint8_t>(depth);
      m.matched = true;
    }
    if (depth == bits(d_family)) break;
    const uint32_t next = d_nodes[at].child[bitAt(address, depth)];
    if (next == 0) break;
    at = next;
    ++depth;
  }
  for (unsigned bit = 0; bit < m.network.prefix; ++bit)
    if (bitAt(address, bit)) m.network.address[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
  return m;
}

size_t PrefixMap::networks() const {
  size_t count = 0;
  std::vector<uint32_t> stack{0};
  while (!stack.empty()) {
    const Node& node = d_nodes[stack.back()];
    stack.pop_back();
    if (node.label != kNoLabel) ++count;
    for (uint32_t child : node.child)
      if (child != 0) stack.push_back(child);
  }
  return count;
}

namespace {

// Relabels the subtree at `at` with answers and merges every pair of sibling leaves that
// answer alike, bottom up: afterwards a node is a leaf exactly when its whole prefix gets one
// answer, so the depth of the leaf an address lands in is its widest uniform prefix.
template <typename Node>
Ref minimise(const std::vector<Node>& nodes, uint32_t at, uint32_t inherited,
             std::span<const uint32_t> answer_of_label, MinimalTrie& out) {
  const Node& node = nodes[at];
  const uint32_t answer = node.label == kNoLabel ? inherited : answer_of_label[node.label];
  if (node.child[0] == 0 && node.child[1] == 0) return Ref{true, answer};
  Ref child[2];
  for (unsigned b = 0; b < 2; ++b)
    child[b] = node.child[b] == 0 ? Ref{true, answer}
                                  : minimise(nodes, node.child[b], answer, answer_of_label, out);
  if (child[0].leaf && child[1].leaf && child[0].value == child[1].value) return child[0];
  out.nodes.emplace_back(child[0], child[1]);
  return Ref{false, static_cast<uint32_t>(out.nodes.size() - 1)};
}

// Writes the stride-8 tables for the minimal trie, bottom up, sharing identical tables (the
// same pattern of answers at the same depth, common in a MaxMind DB's networks).
class Compiler {
 public:
  Compiler(const MinimalTrie& trie, std::vector<uint32_t>& nodes,
           std::vector<RouteTable::Hit>& leaves, uint32_t leaf_flag)
      : d_trie(trie), d_nodes(nodes), d_leaves(leaves), d_leaf_flag(leaf_flag) {}

  // The root table, at offset 0 as find() expects it.
  void root(Ref ref) {
    d_nodes.assign(256, 0);
    Slots slots;
    fill(ref, 0, 0, slots.data());
    std::copy(slots.begin(), slots.end(), d_nodes.begin());
  }

 private:
  using Slots = std::array<uint32_t, 256>;

  // The table for the 8 bits below `depth`, whose prefix is the inner node `ref`: its offset.
  uint32_t table(Ref ref, unsigned depth) {
    Slots slots;
    fill(ref, depth, 0, slots.data());
    uint64_t hash = 14695981039346656037ull;  // FNV-1a over the slots
    for (uint32_t slot : slots) hash = (hash ^ slot) * 1099511628211ull;
    const auto [first, last] = d_shared.equal_range(hash);
    for (auto it = first; it != last; ++it)
      if (std::equal(slots.begin(), slots.end(), d_nodes.begin() + it->second)) return it->second;
    const auto offset = static_cast<uint32_t>(d_nodes.size());
    d_nodes.insert(d_nodes.end(), slots.begin(), slots.end());
    d_shared.emplace(hash, offset);
    return offset;
  }

  // Fills the slots under `ref`, which is `k` bits into the table below `depth`, from `slot`.
  void fill(Ref ref, unsigned depth, unsigned k, uint32_t* slot) {
    if (ref.leaf) {
      std::fill_n(slot, 256u >> k, d_leaf_flag | leaf(ref.value, static_cast<uint8_t>(depth + k)));
    } else if (k == 8) {
      *slot = table(ref, depth + 8);
    } else {
      const auto [zero, one] = d_trie.nodes[ref.value];
      fill(zero, depth, k + 1, slot);
      fill(one, depth, k + 1, slot + (128u >> k));
    }
  }

  uint32_t leaf(uint32_t answer, uint8_t scope) {
    const auto [it, added] =
        d_index.try_emplace({answer, scope}, static_cast<uint32_t>(d_leaves.size()));
    if (added) d_leaves.push_back(RouteTable::Hit{answer, scope});
    return it->second;
  }

  const MinimalTrie& d_trie;
  std::vector<uint32_t>& d_nodes;
  std::vector<RouteTable::Hit>& d_leaves;
  const uint32_t d_leaf_flag;
  std::map<std::pair<uint32_t, uint8_t>, uint32_t> d_index;
  std::unordered_multimap<uint64_t, uint32_t> d_shared;  // table contents' hash -> offset
};

}  // namespace

RouteTable PrefixMap::route(std::span<const uint32_t> answer_of_label) const {
  MinimalTrie trie;
  const uint32_t root_answer = answer_of_label[d_default];
  const Ref root = minimise(d_nodes, 0, root_answer, answer_of_label, trie);
  auto storage = std::make_shared<RouteTable::Storage>();
  Compiler(trie, storage->nodes, storage->leaves, RouteTable::kLeaf).root(root);
  storage->nodes.shrink_to_fit();
  storage->leaves.shrink_to_fit();
  RouteTable table;
  table.d_family = d_family;
  table.adopt(std::move(storage));
  return table;
}

}  // namespace rrdns::topology
