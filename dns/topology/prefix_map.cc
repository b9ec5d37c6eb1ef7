#include "dns/topology/prefix_map.hh"

#include <cassert>
#include <map>
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

RouteTable::RouteTable() : d_nodes(256, kLeaf | 0), d_leaves{Hit{0, 0}} {}

size_t RouteTable::bytes() const {
  return d_nodes.capacity() * sizeof(uint32_t) + d_leaves.capacity() * sizeof(Hit);
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

// Writes the stride-8 tables for the minimal trie.
class Compiler {
 public:
  Compiler(const MinimalTrie& trie, std::vector<uint32_t>& nodes,
           std::vector<RouteTable::Hit>& leaves, uint32_t leaf_flag)
      : d_trie(trie), d_nodes(nodes), d_leaves(leaves), d_leaf_flag(leaf_flag) {}

  // A table for the 8 bits below `depth`, whose prefix is `ref` (not a leaf unless it is the
  // root); returns its offset.
  uint32_t table(Ref ref, unsigned depth) {
    const auto offset = static_cast<uint32_t>(d_nodes.size());
    d_nodes.resize(d_nodes.size() + 256);
    fill(ref, depth, 0, offset);
    return offset;
  }

 private:
  // Fills the slots under `ref`, which is `k` bits into the table at `offset` and starts at
  // slot `first`.
  void fill(Ref ref, unsigned depth, unsigned k, uint32_t first) {
    if (ref.leaf) {
      const uint32_t slot = d_leaf_flag | leaf(ref.value, static_cast<uint8_t>(depth + k));
      for (uint32_t i = 0; i < (256u >> k); ++i) d_nodes[first + i] = slot;
    } else if (k == 8) {
      const uint32_t child = table(ref, depth + 8);
      d_nodes[first] = child;
    } else {
      const auto [zero, one] = d_trie.nodes[ref.value];
      fill(zero, depth, k + 1, first);
      fill(one, depth, k + 1, first + (128u >> k));
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
};

}  // namespace

RouteTable PrefixMap::route(std::span<const uint32_t> answer_of_label) const {
  MinimalTrie trie;
  const uint32_t root_answer = answer_of_label[d_default];
  const Ref root = minimise(d_nodes, 0, root_answer, answer_of_label, trie);
  RouteTable table;
  table.d_family = d_family;
  table.d_nodes.clear();
  table.d_leaves.clear();
  Compiler(trie, table.d_nodes, table.d_leaves, RouteTable::kLeaf).table(root, 0);
  table.d_nodes.shrink_to_fit();
  table.d_leaves.shrink_to_fit();
  return table;
}

}  // namespace rrdns::topology
