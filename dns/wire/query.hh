// query.hh -- parsing an incoming query in place (RFC 1035 4.1, RFC 6891 EDNS0).
//
// No heap and no exceptions: parseQuery() fills a caller-owned Query and says how to respond. The
// question and the OPT record are read by question.hh, as the fast path reads them.
#pragma once

#include <cstdint>
#include <span>

#include "dns/wire/name.hh"
#include "dns/wire/question.hh"

namespace rrdns::wire {

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;
  bool has_question = false;  // the question parsed and can be echoed back
  NameBuf qname;              // as sent, letter case preserved (0x20)
  NameBuf lower;              // lower-cased copy, used for lookups
  uint64_t hash = 0;          // hashName(lower)
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  Edns edns;
};

enum class ParseStatus : uint8_t {
  Ok,
  Drop,     // not worth a reply: shorter than a header, or a response (QR=1)
  FormErr,  // header readable but the rest is malformed; has_question says what can be echoed
  NotImp,   // opcode other than QUERY
};

ParseStatus parseQuery(std::span<const uint8_t> msg, Query& q);

}  // namespace rrdns::wire
