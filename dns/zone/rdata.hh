// rdata.hh -- presentation text to wire-format RDATA, for the zone loaders.
//
// Every encoder appends uncompressed wire RDATA to `out` with domain names lower-cased, the form
// the zone model stores (zone.hh). Encoders that can fail return false and say why in `error`,
// worded for an operator ("'10.0.0.300' is not an IPv4 address"); the caller adds where.
// Relative names are completed with `origin` (wire form), as in wire::nameFromText.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "dns/wire/rrtype.hh"

namespace rrdns::zone {

bool encodeA(std::string_view address, std::string& out, std::string& error);
bool encodeAAAA(std::string_view address, std::string& out, std::string& error);

// NS, CNAME and PTR: the RDATA is just a name.
bool encodeName(std::string_view name, std::string_view origin, std::string& out,
                std::string& error);

bool encodeMX(uint16_t preference, std::string_view exchange, std::string_view origin,
              std::string& out, std::string& error);

bool encodeSRV(uint16_t priority, uint16_t weight, uint16_t port, std::string_view target,
               std::string_view origin, std::string& out, std::string& error);

// One TXT record holding `text` verbatim. Text longer than 255 bytes becomes several
// character-strings of 255 bytes (RFC 1035 3.3.14); "" is one empty character-string.
bool encodeTXT(std::string_view text, std::string& out, std::string& error);

// CAA (RFC 8659): the tag must be 1-255 letters and digits.
bool encodeCAA(uint8_t flags, std::string_view tag, std::string_view value, std::string& out,
               std::string& error);

struct SoaFields {
  std::string_view primary;  // MNAME
  std::string_view contact;  // RNAME, as a name or as an e-mail address "hostmaster@example.com"
  uint32_t serial = 0;
  uint32_t refresh = 3600;
  uint32_t retry = 900;
  uint32_t expire = 604800;
  uint32_t minimum = 300;
};
bool encodeSOA(const SoaFields& soa, std::string_view origin, std::string& out, std::string& error);

// The one-line forms of the TOML zone format, by type: "192.0.2.1", "mail", "10 mail",
// "0 5 5060 sip", `0 issue "letsencrypt.org"` (value quoted or not); TXT is the text itself.
// Fails for types without a text form here (SOA has its own table) and for unknown types.
bool encodeText(uint16_t rtype, std::string_view text, std::string_view origin, std::string& out,
                std::string& error);

// The fields of `rrtype` (wire/rrtype.hh) given one value each, in order, as text: integers in
// decimal, names relative to `origin`, strings verbatim. In a record of several fields, errors
// name the field ("exchange: empty label").
bool encodeFields(const wire::RRType& rrtype, std::span<const std::string_view> values,
                  std::string_view origin, std::string& out, std::string& error);

// The type's example one-line form as a quoted string: "10 mail", '0 issue "letsencrypt.org"'.
std::string quotedExample(const wire::RRType& rrtype);

}  // namespace rrdns::zone

namespace rrdns::zone {

// Presentation text of wire RDATA as a zone file would write it ("10 mail.example.com.",
// "\"v=spf1 -all\""); unknown types in RFC 3597 form ("\# 2 abcd").
std::string rdataToText(uint16_t rtype, std::string_view rdata);

}  // namespace rrdns::zone
