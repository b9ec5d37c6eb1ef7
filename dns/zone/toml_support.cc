#include "dns/zone/toml_support.hh"

#include <algorithm>

namespace rrdns::zone::toml_support {
namespace {

// A key as TOML would need it written: bare when possible, otherwise quoted.
std::string keySegment(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  if (bare) return std::string(key);
  std::string quoted = "\"";
  for (char c : key) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + '"';
}

// A duration in seconds: an integer, or a string of digits and one unit (s, m, h, d), as Knot
// DNS writes its policy's times. nullopt after reporting.
std::optional<uint32_t> readDuration(TomlReporter& reporter, const toml::node& node,
                                     std::string_view path) {
  constexpr int64_t kMax = 0x7FFFFFFF;
  const std::string_view usage = "must be seconds or a duration such as \"90s\", \"30m\", \"2h\", \"14d\"";
  if (node.is_integer()) {
    auto v = reporter.readInteger(node, path, 0, kMax);
    if (!v) return std::nullopt;
    return static_cast<uint32_t>(*v);
  }
  const auto* text = node.as_string();
  if (!text) {
    reporter.report(node, path, std::string(usage) + ", not " + std::string(describe(node.type())));
    return std::nullopt;
  }
  const std::string& s = text->get();
  int64_t value = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9' && value <= kMax; ++i) value = value * 10 + (s[i] - '0');
  int64_t unit = 0;
  if (i > 0 && i + 1 == s.size()) {
    switch (s[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: break;
    }
  }
  if (unit == 0) {
    reporter.report(node, path, std::string(usage) + ", not \"" + s + "\"");
    return std::nullopt;
  }
  if (value > kMax / unit) {
    reporter.report(node, path, "\"" + s + "\" is too long (at most 2147483647 seconds)");
    return std::nullopt;
  }
  return static_cast<uint32_t>(value * unit);
}

}  // namespace

std::string_view describe(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date or time";
  }
}

std::string childPath(std::string_view parent, std::string_view key) {
  return parent.empty() ? keySegment(key) : std::string(parent) + "." + keySegment(key);
}

std::string elementPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::vector<Entry> inFileOrder(const toml::table& table) {
  std::vector<Entry> entries;
  for (const auto& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

void TomlReporter::report(uint32_t line, std::string_view key, std::string_view message) {
  if (d_errors.size() == d_max_errors) throw TooManyErrors{};
  d_errors.push_back(errorAt(d_path, line, std::string(key), std::string(message)));
}

void TomlReporter::sortByLineSince(size_t mark) {
  std::stable_sort(d_errors.begin() + static_cast<ptrdiff_t>(mark), d_errors.end(),
                   [](const Error& a, const Error& b) { return a.line < b.line; });
}

void TomlReporter::checkKeys(const toml::table& table, std::string_view path,
                             std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, node] : table) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    report(key.source().begin.line, childPath(path, key.str()),
           "unknown key (expected " + listOf(allowed) + ")");
  }
}

const std::string* TomlReporter::readString(const toml::node& node, std::string_view path) {
  if (const auto* s = node.as_string()) return &s->get();
  report(node, path, "expected a string, got " + std::string(describe(node.type())));
  return nullptr;
}

std::optional<int64_t> TomlReporter::readInteger(const toml::node& node, std::string_view path,
                                                 int64_t min, int64_t max, std::string_view what) {
  const auto* integer = node.as_integer();
  if (!integer) {
    report(node, path, "expected an integer, got " + std::string(describe(node.type())));
    return std::nullopt;
  }
  const int64_t v = integer->get();
  if (v < min || v > max) {
    report(node, path,
           std::string(what) + std::to_string(v) + " is out of range (" + std::to_string(min) +
               " to " + std::to_string(max) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<uint32_t> TomlReporter::readTtl(const toml::node& node, std::string_view path) {
  auto ttl = readInteger(node, path, 0, kMaxTtl, "TTL ");
  if (!ttl) return std::nullopt;
  return static_cast<uint32_t>(*ttl);
}

const toml::node* TomlReporter::require(const toml::table& table, std::string_view key,
                                        std::string_view path, std::string_view message) {
  if (const auto* node = table.get(key)) return node;
  report(table, childPath(path, key), message);
  return nullptr;
}

std::optional<std::vector<NotifyTarget>> TomlReporter::readNotifyList(const toml::node& node,
                                                                      std::string_view path) {
  const toml::array* array = node.as_array();
  if (!array) {
    report(node, path, "must be an array of \"ADDR[:PORT]\" strings, e.g. [\"192.0.2.2\"]");
    return std::nullopt;
  }
  std::vector<NotifyTarget> targets;
  const size_t errors_before = errorCount();
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string* text = readString(element, elementPath(path, i));
    if (!text) continue;
    std::string error;
    auto target = parseNotifyTarget(*text, error);
    if (!target)
      report(element, elementPath(path, i), error);
    else if (std::find(targets.begin(), targets.end(), *target) != targets.end())
      report(element, elementPath(path, i), target->text + " is listed twice");
    else
      targets.push_back(std::move(*target));
  }
  if (errorCount() != errors_before) return std::nullopt;
  return targets;
}

std::optional<SerialPolicy> TomlReporter::readSerialPolicy(const toml::node& node,
                                                           std::string_view path) {
  const std::string* text = readString(node, path);
  if (!text) return std::nullopt;
  auto policy = parseSerialPolicy(*text);
  if (!policy)
    report(node, path, "must be \"keep\" (the file's serial) or \"auto\", not \"" + *text + "\"");
  return policy;
}

std::optional<DnssecPolicy> TomlReporter::readDnssecPolicy(const toml::node& node,
                                                           std::string_view path) {
  DnssecPolicy policy;
  policy.source = d_path + ":" + std::to_string(node.source().begin.line);
  if (const auto* flag = node.as_boolean()) {
    if (!flag->get()) return std::nullopt;
    return policy;
  }
  const toml::table* table = node.as_table();
  if (!table) {
    report(node, path, "must be true, false or a table of DNSSEC settings, not " +
                           std::string(describe(node.type())));
    return std::nullopt;
  }
  const size_t errors_before = errorCount();
  checkKeys(*table, path,
            {"algorithm", "single-type-signing", "nsec3", "nsec3-iterations", "nsec3-salt-length",
             "dnskey-ttl", "zsk-lifetime", "propagation-delay", "rrsig-lifetime",
             "rrsig-refresh"});
  auto flag = [&](std::string_view key, bool& out) {
    const auto* v = table->get(key);
    if (!v) return;
    if (const auto* b = v->as_boolean())
      out = b->get();
    else
      report(*v, childPath(path, key), "must be true or false");
  };
  auto duration = [&](std::string_view key, uint32_t& out) {
    if (const auto* v = table->get(key))
      if (auto d = readDuration(*this, *v, childPath(path, key))) out = *d;
  };
  if (const auto* v = table->get("algorithm")) {
    if (const std::string* name = readString(*v, childPath(path, "algorithm"))) {
      if (*name == "ecdsap256sha256")
        policy.algorithm = DnssecAlgorithm::EcdsaP256Sha256;
      else if (*name == "ed25519")
        policy.algorithm = DnssecAlgorithm::Ed25519;
      else
        report(*v, childPath(path, "algorithm"),
               "must be \"ecdsap256sha256\" (13, the default) or \"ed25519\" (15), not \"" + *name +
                   "\"");
    }
  }
  flag("single-type-signing", policy.single_type_signing);
  flag("nsec3", policy.nsec3);
  if (const auto* v = table->get("nsec3-iterations"))
    if (auto n = readInteger(*v, childPath(path, "nsec3-iterations"), 0, 100))
      policy.nsec3_iterations = static_cast<uint16_t>(*n);
  if (const auto* v = table->get("nsec3-salt-length"))
    if (auto n = readInteger(*v, childPath(path, "nsec3-salt-length"), 0, 64))
      policy.nsec3_salt_length = static_cast<uint8_t>(*n);
  if (!policy.nsec3)
    for (std::string_view key : {"nsec3-iterations", "nsec3-salt-length"})
      if (const auto* v = table->get(key))
        report(*v, childPath(path, key), "applies to NSEC3 only: set nsec3 = true as well");
  if (const auto* v = table->get("dnskey-ttl"))
    if (auto ttl = readTtl(*v, childPath(path, "dnskey-ttl"))) policy.dnskey_ttl = *ttl;
  duration("zsk-lifetime", policy.zsk_lifetime);
  duration("propagation-delay", policy.propagation_delay);
  duration("rrsig-lifetime", policy.rrsig_lifetime);
  duration("rrsig-refresh", policy.rrsig_refresh);
  if (const auto* v = table->get("rrsig-lifetime"); v && policy.rrsig_lifetime == 0)
    report(*v, childPath(path, "rrsig-lifetime"), "must be above 0");
  if (const auto* v = table->get("rrsig-refresh"); v && policy.rrsig_refresh == 0)
    report(*v, childPath(path, "rrsig-refresh"), "must be above 0");
  if (errorCount() == errors_before && policy.rrsig_refresh >= policy.rrsig_lifetime) {
    const toml::node* at = table->get("rrsig-refresh");
    if (!at) at = table->get("rrsig-lifetime");
    report(at ? *at : node, childPath(path, "rrsig-refresh"),
           "rrsig-refresh (" + std::to_string(policy.rrsig_refresh) +
               " s) must be below rrsig-lifetime (" + std::to_string(policy.rrsig_lifetime) +
               " s): signatures would be due for refresh as soon as they are made");
  }
  if (errorCount() != errors_before) return std::nullopt;
  return policy;
}

void TomlReporter::checkSignedSerial(const ZoneSettings& settings, const toml::node* serial_node,
                                     std::string_view path) {
  if (settings.dnssec && serial_node && settings.serial == SerialPolicy::Keep)
    report(*serial_node, path,
           "\"keep\" cannot be used with dnssec: signatures are refreshed, so the serial must rise "
           "(remove it, or set \"auto\")");
}

}  // namespace rrdns::zone::toml_support
