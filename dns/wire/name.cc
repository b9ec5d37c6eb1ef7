#include "dns/wire/name.hh"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "dns/base/bytes.hh"

namespace rrdns::wire {

NameStatus readName(std::span<const uint8_t> msg, size_t& pos, NameBuf& out) {
  size_t cursor = pos;
  size_t segment_start = pos;  // start of the run of labels being read (for pointer checks)
  bool jumped = false;
  out.size = 0;
  for (;;) {
    if (cursor >= msg.size()) return NameStatus::Truncated;
    const uint8_t len = msg[cursor];
    if ((len & 0xC0) == 0xC0) {
      if (cursor + 1 >= msg.size()) return NameStatus::Truncated;
      const size_t target = static_cast<size_t>(len & 0x3F) << 8 | msg[cursor + 1];
      if (target >= segment_start) return NameStatus::BadPointer;
      if (!jumped) pos = cursor + 2;
      jumped = true;
      cursor = segment_start = target;
      continue;
    }
    if (len & 0xC0) return NameStatus::BadLabelType;
    if (size_t{out.size} + 1 + len > kMaxNameLength) return NameStatus::TooLong;
    if (cursor + 1 + len > msg.size()) return NameStatus::Truncated;
    std::memcpy(out.data + out.size, msg.data() + cursor, 1 + len);
    out.size += 1 + len;
    cursor += 1 + len;
    if (len == 0) break;
  }
  if (!jumped) pos = cursor;
  return NameStatus::Ok;
}

void lowerName(uint8_t* name, size_t size) {
  for (size_t i = 0; i < size && name[i] != 0;) {
    const size_t len = name[i];
    for (size_t j = i + 1; j <= i + len && j < size; ++j) name[j] = asciiLower(name[j]);
    i += 1 + len;
  }
}

size_t labelCount(std::string_view name) {
  size_t count = 0;
  for (size_t i = 0; i < name.size() && name[i] != 0; i += 1 + static_cast<uint8_t>(name[i]))
    ++count;
  return count;
}

bool isSubdomainOf(std::string_view name, std::string_view ancestor) {
  if (ancestor.size() > name.size()) return false;
  size_t i = 0;
  while (name.size() - i > ancestor.size()) i += 1 + static_cast<uint8_t>(name[i]);
  return name.size() - i == ancestor.size() && name.substr(i) == ancestor;
}

int compareCanonical(std::string_view a, std::string_view b) {
  // The label starts of each name, so that they can be walked from the root down.
  size_t starts_a[128], starts_b[128];
  size_t na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && a[i] != 0 && na < 128; i += 1 + static_cast<uint8_t>(a[i]))
    starts_a[na++] = i;
  for (size_t i = 0; i < b.size() && b[i] != 0 && nb < 128; i += 1 + static_cast<uint8_t>(b[i]))
    starts_b[nb++] = i;
  while (na > 0 && nb > 0) {
    const size_t la = static_cast<uint8_t>(a[starts_a[--na]]);
    const size_t lb = static_cast<uint8_t>(b[starts_b[--nb]]);
    const char* pa = a.data() + starts_a[na] + 1;
    const char* pb = b.data() + starts_b[nb] + 1;
    for (size_t i = 0; i < std::min(la, lb); ++i) {
      const int ca = asciiLower(static_cast<uint8_t>(pa[i]));
      const int cb = asciiLower(static_cast<uint8_t>(pb[i]));
      if (ca != cb) return ca < cb ? -1 : 1;
    }
    if (la != lb) return la < lb ? -1 : 1;
  }
  if (na == nb) return 0;
  return na < nb ? -1 : 1;
}

bool namesEqualIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (asciiLower(static_cast<uint8_t>(a[i])) != asciiLower(static_cast<uint8_t>(b[i])))
      return false;
  return true;
}

std::string nameToText(std::string_view wire) {
  if (wire.empty() || wire[0] == 0) return ".";
  std::string text;
  for (size_t i = 0; i < wire.size() && wire[i] != 0;) {
    const size_t len = static_cast<uint8_t>(wire[i]);
    for (size_t j = i + 1; j <= i + len && j < wire.size(); ++j) {
      const auto c = static_cast<uint8_t>(wire[j]);
      if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' ||
          c == '$') {
        text += '\\';
        text += static_cast<char>(c);
      } else if (c <= 0x20 || c >= 0x7F) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", c);
        text += buf;
      } else {
        text += static_cast<char>(c);
      }
    }
    text += '.';
    i += 1 + len;
  }
  return text;
}

bool nameFromText(std::string_view text, std::string_view origin, std::string& out,
                  std::string& error) {
  out.clear();
  if (text == "@") {
    if (origin.empty()) {
      error = "'@' needs an origin";
      return false;
    }
    out = origin;
    return true;
  }
  if (text.empty()) {
    error = "empty name";
    return false;
  }
  if (text == ".") {
    out.assign(1, '\0');
    return true;
  }
  std::string label;
  bool absolute = false;
  auto finishLabel = [&]() -> bool {
    if (label.empty()) {
      error = "empty label in '" + std::string(text) + "'";
      return false;
    }
    if (label.size() > kMaxLabelLength) {
      error = "label longer than 63 bytes in '" + std::string(text) + "'";
      return false;
    }
    out += static_cast<char>(label.size());
    for (char c : label) out += static_cast<char>(asciiLower(static_cast<uint8_t>(c)));
    label.clear();
    return true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) {
        error = "dangling backslash in '" + std::string(text) + "'";
        return false;
      }
      if (i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
          std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
        const int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (v > 255) {
          error = "escape \\" + std::string(text.substr(i + 1, 3)) + " is above 255";
          return false;
        }
        label += static_cast<char>(v);
        i += 3;
      } else {
        label += text[++i];
      }
    } else if (c == '.') {
      if (!finishLabel()) return false;
      if (i + 1 == text.size()) absolute = true;
    } else {
      label += c;
    }
  }
  if (!absolute && !finishLabel()) return false;
  if (absolute) {
    out += '\0';
  } else {
    if (origin.empty()) {
      error = "'" + std::string(text) + "' is relative and there is no origin (end it with a dot)";
      return false;
    }
    out += origin;
  }
  if (out.size() > kMaxNameLength) {
    error = "name longer than 255 bytes: '" + std::string(text) + "'";
    return false;
  }
  return true;
}

}  // namespace rrdns::wire
