#include "dns/wire/query.hh"

#include <cstring>

#include "dns/base/bytes.hh"
#include "dns/wire/header.hh"

namespace rrdns::wire {
namespace {

// Skips one resource record; on OPT fills `edns`. Returns false when malformed.
bool readRecord(std::span<const uint8_t> msg, size_t& pos, bool additional, Edns& edns) {
  NameBuf owner;
  if (readName(msg, pos, owner) != NameStatus::Ok) return false;
  if (pos + 10 > msg.size()) return false;
  const uint8_t* p = msg.data() + pos;
  const uint16_t rtype = load16(p);
  const uint16_t rdlength = load16(p + 8);
  if (pos + 10 + rdlength > msg.size()) return false;
  if (rtype == type::OPT) {
    // RFC 6891 6.1.1: one OPT, in the additional section, owned by the root.
    if (!additional || edns.present || owner.size != 1) return false;
    size_t at = pos - 1;  // where readOpt() expects a one-byte owner; the fixed part is in
    if (!readOpt(msg, at, edns)) return false;
    pos = at;
    return true;
  }
  pos += 10 + rdlength;
  return true;
}

}  // namespace

ParseStatus parseQuery(std::span<const uint8_t> msg, Query& q) {
  q.has_question = false;
  q.edns = Edns{};
  if (msg.size() < kHeaderSize) return ParseStatus::Drop;
  const uint8_t* m = msg.data();
  q.id = header::id(m);
  q.flags = header::flags(m);
  if (q.flags & flag::QR) return ParseStatus::Drop;

  const bool query_opcode = header::opcode(q.flags) == opcode::QUERY;
  const ParseStatus malformed = query_opcode ? ParseStatus::FormErr : ParseStatus::NotImp;
  if (header::qdcount(m) != 1) return malformed;

  Question question;
  if (!readQuestion(msg, question)) return malformed;
  q.qname.size = static_cast<uint8_t>(question.size);
  std::memcpy(q.qname.data, m + kHeaderSize, question.size);
  q.lower.size = q.qname.size;
  std::memcpy(q.lower.data, question.lower, question.size);
  q.hash = question.hash;
  q.qtype = question.qtype;
  q.qclass = question.qclass;
  q.has_question = true;
  if (!query_opcode) return ParseStatus::NotImp;

  size_t pos = question.end;
  const size_t answers = header::ancount(m) + header::nscount(m);
  const size_t additionals = header::arcount(m);
  for (size_t i = 0; i < answers + additionals; ++i)
    if (!readRecord(msg, pos, i >= answers, q.edns)) return ParseStatus::FormErr;
  if (q.qtype == type::OPT) return ParseStatus::FormErr;
  // Bytes beyond the records the header announces: a damaged or forged message (Knot DNS and
  // BIND answer FORMERR too).
  if (pos != msg.size()) return ParseStatus::FormErr;
  return ParseStatus::Ok;
}

}  // namespace rrdns::wire
