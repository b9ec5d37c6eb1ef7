// key.hh -- one DNSSEC key pair (libdnssec): generated into, or loaded from, a zone's key
// directory, where its private half is a PEM file only the daemon's user can read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dns/base/result.hh"
#include "dns/zone/dnssec.hh"

namespace rrdns::dnssec {

enum class KeyRole : uint8_t {
  Ksk,  // signs the DNSKEY RRset; its DS goes to the parent (flags 257)
  Zsk,  // signs everything else (flags 256)
  Csk,  // both (single-type-signing; flags 257)
};
std::string_view roleName(KeyRole role);  // "ksk", "zsk", "csk"

class Key {
 public:
  // A new key of `algorithm` for the zone `apex` (lower-cased wire), its private key written to
  // `directory`/ID.pem (created 0600; the directory must exist, 0700).
  static Result<Key> generate(const std::string& directory, std::string_view apex,
                              zone::DnssecAlgorithm algorithm, KeyRole role);
  // Key `id` of `directory`, as generate() wrote it.
  static Result<Key> load(const std::string& directory, std::string_view id, std::string_view apex,
                          zone::DnssecAlgorithm algorithm, KeyRole role);

  const std::string& id() const;  // libdnssec's key id: the PEM file's name without ".pem"
  uint16_t tag() const;           // RFC 4034 appendix B
  zone::DnssecAlgorithm algorithm() const;
  KeyRole role() const;
  uint16_t flags() const;          // 256 or 257
  std::string dnskeyRdata() const;  // the DNSKEY RDATA
  std::string dsRdata() const;      // the DS RDATA, digest SHA-256 (type 2)
  // The signature over `data` in DNSSEC wire form (RFC 6605, RFC 8080: 64 bytes).
  std::string sign(std::string_view data) const;
  bool verify(std::string_view data, std::string_view signature) const;

 private:
  struct State;
  std::shared_ptr<const State> d_state;  // copies share the libdnssec key
};

}  // namespace rrdns::dnssec
