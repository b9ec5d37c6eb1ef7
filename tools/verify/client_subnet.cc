// client_subnet.cc: ECS (RFC 7871 6) for rrdns-verify: the option's bytes, and a minimal walk of a
// response to its OPT record (c-ares 1.18 parses answers but has no API for OPT options).
#include "tools/verify/client_subnet.hh"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace {

uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xff));
}

// Skips an owner name (labels, or a compression pointer that ends it); false past the end.
bool skipName(const uint8_t* m, size_t len, size_t& pos) {
  for (int labels = 0; labels < 128; ++labels) {
    if (pos >= len) return false;
    const uint8_t b = m[pos];
    if (b == 0) {
      ++pos;
      return true;
    }
    if ((b & 0xc0) == 0xc0) {
      pos += 2;
      return pos <= len;
    }
    if ((b & 0xc0) != 0) return false;  // the 0x40/0x80 label types are obsolete
    pos += 1 + b;
  }
  return false;
}

// The ECS option's data (after CODE and LENGTH) as RFC 7871 6 lays it out: nullopt if malformed.
std::optional<ClientSubnet> parseOptionData(const uint8_t* d, size_t n) {
  if (n < 4) return std::nullopt;
  ClientSubnet s;
  s.family = read16(d);
  s.source = d[2];
  s.scope = d[3];
  const size_t maxBits = s.family == 1 ? 32 : s.family == 2 ? 128 : 0;
  if (maxBits == 0 || s.source > maxBits || s.scope > maxBits) return std::nullopt;
  if (n - 4 != (s.source + 7u) / 8u) return std::nullopt;
  s.address.assign(d + 4, d + n);
  return s;
}

}  // namespace

std::optional<ClientSubnet> parseClientSubnet(const std::string& text, std::string& error) {
  const auto slash = text.find('/');
  const std::string host = text.substr(0, slash);
  uint8_t bytes[16];
  ClientSubnet s;
  size_t size = 0;
  if (inet_pton(AF_INET, host.c_str(), bytes) == 1) {
    s.family = 1;
    size = 4;
  } else if (inet_pton(AF_INET6, host.c_str(), bytes) == 1) {
    s.family = 2;
    size = 16;
  } else {
    error = "'" + text + "' is not an IPv4 or IPv6 network (want ADDRESS/PREFIX-LENGTH)";
    return std::nullopt;
  }
  unsigned prefix = static_cast<unsigned>(size * 8);
  if (slash != std::string::npos) {
    const std::string digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(digits) > size * 8) {
      error = "'" + text + "': the prefix length must be 0 to " + std::to_string(size * 8);
      return std::nullopt;
    }
    prefix = static_cast<unsigned>(std::stoul(digits));
  }
  s.source = static_cast<uint8_t>(prefix);
  // RFC 7871 6: ADDRESS is truncated to the prefix's bytes, the bits past it set to 0.
  s.address.assign(bytes, bytes + (prefix + 7) / 8);
  if (prefix % 8) s.address.back() &= static_cast<uint8_t>(0xff << (8 - prefix % 8));
  return s;
}

std::string formatClientSubnet(const ClientSubnet& subnet) {
  uint8_t bytes[16] = {};
  std::memcpy(bytes, subnet.address.data(), std::min<size_t>(subnet.address.size(), 16));
  char text[INET6_ADDRSTRLEN] = "?";
  inet_ntop(subnet.family == 1 ? AF_INET : AF_INET6, bytes, text, sizeof text);
  return std::string(text) + "/" + std::to_string(subnet.source);
}

std::vector<uint8_t> encodeClientSubnetOption(const ClientSubnet& subnet) {
  std::vector<uint8_t> out;
  put16(out, kClientSubnetCode);
  put16(out, static_cast<uint16_t>(4 + subnet.address.size()));
  put16(out, subnet.family);
  out.push_back(subnet.source);
  out.push_back(0);  // SCOPE PREFIX-LENGTH: 0 in queries (RFC 7871 6)
  out.insert(out.end(), subnet.address.begin(), subnet.address.end());
  return out;
}

ClientSubnetReply findClientSubnet(const uint8_t* m, size_t len) {
  ClientSubnetReply reply;
  if (len < 12) return reply;
  const unsigned qd = read16(m + 4);
  const unsigned records = read16(m + 6) + read16(m + 8);  // answer and authority
  const unsigned additional = read16(m + 10);
  size_t pos = 12;
  for (unsigned i = 0; i < qd; ++i) {
    if (!skipName(m, len, pos) || (pos += 4) > len) return reply;
  }
  for (unsigned i = 0; i < records + additional; ++i) {
    if (!skipName(m, len, pos) || pos + 10 > len) return reply;
    const uint16_t type = read16(m + pos);
    const size_t rdlen = read16(m + pos + 8);
    pos += 10;
    if (pos + rdlen > len) return reply;
    if (i >= records && type == 41) {
      reply.opt = true;
      // Options: CODE, LENGTH, DATA, to the end of the RDATA.
      for (size_t o = pos; o + 4 <= pos + rdlen;) {
        const uint16_t code = read16(m + o);
        const size_t olen = read16(m + o + 2);
        if (o + 4 + olen > pos + rdlen) {
          reply.malformed = code == kClientSubnetCode;
          break;
        }
        if (code == kClientSubnetCode) {
          reply.option = parseOptionData(m + o + 4, olen);
          reply.malformed = !reply.option;
          return reply;
        }
        o += 4 + olen;
      }
      return reply;
    }
    pos += rdlen;
  }
  return reply;
}

std::optional<int> ScopeTally::add(const ClientSubnet& sent, const ClientSubnetReply& reply) {
  if (!reply.option && !reply.malformed) {
    ++without;
    return std::nullopt;
  }
  if (!reply.option || !reply.option->sameSubnet(sent)) {
    ++mismatched;
    return std::nullopt;
  }
  ++scopes[reply.option->scope];
  return reply.option->scope;
}

std::string ScopeTally::summary() const {
  std::string out;
  for (const auto& [scope, n] : scopes) {
    const bool first = out.empty();
    out += (first ? "scope /" : ", /") + std::to_string(scope) + " in " + std::to_string(n);
    if (first) out += n == 1 ? " response" : " responses";
  }
  if (out.empty()) out = "no response echoed the subnet";
  if (without) out += "; " + std::to_string(without) + " without ECS";
  if (mismatched) out += "; " + std::to_string(mismatched) + " with a malformed or different subnet";
  return out;
}
