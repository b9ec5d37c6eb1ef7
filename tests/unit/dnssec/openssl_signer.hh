// openssl_signer.hh -- an RRsetSigner of the tests' own: one ECDSA P-256 key (a CSK, algorithm
// 13) made with OpenSSL and RFC 4034's signing rules written out here, independently of
// dns/dnssec's Signer, so that what the zone signer builds can be checked by ldns-verify-zone
// with signatures nobody in rrdns made.
#pragma once

#include <doctest/doctest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <algorithm>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "dns/base/bytes.hh"
#include "dns/wire/name.hh"
#include "dns/zone/dnssec.hh"

namespace signertest {

class OpensslSigner final : public rrdns::zone::RRsetSigner {
 public:
  explicit OpensslSigner(std::string apex) : d_apex(std::move(apex)) {
    d_key = EVP_EC_gen("P-256");
    REQUIRE(d_key);
    uint8_t point[65];
    size_t size = 0;
    REQUIRE(EVP_PKEY_get_octet_string_param(d_key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                            &size) == 1);
    REQUIRE(size == 65);                                          // 0x04, X, Y
    d_dnskey = std::string{char(1), char(1), char(3), char(13)};  // flags 257, protocol, alg
    d_dnskey.append(reinterpret_cast<const char*>(point) + 1, 64);
    uint32_t sum = 0;  // RFC 4034 appendix B
    for (size_t i = 0; i < d_dnskey.size(); ++i)
      sum += (i & 1) ? static_cast<uint8_t>(d_dnskey[i]) : static_cast<uint8_t>(d_dnskey[i]) << 8;
    d_tag = static_cast<uint16_t>(sum + (sum >> 16));
  }
  ~OpensslSigner() override { EVP_PKEY_free(d_key); }
  OpensslSigner(const OpensslSigner&) = delete;
  OpensslSigner& operator=(const OpensslSigner&) = delete;

  const std::string& dnskey() const { return d_dnskey; }

  std::vector<std::string> sign(std::string_view owner, uint16_t rtype, uint32_t ttl,
                                const std::vector<std::string_view>& rdata) const override {
    std::vector<std::string_view> sorted(rdata);
    std::sort(sorted.begin(), sorted.end());  // as unsigned octets (RFC 4034 6.3)
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    const bool wildcard = owner.size() > 2 && owner[0] == 1 && owner[1] == '*';
    const auto now = static_cast<uint32_t>(std::time(nullptr));
    std::string rrsig(18, '\0');
    auto* p = reinterpret_cast<uint8_t*>(rrsig.data());
    rrdns::store16(p, rtype);
    p[2] = 13;
    p[3] = static_cast<uint8_t>(rrdns::wire::labelCount(owner) - (wildcard ? 1 : 0));
    rrdns::store32(p + 4, ttl);
    rrdns::store32(p + 8, now + 14 * 86400);
    rrdns::store32(p + 12, now - 3600);
    rrdns::store16(p + 16, d_tag);
    rrsig += d_apex;
    std::string data = rrsig;  // RFC 4034 3.1.8.1: the RRSIG RDATA without the signature, RRs
    for (std::string_view r : sorted) {
      uint8_t fixed[10];
      rrdns::store16(fixed, rtype);
      rrdns::store16(fixed + 2, 1);
      rrdns::store32(fixed + 4, ttl);
      rrdns::store16(fixed + 8, static_cast<uint16_t>(r.size()));
      data += owner;
      data.append(reinterpret_cast<const char*>(fixed), sizeof fixed);
      data += r;
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, d_key) == 1);
    uint8_t der[128];
    size_t der_size = sizeof der;
    REQUIRE(EVP_DigestSign(ctx, der, &der_size, reinterpret_cast<const uint8_t*>(data.data()),
                           data.size()) == 1);
    EVP_MD_CTX_free(ctx);
    const uint8_t* in = der;
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der_size));
    REQUIRE(sig);
    uint8_t rs[64];  // RFC 6605 4: r and s, 32 bytes each
    REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) == 32);
    REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) == 32);
    ECDSA_SIG_free(sig);
    rrsig.append(reinterpret_cast<const char*>(rs), sizeof rs);
    return {rrsig};
  }

 private:
  std::string d_apex;
  EVP_PKEY* d_key = nullptr;
  std::string d_dnskey;
  uint16_t d_tag = 0;
};

}  // namespace signertest
