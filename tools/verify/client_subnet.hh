// client_subnet.hh: the EDNS Client Subnet option (RFC 7871) on rrdns-verify's side: parse the
// --subnet CIDR, write the option as a query carries it, find it in a response.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

// One ECS option's fields. In a query SCOPE is 0; address holds the ADDRESS field's bytes,
// ceil(source / 8) of them, the bits past SOURCE PREFIX-LENGTH zero (RFC 7871 6).
struct ClientSubnet {
  uint16_t family = 0;  // 1 IPv4, 2 IPv6 (IANA address family numbers)
  uint8_t source = 0;   // SOURCE PREFIX-LENGTH
  uint8_t scope = 0;    // SCOPE PREFIX-LENGTH
  std::vector<uint8_t> address;

  // What a response must echo (RFC 7871 7.3): FAMILY, SOURCE PREFIX-LENGTH and ADDRESS.
  bool sameSubnet(const ClientSubnet& other) const {
    return family == other.family && source == other.source && address == other.address;
  }
};

constexpr uint16_t kClientSubnetCode = 8;

// "10.1.0.0/24", "2001:db8::/48", or an address alone (the full length: /32, /128). Host bits
// past the prefix are cleared, as the option carries only the prefix. nullopt and `error` set
// when the text is not such a network.
std::optional<ClientSubnet> parseClientSubnet(const std::string& text, std::string& error);

// "10.1.0.0/24": the subnet as it goes on the wire, in CIDR form.
std::string formatClientSubnet(const ClientSubnet& subnet);

// The option as it goes into an OPT record's RDATA: CODE 8, LENGTH, FAMILY, SOURCE, SCOPE 0,
// ADDRESS.
std::vector<uint8_t> encodeClientSubnetOption(const ClientSubnet& subnet);

// What a response's OPT record says about ECS.
struct ClientSubnetReply {
  bool opt = false;                   // the response has an OPT record
  std::optional<ClientSubnet> option; // its first ECS option, when it has one that parses
  bool malformed = false;             // an ECS option was there but did not parse
};

// Walks a DNS message (header, questions, answer and authority records, additional records) to
// its OPT record and reads its ECS option. A message cut short gives an empty reply.
ClientSubnetReply findClientSubnet(const uint8_t* message, size_t length);

// What a run's responses said about the subnet its queries carried: the scopes seen, and the
// responses that broke RFC 7871 7.3 (no ECS, or one not echoing FAMILY, SOURCE and ADDRESS).
struct ScopeTally {
  std::map<int, long> scopes;  // SCOPE PREFIX-LENGTH -> responses
  long without = 0;            // responses without an ECS option
  long mismatched = 0;         // an ECS option that is malformed or names another subnet

  // The scope of a good echo, else nullopt (and counted as without or mismatched).
  std::optional<int> add(const ClientSubnet& sent, const ClientSubnetReply& reply);
  bool ok() const { return without == 0 && mismatched == 0; }
  // "scope /16 in 998 responses, /24 in 2; 1 without ECS; 0 with another subnet"
  std::string summary() const;
};
