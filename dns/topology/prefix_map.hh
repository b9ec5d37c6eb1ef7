// prefix_map.hh -- longest-prefix maps from client networks to labels, and the tables the fast
// path routes by, compiled from them per health state.
//
// A PrefixMap (built at load time, one per family) says which label (a topology map's site-list
// id) each address gets. route() relabels it with what each label answers under the current
// health state and compiles a RouteTable: for every address, that answer and the scope, the
// widest prefix around the address in which every address gets the same answer (RFC 7871 7.2.1:
// never wider than the clients that really share the answer, never narrower than it must be).
// Everything here but RouteTable::find() runs off the query path.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dns/topology/network.hh"

namespace rrdns::topology {

// One family's routing under one health state: immutable, read by any thread.
class RouteTable {
 public:
  struct Hit {
    uint32_t answer;  // what route() was told the address's label answers
    uint8_t scope;    // prefix length of the widest network around the address with that answer
  };
  // Every address answers 0 with scope 0 (a table route() has not made yet).
  RouteTable();

  // `address`: 4 (IPv4) or 16 (IPv6) bytes in network order, as the table's family has (only
  // those are read). No allocation, no lock: the fast path calls it per query. One table load
  // per address byte the route depends on (at most 4 for IPv4, 16 for IPv6), then the leaf.
  Hit find(const uint8_t* address) const {
    uint32_t slot = d_nodes[address[0]];
    for (unsigned byte = 1; !(slot & kLeaf); ++byte) slot = d_nodes[slot + address[byte]];
    return d_leaves[slot & ~kLeaf];
  }

  // Bytes held (status, metrics); copies share them.
  size_t bytes() const;

  Family family() const { return d_family; }

 private:
  friend class PrefixMap;
  // A stride-8 multibit trie: tables of 256 slots, one per value of the next address byte, the
  // root at 0. A slot holds the offset of the next byte's table, or kLeaf | an index into
  // d_leaves (the answer and the exact scope of every address under that slot).
  // Shared by copies: a health change that moves no client keeps the previous states' tables,
  // which for a MaxMind DB map are megabytes.
  static constexpr uint32_t kLeaf = 0x80000000u;
  struct Storage {
    std::vector<uint32_t> nodes;
    std::vector<Hit> leaves;
  };
  void adopt(std::shared_ptr<const Storage> storage);
  std::shared_ptr<const Storage> d_storage;
  const uint32_t* d_nodes = nullptr;
  const Hit* d_leaves = nullptr;
  Family d_family = Family::V4;
};

class PrefixMap {
 public:
  // Every address no network covers gets `default_label`.
  PrefixMap(Family family, uint32_t default_label);

  // Longest prefix wins. Adding a network already present replaces its label.
  void add(const Network& network, uint32_t label);
  // Gives every address under `network` the label, dropping whatever add() or paint() put below
  // it before: networks an operator lists then override a GeoIP database, whatever its prefix
  // lengths (as gdnsd's nets do). Later add()/paint() calls below it apply again.
  void paint(const Network& network, uint32_t label);

  struct Match {
    uint32_t label;
    Network network;  // the network that decided (prefix 0 with `matched` false: the default)
    bool matched;
  };
  // The label `address` (4 or 16 bytes) gets, and which network gave it (explain).
  Match match(const uint8_t* address) const;

  // Compiles the table for this health state: label L answers answer_of_label[L] (every label
  // used must have one). Labels that answer alike merge, so their scope widens.
  RouteTable route(std::span<const uint32_t> answer_of_label) const;

  Family family() const { return d_family; }
  size_t networks() const;  // added or painted, still in effect

 private:
  Family d_family;
  uint32_t d_default;
  // Implementation's choice (a binary trie).
  struct Node {
    uint32_t child[2] = {0, 0};  // 0: none
    uint32_t label = UINT32_MAX;  // UINT32_MAX: no network ends here
  };
  std::vector<Node> d_nodes;
};

}  // namespace rrdns::topology
