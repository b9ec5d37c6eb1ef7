#include "dns/wire/writer.hh"

#include "dns/wire/response.hh"

namespace rrdns::wire {

bool Writer::matchesAt(size_t offset, std::string_view suffix) const {
  size_t i = 0;
  // Offsets in the table were written by us and pointers only go backwards, so this ends.
  for (int hops = 0; hops < 128; ++hops) {
    const uint8_t len = d_buf[offset];
    if ((len & 0xC0) == 0xC0) {
      offset = static_cast<size_t>(len & 0x3F) << 8 | d_buf[offset + 1];
      continue;
    }
    if (i >= suffix.size() || static_cast<uint8_t>(suffix[i]) != len) return false;
    if (len == 0) return true;
    for (size_t j = 1; j <= len; ++j)
      if (asciiLower(d_buf[offset + j]) != asciiLower(static_cast<uint8_t>(suffix[i + j])))
        return false;
    i += 1 + len;
    offset += 1 + len;
  }
  return false;
}

void Writer::name(std::string_view wire) {
  // Find the longest suffix already in the message, label by label from the left.
  size_t label = 0;
  while (label < wire.size() && wire[label] != 0) {
    const std::string_view suffix = wire.substr(label);
    for (uint8_t e = 0; e < d_entries; ++e) {
      if (matchesAt(d_targets[e], suffix)) {
        const Mark before = mark();
        for (size_t l = 0; l < label; l += 1 + static_cast<uint8_t>(wire[l])) {
          remember(d_size + l);
        }
        bytes(wire.data(), label);
        if (d_pointer_log && ok()) d_pointer_log->push_back(static_cast<uint16_t>(d_size));
        u16(static_cast<uint16_t>(0xC000 | d_targets[e]));
        if (!ok()) d_entries = before.compression_entries;
        return;
      }
    }
    label += 1 + static_cast<uint8_t>(wire[label]);
  }
  const uint8_t entries_before = d_entries;
  const size_t start = d_size;
  bytes(wire);
  if (!ok()) {
    d_entries = entries_before;
    return;
  }
  for (size_t l = 0; l < wire.size() && wire[l] != 0; l += 1 + static_cast<uint8_t>(wire[l]))
    remember(start + l);
}

void Writer::record(std::string_view owner, uint16_t rtype, uint16_t rclass, uint32_t ttl,
                    std::string_view rdata) {
  name(owner);
  u16(rtype);
  u16(rclass);
  u32(ttl);
  const size_t rdlength_at = d_size;
  u16(0);
  const size_t rdata_start = d_size;
  // Names inside RDATA are compressed where the type's descriptor allows it (RFC 3597 4); other
  // bytes are copied in runs. Zone RDATA has its type's layout (ZoneBuilder checks it); should a
  // field not fit, the rest is copied as it is.
  const RRType* layout = findRRType(rtype);
  if (!layout || !(layout->flags & rrtype::kCompresses)) {
    bytes(rdata);
  } else {
    size_t copied = 0, pos = 0;
    for (const RdataField& f : layout->fields) {
      const size_t end = fieldEnd(f.kind, rdata, pos);
      if (end == std::string_view::npos) break;
      if (f.flags & field::kCompress) {
        bytes(rdata.substr(copied, pos - copied));
        name(rdata.substr(pos, end - pos));
        copied = end;
      }
      pos = end;
    }
    bytes(rdata.substr(copied));
  }
  if (ok()) store16(d_buf + rdlength_at, static_cast<uint16_t>(d_size - rdata_start));
}

void Writer::opt(uint16_t payload, uint8_t extended_rcode, bool dnssec_ok, std::string_view nsid,
                 const SubnetEcho& subnet) {
  const size_t size = optSize(nsid, subnet);
  if (!reserve(size)) return;
  uint8_t* p = d_buf + d_size;
  putOpt(p, payload, extended_rcode, dnssec_ok);
  d_size += kOptRecordSize;
  store16(p + kOptRecordSize - 2, static_cast<uint16_t>(size - kOptRecordSize));
  if (!nsid.empty()) {
    u16(edns_option::NSID);
    u16(static_cast<uint16_t>(nsid.size()));
    bytes(nsid);
  }
  if (subnet.option) {
    putClientSubnet(d_buf + d_size, subnet);
    d_size += subnet.wireSize();
  }
}

}  // namespace rrdns::wire
