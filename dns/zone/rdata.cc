#include "dns/zone/rdata.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <vector>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"

namespace rrdns::zone {
namespace {

constexpr size_t kMaxRdataLength = 65535;
constexpr size_t kMaxCharacterString = 255;

void append16(std::string& out, uint16_t v) {
  uint8_t b[2];
  store16(b, v);
  out.append(reinterpret_cast<const char*>(b), sizeof b);
}

void append32(std::string& out, uint32_t v) {
  uint8_t b[4];
  store32(b, v);
  out.append(reinterpret_cast<const char*>(b), sizeof b);
}

// Appends the wire form of `text`; `what` names the field in the error ("exchange").
bool appendName(std::string_view text, std::string_view origin, std::string_view what,
                std::string& out, std::string& error) {
  std::string name;
  if (!wire::nameFromText(text, origin, name, error)) {
    error = std::string(what) + ": " + error;
    return false;
  }
  out += name;
  return true;
}

bool isBlank(char c) { return c == ' ' || c == '\t'; }

// Splits off the next blank-separated field of `text`, leaving the rest (without leading blanks).
std::string_view nextField(std::string_view& text) {
  size_t start = 0;
  while (start < text.size() && isBlank(text[start])) ++start;
  size_t end = start;
  while (end < text.size() && !isBlank(text[end])) ++end;
  std::string_view field = text.substr(start, end - start);
  while (end < text.size() && isBlank(text[end])) ++end;
  text.remove_prefix(end);
  return field;
}

std::vector<std::string_view> splitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  for (auto field = nextField(text); !field.empty(); field = nextField(text))
    fields.push_back(field);
  return fields;
}

template <typename Int>
bool parseField(std::string_view text, std::string_view what, Int& value, std::string& error) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    error = std::string(what) + " '" + std::string(text) + "' is not an integer from 0 to " +
            std::to_string(std::numeric_limits<Int>::max());
    return false;
  }
  return true;
}

// A CAA value as written after the tag: quoted (backslash escapes the next character) or bare.
bool unquoteValue(std::string_view text, std::string& value, std::string& error) {
  if (text.empty() || text.front() != '"') {
    value = text;
    return true;
  }
  if (text.size() < 2 || text.back() != '"') {
    error = "value " + std::string(text) + " has no closing quote";
    return false;
  }
  text = text.substr(1, text.size() - 2);
  value.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) ++i;
    value += text[i];
  }
  return true;
}

bool checkLength(const std::string& out, size_t start, std::string& error) {
  if (out.size() - start <= kMaxRdataLength) return true;
  error = "record data is " + std::to_string(out.size() - start) + " bytes; at most " +
          std::to_string(kMaxRdataLength) + " fit in a record";
  return false;
}

// "hostmaster@example.com" -> hostmaster.example.com. The local part becomes one label, so dots
// in it stay inside the label (RFC 1035 8: "john\.doe.example.com.").
bool appendMailbox(std::string_view contact, std::string& out, std::string& error) {
  const size_t at = contact.rfind('@');
  const std::string_view local = contact.substr(0, at);
  if (local.empty() || local.size() > wire::kMaxLabelLength) {
    error = "contact '" + std::string(contact) + "': the part before '@' must be 1 to 63 bytes";
    return false;
  }
  std::string domain;
  const std::string root(1, '\0');  // e-mail domains are always absolute
  if (!wire::nameFromText(contact.substr(at + 1), root, domain, error)) {
    error = "contact '" + std::string(contact) + "': " + error;
    return false;
  }
  if (1 + local.size() + domain.size() > wire::kMaxNameLength) {
    error = "contact '" + std::string(contact) + "' is longer than 255 bytes as a name";
    return false;
  }
  out += static_cast<char>(local.size());
  for (char c : local) out += static_cast<char>(asciiLower(static_cast<uint8_t>(c)));
  out += domain;
  return true;
}

bool encodeMXText(std::string_view text, std::string_view origin, std::string& out,
                  std::string& error) {
  const auto fields = splitFields(text);
  if (fields.size() != 2) {
    error = "'" + std::string(text) + "' is not 'PREFERENCE EXCHANGE' (e.g. \"10 mail\")";
    return false;
  }
  uint16_t preference = 0;
  return parseField(fields[0], "preference", preference, error) &&
         encodeMX(preference, fields[1], origin, out, error);
}

bool encodeSRVText(std::string_view text, std::string_view origin, std::string& out,
                   std::string& error) {
  const auto fields = splitFields(text);
  if (fields.size() != 4) {
    error =
        "'" + std::string(text) + "' is not 'PRIORITY WEIGHT PORT TARGET' (e.g. \"0 5 5060 sip\")";
    return false;
  }
  uint16_t priority = 0, weight = 0, port = 0;
  return parseField(fields[0], "priority", priority, error) &&
         parseField(fields[1], "weight", weight, error) &&
         parseField(fields[2], "port", port, error) &&
         encodeSRV(priority, weight, port, fields[3], origin, out, error);
}

bool encodeCAAText(std::string_view text, std::string& out, std::string& error) {
  std::string_view rest = text;
  const std::string_view flags_field = nextField(rest);
  const std::string_view tag = nextField(rest);
  while (!rest.empty() && isBlank(rest.back())) rest.remove_suffix(1);
  if (tag.empty() || rest.empty()) {
    error =
        "'" + std::string(text) + "' is not 'FLAGS TAG VALUE' (e.g. '0 issue \"letsencrypt.org\"')";
    return false;
  }
  uint8_t flags = 0;
  std::string value;
  return parseField(flags_field, "flags", flags, error) && unquoteValue(rest, value, error) &&
         encodeCAA(flags, tag, value, out, error);
}

}  // namespace

bool encodeA(std::string_view address, std::string& out, std::string& error) {
  uint8_t bytes[4];
  if (inet_pton(AF_INET, std::string(address).c_str(), bytes) != 1) {
    error = "'" + std::string(address) + "' is not an IPv4 address";
    return false;
  }
  out.append(reinterpret_cast<const char*>(bytes), sizeof bytes);
  return true;
}

bool encodeAAAA(std::string_view address, std::string& out, std::string& error) {
  uint8_t bytes[16];
  if (inet_pton(AF_INET6, std::string(address).c_str(), bytes) != 1) {
    error = "'" + std::string(address) + "' is not an IPv6 address";
    return false;
  }
  out.append(reinterpret_cast<const char*>(bytes), sizeof bytes);
  return true;
}

bool encodeName(std::string_view name, std::string_view origin, std::string& out,
                std::string& error) {
  std::string wire_name;
  if (!wire::nameFromText(name, origin, wire_name, error)) return false;
  out += wire_name;
  return true;
}

bool encodeMX(uint16_t preference, std::string_view exchange, std::string_view origin,
              std::string& out, std::string& error) {
  append16(out, preference);
  return appendName(exchange, origin, "exchange", out, error);
}

bool encodeSRV(uint16_t priority, uint16_t weight, uint16_t port, std::string_view target,
               std::string_view origin, std::string& out, std::string& error) {
  append16(out, priority);
  append16(out, weight);
  append16(out, port);
  return appendName(target, origin, "target", out, error);
}

bool encodeTXT(std::string_view text, std::string& out, std::string& error) {
  const size_t start = out.size();
  do {
    const std::string_view piece = text.substr(0, kMaxCharacterString);
    out += static_cast<char>(piece.size());
    out += piece;
    text.remove_prefix(piece.size());
  } while (!text.empty());
  return checkLength(out, start, error);
}

bool encodeCAA(uint8_t flags, std::string_view tag, std::string_view value, std::string& out,
               std::string& error) {
  const bool alphanumeric = std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
  if (tag.empty() || tag.size() > 255 || !alphanumeric) {
    error = "tag '" + std::string(tag) + "' must be 1 to 255 letters and digits (e.g. issue)";
    return false;
  }
  const size_t start = out.size();
  out += static_cast<char>(flags);
  out += static_cast<char>(tag.size());
  out += tag;
  out += value;
  return checkLength(out, start, error);
}

bool encodeSOA(const SoaFields& soa, std::string_view origin, std::string& out,
               std::string& error) {
  if (!appendName(soa.primary, origin, "primary", out, error)) return false;
  if (soa.contact.find('@') != std::string_view::npos) {
    if (!appendMailbox(soa.contact, out, error)) return false;
  } else if (!appendName(soa.contact, origin, "contact", out, error)) {
    return false;
  }
  for (uint32_t v : {soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum}) append32(out, v);
  return true;
}

bool encodeText(uint16_t rtype, std::string_view text, std::string_view origin, std::string& out,
                std::string& error) {
  namespace type = wire::type;
  switch (rtype) {
    case type::A:
      return encodeA(text, out, error);
    case type::AAAA:
      return encodeAAAA(text, out, error);
    case type::NS:
    case type::CNAME:
    case type::PTR:
      return encodeName(text, origin, out, error);
    case type::MX:
      return encodeMXText(text, origin, out, error);
    case type::SRV:
      return encodeSRVText(text, origin, out, error);
    case type::TXT:
      return encodeTXT(text, out, error);
    case type::CAA:
      return encodeCAAText(text, out, error);
    default:
      error = "type " + wire::typeName(rtype) + " has no text form here";
      return false;
  }
}

}  // namespace rrdns::zone

namespace rrdns::zone {
namespace {

std::string hexText(std::string_view rdata) {
  static const char digits[] = "0123456789abcdef";
  std::string out = "\\# " + std::to_string(rdata.size());
  if (!rdata.empty()) out += ' ';
  for (unsigned char c : rdata) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// A name at `pos` of uncompressed RDATA; advances `pos`. False when it runs off the end.
bool nameAt(std::string_view rdata, size_t& pos, std::string& text) {
  const size_t start = pos;
  while (pos < rdata.size() && rdata[pos] != 0) pos += 1 + static_cast<uint8_t>(rdata[pos]);
  if (pos >= rdata.size()) return false;
  ++pos;
  text = wire::nameToText(rdata.substr(start, pos - start));
  return true;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7F) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\%03u", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string rdataToText(uint16_t rtype, std::string_view rdata) {
  const auto* p = reinterpret_cast<const uint8_t*>(rdata.data());
  std::string a, b;
  size_t pos = 0;
  switch (rtype) {
    case wire::type::A:
    case wire::type::AAAA: {
      char text[INET6_ADDRSTRLEN];
      const int family = rtype == wire::type::A ? AF_INET : AF_INET6;
      if (rdata.size() != (rtype == wire::type::A ? 4u : 16u) ||
          !inet_ntop(family, rdata.data(), text, sizeof text))
        break;
      return text;
    }
    case wire::type::NS:
    case wire::type::CNAME:
    case wire::type::PTR:
      if (nameAt(rdata, pos, a) && pos == rdata.size()) return a;
      break;
    case wire::type::MX:
      pos = 2;
      if (rdata.size() > 2 && nameAt(rdata, pos, a) && pos == rdata.size())
        return std::to_string(load16(p)) + " " + a;
      break;
    case wire::type::SRV:
      pos = 6;
      if (rdata.size() > 6 && nameAt(rdata, pos, a) && pos == rdata.size())
        return std::to_string(load16(p)) + " " + std::to_string(load16(p + 2)) + " " +
               std::to_string(load16(p + 4)) + " " + a;
      break;
    case wire::type::SOA:
      if (nameAt(rdata, pos, a) && nameAt(rdata, pos, b) && pos + 20 == rdata.size()) {
        std::string text = a + " " + b;
        for (int i = 0; i < 5; ++i) text += " " + std::to_string(load32(p + pos + 4 * i));
        return text;
      }
      break;
    case wire::type::TXT: {
      std::string text;
      while (pos < rdata.size()) {
        const size_t len = p[pos];
        if (pos + 1 + len > rdata.size()) return hexText(rdata);
        if (!text.empty()) text += ' ';
        text += quoted(rdata.substr(pos + 1, len));
        pos += 1 + len;
      }
      return text;
    }
    case wire::type::CAA:
      if (rdata.size() >= 2 && 2u + p[1] <= rdata.size())
        return std::to_string(p[0]) + " " + std::string(rdata.substr(2, p[1])) + " " +
               quoted(rdata.substr(2 + p[1]));
      break;
  }
  return hexText(rdata);
}

}  // namespace rrdns::zone
