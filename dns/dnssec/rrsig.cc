// rrsig.cc -- RRSIG RDATA (RFC 4034 3.1) and the data its signature covers (3.1.8.1).
#include "dns/dnssec/rrsig.hh"

#include <algorithm>

#include "dns/wire/name.hh"

namespace rrdns::dnssec {

namespace {

constexpr uint16_t kClassIn = 1;
constexpr size_t kFixedRdata = 18;  // type covered .. key tag (RFC 4034 3.1)

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}
uint16_t get16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) << 8 | static_cast<uint8_t>(s[at + 1]));
}
uint32_t get32(std::string_view s, size_t at) {
  return static_cast<uint32_t>(get16(s, at)) << 16 | get16(s, at + 2);
}

std::string lowered(std::string_view name) {
  std::string out(name);
  wire::lowerName(reinterpret_cast<uint8_t*>(out.data()), out.size());
  return out;
}

bool isWildcard(std::string_view owner) {
  return owner.size() >= 2 && owner[0] == 1 && owner[1] == '*';
}

// RFC 4034 6.3: the RRset's RDATA as left-justified octet strings, ascending, each once (6.2
// leaves no duplicates: RFC 2181 5).
void canonicalize(std::vector<std::string_view>& rdata) {
  std::sort(rdata.begin(), rdata.end());  // string_view compares as unsigned bytes
  rdata.erase(std::unique(rdata.begin(), rdata.end()), rdata.end());
}

// RFC 4034 3.1.8.1: signature = sign(RRSIG_RDATA | RR(1) | RR(2)...), RRSIG_RDATA without the
// signature, each RR as owner | type | class | original TTL | RDATA length | RDATA.
std::string signedData(std::string_view rrsig_fields, std::string_view owner, uint16_t rtype,
                       uint32_t ttl, const std::vector<std::string_view>& rdata) {
  std::string data(rrsig_fields);
  std::string rr_head(owner);
  put16(rr_head, rtype);
  put16(rr_head, kClassIn);
  put32(rr_head, ttl);
  size_t total = data.size();
  for (std::string_view rd : rdata) total += rr_head.size() + 2 + rd.size();
  data.reserve(total);
  for (std::string_view rd : rdata) {
    data += rr_head;
    put16(data, static_cast<uint16_t>(rd.size()));
    data += rd;
  }
  return data;
}

}  // namespace

std::string makeRrsig(const Key& key, std::string_view apex, std::string_view owner,
                      uint16_t rtype, uint32_t ttl, std::vector<std::string_view> rdata,
                      Validity validity) {
  canonicalize(rdata);
  std::string name = lowered(owner);
  size_t labels = wire::labelCount(name);
  if (isWildcard(name)) --labels;  // RFC 4034 3.1.3: the '*' label is not counted
  std::string rrsig;
  put16(rrsig, rtype);
  rrsig.push_back(static_cast<char>(key.algorithm()));
  rrsig.push_back(static_cast<char>(labels));
  put32(rrsig, ttl);
  put32(rrsig, validity.expiration);
  put32(rrsig, validity.inception);
  put16(rrsig, key.tag());
  rrsig += lowered(apex);  // RFC 4034 3.1.7: the signer's name, uncompressed, lower case
  std::string signature = key.sign(signedData(rrsig, name, rtype, ttl, rdata));
  if (signature.empty()) return {};  // the library failed (out of memory): nothing to serve
  rrsig += signature;
  return rrsig;
}

bool verifyRrsig(const Key& key, std::string_view rrsig, std::string_view owner, uint16_t rtype,
                 std::vector<std::string_view> rdata) {
  if (rrsig.size() < kFixedRdata + 1) return false;
  if (get16(rrsig, 0) != rtype) return false;
  if (static_cast<uint8_t>(rrsig[2]) != static_cast<uint8_t>(key.algorithm())) return false;
  if (get16(rrsig, 16) != key.tag()) return false;
  // The signer's name: uncompressed labels up to the root label.
  size_t pos = kFixedRdata;
  while (pos < rrsig.size() && rrsig[pos] != 0) pos += 1 + static_cast<uint8_t>(rrsig[pos]);
  if (pos >= rrsig.size()) return false;
  ++pos;
  std::string_view fields = rrsig.substr(0, pos);
  std::string_view signature = rrsig.substr(pos);
  // RFC 4035 5.3.2: with fewer labels than the owner, the signature is over the wildcard that
  // was expanded: "*." and the owner's rightmost `labels` labels.
  std::string name = lowered(owner);
  size_t labels = static_cast<uint8_t>(rrsig[3]);
  size_t owner_labels = wire::labelCount(name);
  if (isWildcard(name)) --owner_labels;
  if (labels > owner_labels) return false;
  if (labels < owner_labels) {
    std::string_view suffix = name;
    for (size_t i = wire::labelCount(name); i > labels; --i) suffix = wire::parentOf(suffix);
    name = std::string("\1*", 2) + std::string(suffix);
  }
  canonicalize(rdata);
  return key.verify(signedData(fields, name, rtype, get32(rrsig, 4), rdata), signature);
}

}  // namespace rrdns::dnssec
