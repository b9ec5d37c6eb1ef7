// zone_text.hh -- a zone as RFC 1035 text, the way a secondary gets it: the messages of an AXFR
// through answer::Transfer, decoded record by record (names inside RDATA decompressed), for
// checks by other tools (ldns-verify-zone).
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dns/answer/catalog.hh"
#include "dns/answer/transfer.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/wire/query.hh"
#include "dns/wire/rrtype.hh"
#include "dns/zone/rdata.hh"
#include "tests/unit/message_util.hh"

namespace zonetext {

// The RDATA of `r`, with the names its type compresses expanded from the message.
inline std::string uncompressed(const testutil::Message& m, const testutil::Record& r) {
  const std::string raw(r.rdata.begin(), r.rdata.end());
  const rrdns::wire::RRType* t = rrdns::wire::findRRType(r.type);
  if (!t || !(t->flags & rrdns::wire::rrtype::kCompresses)) return raw;
  std::string out;
  size_t pos = 0;  // in the message's RDATA
  for (const auto& f : t->fields) {
    if (f.kind == rrdns::wire::FieldKind::kName) {
      rrdns::wire::NameBuf buf;
      size_t at = r.rdata_offset + pos;
      REQUIRE(rrdns::wire::readName(std::span<const uint8_t>(m.wire.data(), m.wire.size()), at,
                                    buf) == rrdns::wire::NameStatus::Ok);
      out += buf.view();
      pos = at - r.rdata_offset;
    } else {
      const size_t end = rrdns::wire::fieldEnd(f.kind, raw, pos);
      REQUIRE(end != std::string::npos);
      out += raw.substr(pos, end - pos);
      pos = end;
    }
  }
  return out;
}

// Every record an AXFR of `zone` (in `catalog`) sends, one per line, the SOA once.
inline std::string axfrText(std::shared_ptr<const rrdns::answer::Catalog> catalog,
                            const rrdns::zone::Zone& zone) {
  testutil::QuerySpec spec;
  spec.qname = rrdns::wire::nameToText(zone.apex());
  spec.qtype = rrdns::wire::type::AXFR;
  const auto q = testutil::query(spec);
  rrdns::wire::Query parsed;
  REQUIRE(rrdns::wire::parseQuery(q, parsed) == rrdns::wire::ParseStatus::Ok);
  rrdns::answer::Transfer transfer(std::move(catalog), zone, parsed);
  std::vector<uint8_t> out(65535);
  size_t size = 0;
  std::string text;
  bool soa_seen = false;
  for (size_t messages = 0; transfer.next(out, size) && messages < 100000; ++messages) {
    const auto m = testutil::decode(out.data(), size);
    for (const auto& r : m.answer) {
      if (r.type == rrdns::wire::type::SOA && std::exchange(soa_seen, true)) continue;
      text += r.owner + " " + std::to_string(r.ttl) + " IN " + rrdns::wire::typeName(r.type) + " " +
              rrdns::zone::rdataToText(r.type, uncompressed(m, r)) + "\n";
    }
  }
  return text;
}

// What `command` prints (stdout and stderr) and its exit status.
inline std::pair<std::string, int> run(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe);
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

}  // namespace zonetext
