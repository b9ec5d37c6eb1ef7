#include "dns/zone/rdata.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/wire/rrtype.hh"

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

// The structured forms are the descriptor's fields given one by one.
bool encodeMX(uint16_t preference, std::string_view exchange, std::string_view origin,
              std::string& out, std::string& error) {
  const std::string p = std::to_string(preference);
  const std::string_view values[] = {p, exchange};
  return encodeFields(*wire::findRRType(wire::type::MX), values, origin, out, error);
}

bool encodeSRV(uint16_t priority, uint16_t weight, uint16_t port, std::string_view target,
               std::string_view origin, std::string& out, std::string& error) {
  const std::string numbers[] = {std::to_string(priority), std::to_string(weight),
                                 std::to_string(port)};
  const std::string_view values[] = {numbers[0], numbers[1], numbers[2], target};
  return encodeFields(*wire::findRRType(wire::type::SRV), values, origin, out, error);
}

bool encodeTXT(std::string_view text, std::string& out, std::string& error) {
  return encodeFields(*wire::findRRType(wire::type::TXT), {&text, 1}, {}, out, error);
}

bool encodeCAA(uint8_t flags, std::string_view tag, std::string_view value, std::string& out,
               std::string& error) {
  const std::string f = std::to_string(flags);
  const std::string_view values[] = {f, tag, value};
  return encodeFields(*wire::findRRType(wire::type::CAA), values, {}, out, error);
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

namespace {

// The one-line forms end in a field that takes the rest of the line, blanks included.
bool takesRest(wire::FieldKind kind) {
  return kind == wire::FieldKind::kStrings || kind == wire::FieldKind::kRest;
}

// Appends one field given as text. In a record of several fields, errors name the field.
bool encodeField(const wire::RdataField& f, std::string_view text, std::string_view origin,
                 bool several, std::string& out, std::string& error) {
  using K = wire::FieldKind;
  switch (f.kind) {
    case K::kU8: {
      uint8_t v = 0;
      if (!parseField(text, f.label, v, error)) return false;
      out += static_cast<char>(v);
      return true;
    }
    case K::kU16: {
      uint16_t v = 0;
      if (!parseField(text, f.label, v, error)) return false;
      append16(out, v);
      return true;
    }
    case K::kU32: {
      uint32_t v = 0;
      if (!parseField(text, f.label, v, error)) return false;
      append32(out, v);
      return true;
    }
    case K::kIPv4:
      return encodeA(text, out, error);
    case K::kIPv6:
      return encodeAAAA(text, out, error);
    case K::kName:
      return several ? appendName(text, origin, f.label, out, error)
                     : encodeName(text, origin, out, error);
    case K::kString:
      if (text.size() > kMaxCharacterString) {
        error = std::string(f.label) + " '" + std::string(text) + "' is longer than 255 bytes";
        return false;
      }
      out += static_cast<char>(text.size());
      out += text;
      return true;
    case K::kTag: {
      const bool alphanumeric = std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      });
      if (text.empty() || text.size() > kMaxCharacterString || !alphanumeric) {
        error = std::string(f.label) + " '" + std::string(text) +
                "' must be 1 to 255 letters and digits (e.g. issue)";
        return false;
      }
      out += static_cast<char>(text.size());
      out += text;
      return true;
    }
    case K::kStrings:
      do {
        const std::string_view piece = text.substr(0, kMaxCharacterString);
        out += static_cast<char>(piece.size());
        out += piece;
        text.remove_prefix(piece.size());
      } while (!text.empty());
      return true;
    case K::kRest:
      out += text;
      return true;
  }
  return false;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return out;
}

}  // namespace

bool encodeFields(const wire::RRType& rrtype, std::span<const std::string_view> values,
                  std::string_view origin, std::string& out, std::string& error) {
  const size_t start = out.size();
  const bool several = rrtype.fields.size() > 1;
  for (size_t i = 0; i < rrtype.fields.size() && i < values.size(); ++i)
    if (!encodeField(rrtype.fields[i], values[i], origin, several, out, error)) return false;
  return checkLength(out, start, error);
}

std::string quotedExample(const wire::RRType& rrtype) {
  const char quote = rrtype.example.find('"') == std::string_view::npos ? '"' : '\'';
  return quote + std::string(rrtype.example) + quote;
}

bool encodeText(uint16_t rtype, std::string_view text, std::string_view origin, std::string& out,
                std::string& error) {
  const wire::RRType* rrtype = wire::findRRType(rtype);
  if (!rrtype || !(rrtype->flags & wire::rrtype::kOneLine)) {
    error = "type " + wire::typeName(rtype) + " has no text form here";
    return false;
  }
  const auto fields = rrtype->fields;
  if (fields.size() == 1) return encodeFields(*rrtype, {&text, 1}, origin, out, error);

  // Several fields: blank-separated, the last one perhaps the rest of the line ("0 issue x y").
  constexpr size_t kMaxFields = 8;
  std::string_view values[kMaxFields];
  std::string unquoted;
  std::string_view rest = text;
  bool complete = fields.size() <= kMaxFields;
  for (size_t i = 0; complete && i < fields.size(); ++i) {
    if (i + 1 == fields.size() && takesRest(fields[i].kind)) {
      while (!rest.empty() && isBlank(rest.back())) rest.remove_suffix(1);
      values[i] = rest;
      rest = {};
    } else {
      values[i] = nextField(rest);
    }
    complete = !values[i].empty();
  }
  if (!complete || !rest.empty()) {
    std::string shape;
    for (const auto& f : fields) shape += (shape.empty() ? "" : " ") + upper(f.label);
    error =
        "'" + std::string(text) + "' is not '" + shape + "' (e.g. " + quotedExample(*rrtype) + ")";
    return false;
  }
  // A value that runs to the end of the line may be quoted (backslash escapes the next byte).
  if (fields.back().kind == wire::FieldKind::kRest) {
    // Earlier fields are checked first, so that the first mistake is the one reported.
    std::string prefix;
    if (!encodeFields(*rrtype, {values, fields.size() - 1}, origin, prefix, error)) return false;
    if (!unquoteValue(values[fields.size() - 1], unquoted, error)) return false;
    values[fields.size() - 1] = unquoted;
  }
  return encodeFields(*rrtype, {values, fields.size()}, origin, out, error);
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
  using K = wire::FieldKind;
  const wire::RRType* rrtype = wire::findRRType(rtype);
  if (!rrtype || !(rrtype->flags & wire::rrtype::kText)) return hexText(rdata);
  const auto* p = reinterpret_cast<const uint8_t*>(rdata.data());
  std::string text;
  size_t pos = 0;
  for (const auto& f : rrtype->fields) {
    const size_t end = wire::fieldEnd(f.kind, rdata, pos);
    if (end == std::string_view::npos) return hexText(rdata);
    if (&f != rrtype->fields.data()) text += ' ';
    switch (f.kind) {
      case K::kU8:
        text += std::to_string(p[pos]);
        break;
      case K::kU16:
        text += std::to_string(load16(p + pos));
        break;
      case K::kU32:
        text += std::to_string(load32(p + pos));
        break;
      case K::kIPv4:
      case K::kIPv6: {
        char address[INET6_ADDRSTRLEN];
        if (!inet_ntop(f.kind == K::kIPv4 ? AF_INET : AF_INET6, p + pos, address, sizeof address))
          return hexText(rdata);
        text += address;
        break;
      }
      case K::kName:
        text += wire::nameToText(rdata.substr(pos, end - pos));
        break;
      case K::kString:
        text += quoted(rdata.substr(pos + 1, end - pos - 1));
        break;
      case K::kTag:
        text += rdata.substr(pos + 1, end - pos - 1);
        break;
      case K::kStrings:
        for (size_t s = pos; s < end; s += 1 + p[s]) {
          if (s != pos) text += ' ';
          text += quoted(rdata.substr(s + 1, p[s]));
        }
        break;
      case K::kRest:
        text += quoted(rdata.substr(pos));
        break;
    }
    pos = end;
  }
  return pos == rdata.size() ? text : hexText(rdata);
}

}  // namespace rrdns::zone
