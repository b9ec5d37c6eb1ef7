// toml_loader.cc -- the TOML zone format (README.md, "Zone files"; example in zones/).
//
// The reader walks the parsed document once, turns every record into wire RDATA (rdata.hh) and
// hands it to ZoneBuilder, which checks the zone as a whole. Problems are collected rather than
// thrown, so one run shows the operator every mistake in the file. Pools are read by
// toml_pools.cc; the reporting and typed-value helpers both use are in toml_support.hh.
#include <toml++/toml.h>

#include <filesystem>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/wire/rrtype.hh"
#include "dns/zone/loader.hh"
#include "dns/zone/rdata.hh"
#include "dns/zone/toml_support.hh"

namespace rrdns::zone {
namespace {

namespace type = wire::type;
using namespace toml_support;

constexpr uint32_t kDefaultTtl = 3600;
constexpr int64_t kMax16 = 0xFFFF;
constexpr int64_t kMax32 = 0xFFFFFFFF;

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return asciiLower(static_cast<uint8_t>(x)) == asciiLower(static_cast<uint8_t>(y));
         });
}

// The types a record may have here: those with a one-line text form (wire/rrtype.hh).
const wire::RRType* supportedType(uint16_t rtype) {
  const wire::RRType* t = wire::findRRType(rtype);
  return t && (t->flags & wire::rrtype::kOneLine) ? t : nullptr;
}

std::string supportedList() {
  std::string list;
  for (const wire::RRType& t : wire::rrtypes())
    if (t.flags & wire::rrtype::kOneLine)
      list += (list.empty() ? "" : ", ") + std::string(t.mnemonic);
  return list;
}

bool readWholeFile(const std::string& path, std::string& text, std::string& error) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) {
    error = std::strerror(errno);
    return false;
  }
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(file);
  const int read_errno = errno;
  std::fclose(file);
  if (failed) error = std::strerror(read_errno);
  return !failed;
}

class TomlZoneReader : private TomlReporter {
 public:
  explicit TomlZoneReader(const std::string& path) : TomlReporter(path) {}

  ZoneLoad read() {
    try {
      readDocument();
    } catch (const TooManyErrors&) {
      appendUncounted(errorAt(
          path(), 0, "", "more than " + std::to_string(kMaxErrors) + " errors; stopping here"));
    }
    if (errorCount() != 0) return {takeErrors(), std::move(d_warnings)};
    return {std::move(d_zone), std::move(d_warnings)};
  }

 private:
  void readDocument() {
    std::string text, error;
    if (!readWholeFile(path(), text, error)) return reportFile("cannot read: " + error);
    toml::table root;
    try {
      root = toml::parse(text, path());
    } catch (const toml::parse_error& e) {
      return report(e.source().begin.line, "",
                    "TOML syntax error: " + std::string(e.description()));
    }
    checkKeys(root, "",
              {"origin", "ttl", "file", "soa", "names", "pools", "maps", "notify", "serial",
               "dnssec"});
    if (!readOrigin(root)) return;
    if (const auto* ttl = root.get("ttl")) d_zone_ttl = readTtl(*ttl, "ttl").value_or(kDefaultTtl);

    d_builder.emplace(d_origin, path());
    readSecondaries(root);
    const bool has_file = readStaticFile(root);
    // The SOA may come from the RFC 1035 file; two SOAs are an error from the builder.
    if (!has_file || root.contains("soa")) readSoa(root);
    if (const auto* names = root.get("names")) readNames(*names);
    // Before the pools, which name them.
    TopologyMaps maps;
    if (const auto* node = root.get("maps")) maps = readMaps(*node, *this);
    if (const auto* pools = root.get("pools"))
      readPools(*pools, d_origin, d_zone_ttl, maps, *d_builder, *this);

    Result<std::shared_ptr<Zone>> finished = d_builder->finish();
    if (finished) d_zone = std::move(finished).value();
    for (const Error& refused : finished.errors()) reportFile(refused.message);
  }

  // notify = ["ADDR[:PORT]", ...], serial = "keep" | "auto" (secondaries.hh), and the signing
  // policy: [dnssec] or dnssec = true (dnssec.hh).
  void readSecondaries(const toml::table& root) {
    ZoneSettings settings;
    if (const auto* node = root.get("notify")) settings.notify = readNotifyList(*node, "notify");
    if (const auto* node = root.get("serial")) settings.serial = readSerialPolicy(*node, "serial");
    if (const auto* node = root.get("dnssec")) settings.dnssec = readDnssecPolicy(*node, "dnssec");
    checkSignedSerial(settings, root.get("serial"), "serial");
    d_builder->setSettings(std::move(settings));
  }

  // file = "static.zone": an RFC 1035 file with the zone's static records, relative to this
  // file's directory. Returns whether the key is there.
  bool readStaticFile(const toml::table& root) {
    const auto* node = root.get("file");
    if (!node) return false;
    const std::string* name = readString(*node, "file");
    if (!name) return true;
    const std::filesystem::path relative(*name);
    const std::string file = relative.is_absolute()
                                 ? *name
                                 : (std::filesystem::path(path()).parent_path() / relative)
                                       .lexically_normal()
                                       .string();
    Result<void> read = readMasterFileInto(file, *d_builder, d_warnings);
    // At their place in the included file already.
    for (Error& error : read.errors()) appendUncounted(std::move(error));
    return true;
  }

  // --- origin and SOA ---

  bool readOrigin(const toml::table& root) {
    const auto* node = root.get("origin");
    if (!node) {
      report(0, "origin", "missing; every zone file starts with e.g. origin = \"example.com.\"");
      return false;
    }
    const std::string* text = readString(*node, "origin");
    if (!text) return false;
    std::string error;
    const std::string root_name(1, '\0');  // a trailing dot is optional: the origin is absolute
    if (!wire::nameFromText(*text, root_name, d_origin, error)) {
      report(*node, "origin", error);
      return false;
    }
    return true;
  }

  void readSoa(const toml::table& root) {
    const toml::node* node = root.get("soa");
    std::string rdata;
    uint32_t ttl = d_zone_ttl;
    if (readSoaTable(node, rdata, ttl))
      return addRecord(d_origin, type::SOA, ttl, rdata, *node, "soa");
    // A stand-in so finish() still checks the rest of the zone; the errors reported discard it
    // (and when add() refuses it, an SOA from the static file is there already).
    // Written out rather than through encodeSOA, where a contact of "@" reads as a mailbox and
    // fails, which left a SOA too short for finish() to read its serial from.
    std::string placeholder = d_origin + d_origin + std::string(20, '\0');
    (void)d_builder->add(d_origin, type::SOA, d_zone_ttl, std::move(placeholder));
  }

  bool readSoaTable(const toml::node* node, std::string& rdata, uint32_t& ttl) {
    if (!node) {
      report(0, "soa", "missing; add a [soa] table with primary, contact and serial");
      return false;
    }
    const auto* soa = node->as_table();
    if (!soa) {
      report(*node, "soa", "expected a table, got " + std::string(describe(node->type())));
      return false;
    }
    return encodeSoaTable(*soa, rdata, ttl);
  }

  bool encodeSoaTable(const toml::table& soa, std::string& rdata, uint32_t& ttl) {
    const size_t errors_before = errorCount();
    checkKeys(soa, "soa",
              {"primary", "contact", "serial", "refresh", "retry", "expire", "minimum", "ttl"});
    SoaFields fields;
    const auto* primary = require(soa, "primary", "soa", "missing (e.g. primary = \"ns1\")");
    const auto* contact = require(soa, "contact", "soa", "missing (e.g. contact = \"hostmaster\")");
    const auto* serial = require(soa, "serial", "soa", "missing (e.g. serial = 2024010101)");
    const std::string* primary_text = primary ? readString(*primary, "soa.primary") : nullptr;
    const std::string* contact_text = contact ? readString(*contact, "soa.contact") : nullptr;
    auto readTimer = [&](std::string_view key, int64_t max, uint32_t& field) {
      const auto* node = soa.get(key);
      if (!node) return;
      if (auto v = readInteger(*node, childPath("soa", key), 0, max))
        field = static_cast<uint32_t>(*v);
    };
    if (serial) readTimer("serial", kMax32, fields.serial);
    readTimer("refresh", kMax32, fields.refresh);
    readTimer("retry", kMax32, fields.retry);
    readTimer("expire", kMax32, fields.expire);
    readTimer("minimum", kMaxTtl, fields.minimum);
    if (const auto* node = soa.get("ttl")) ttl = readTtl(*node, "soa.ttl").value_or(ttl);
    if (errorCount() != errors_before) return false;

    fields.primary = *primary_text;
    fields.contact = *contact_text;
    std::string error;
    if (!encodeSOA(fields, d_origin, rdata, error)) {
      report(soa, "soa", error);
      return false;
    }
    return true;
  }

  // --- names and records ---

  void readNames(const toml::node& node) {
    const auto* names = node.as_table();
    if (!names) {
      report(node, "names", "expected a table, got " + std::string(describe(node.type())));
      return;
    }
    for (const auto& [key, value] : inFileOrder(*names)) readName(key->str(), *value);
  }

  void readName(std::string_view key, const toml::node& node) {
    const std::string path = childPath("names", key);
    const auto* types = node.as_table();
    if (!types) {
      report(node, path,
             "expected a table of record types (e.g. [names.www] with A = \"192.0.2.1\"), got " +
                 std::string(describe(node.type())));
      return;
    }
    std::string owner, error;
    if (!wire::nameFromText(key, d_origin, owner, error)) return report(node, path, error);
    if (!wire::isSubdomainOf(owner, d_origin))
      return report(
          node, path,
          "'" + wire::nameToText(owner) + "' is outside the zone " + wire::nameToText(d_origin));

    if (types->empty() || (types->size() == 1 && types->contains("ttl")))
      return report(node, path, "no records (e.g. A = \"192.0.2.1\")");
    uint32_t name_ttl = d_zone_ttl;
    if (const auto* ttl = types->get("ttl"))
      name_ttl = readTtl(*ttl, path + ".ttl").value_or(name_ttl);
    for (const auto& [type_key, value] : inFileOrder(*types)) {
      if (type_key->str() == "ttl") continue;
      const std::string type_path = childPath(path, type_key->str());
      if (const auto rtype = recordType(*type_key, *value, key, type_path))
        readRRset(owner, *rtype, *value, type_path, name_ttl);
    }
  }

  std::optional<uint16_t> recordType(const toml::key& key, const toml::node& value,
                                     std::string_view owner_key, std::string_view path) {
    const auto rtype = wire::typeFromName(key.str());
    // typeFromName also takes "TYPE1"; only mnemonics are part of the format.
    const bool mnemonic = rtype && equalsIgnoreCase(wire::typeName(*rtype), key.str());
    const uint32_t line = key.source().begin.line;
    if (mnemonic && *rtype == type::SOA) {
      report(line, path, "SOA is not allowed here; use the [soa] table");
    } else if (mnemonic && supportedType(*rtype)) {
      return rtype;
    } else if (value.is_table() && !mnemonic) {
      // [names.a.b] is TOML for the table b inside the table a, not the name a.b.
      report(line, path,
             "unknown record type '" + std::string(key.str()) +
                 "'; a name with dots must be quoted: [names.\"" + std::string(owner_key) + "." +
                 std::string(key.str()) + "\"]");
    } else {
      report(line, path,
             "unknown record type '" + std::string(key.str()) +
                 "' (supported: " + supportedList() + ")");
    }
    return std::nullopt;
  }

  // A type's value: "record", ["record", ...], { structured record }, or { ttl, data }.
  void readRRset(const std::string& owner, uint16_t rtype, const toml::node& node,
                 const std::string& path, uint32_t ttl) {
    const auto* table = node.as_table();
    // Record tables never have a ttl key, so either key marks the { ttl, data } form.
    if (!table || !(table->contains("data") || table->contains("ttl")))
      return readRecords(owner, rtype, node, path, ttl);
    checkKeys(*table, path, {"ttl", "data"});
    if (const auto* ttl_node = table->get("ttl"))
      ttl = readTtl(*ttl_node, path + ".ttl").value_or(ttl);
    const auto* data = require(*table, "data", path, "missing; the records go in data = [...]");
    if (!data) return;
    if (data->is_table())
      return report(*data, path + ".data", "expected a string or an array of records, got a table");
    readRecords(owner, rtype, *data, path + ".data", ttl);
  }

  void readRecords(const std::string& owner, uint16_t rtype, const toml::node& node,
                   const std::string& path, uint32_t ttl) {
    if (rtype == type::CNAME && !node.is_string())
      return report(node, path,
                    "CNAME takes a single name as a string, got " +
                        std::string(describe(node.type())) + " (a name has at most one CNAME)");
    const auto* array = node.as_array();
    if (!array) return readRecord(owner, rtype, node, path, ttl);
    if (array->empty())
      return report(node, path, "empty array; give at least one record or remove the key");
    for (size_t i = 0; i < array->size(); ++i)
      readRecord(owner, rtype, *array->get(i), elementPath(path, i), ttl);
  }

  void readRecord(const std::string& owner, uint16_t rtype, const toml::node& node,
                  const std::string& path, uint32_t ttl) {
    std::string rdata, error;
    if (const auto* text = node.as_string()) {
      if (!encodeText(rtype, text->get(), d_origin, rdata, error)) return report(node, path, error);
    } else if (const auto* table = node.as_table()) {
      if (!encodeTable(rtype, *table, path, rdata)) return;
    } else {
      return report(node, path,
                    "expected a record as a string (e.g. " +
                        quotedExample(*supportedType(rtype)) + ") or a table, got " +
                        std::string(describe(node.type())));
    }
    addRecord(owner, rtype, ttl, std::move(rdata), node, path);
  }

  void addRecord(std::string_view owner, uint16_t rtype, uint32_t ttl, std::string rdata,
                 const toml::node& at, std::string_view path) {
    if (Result<void> added = d_builder->add(owner, rtype, ttl, std::move(rdata)); !added)
      report(at, path, added.error().message);
  }

  // --- structured records ---

  bool encodeTable(uint16_t rtype, const toml::table& table, const std::string& path,
                   std::string& rdata) {
    switch (rtype) {
      case type::MX:
        return encodeMXTable(table, path, rdata);
      case type::SRV:
        return encodeSRVTable(table, path, rdata);
      case type::CAA:
        return encodeCAATable(table, path, rdata);
      default:
        report(table, path,
               wire::typeName(rtype) + " records have no table form; write a string such as " +
                   quotedExample(*supportedType(rtype)));
        return false;
    }
  }

  // The integer at table[key] in 0..max; `ok` turns false when it is missing or bad. `shape`
  // lists the keys of this kind of table, for the "missing" message.
  int64_t field(const toml::table& table, std::string_view key, const std::string& path,
                int64_t max, std::string_view shape, bool& ok) {
    const auto* node = require(table, key, path, "missing; " + std::string(shape));
    const auto v = node ? readInteger(*node, childPath(path, key), 0, max) : std::nullopt;
    ok = ok && v;
    return v.value_or(0);
  }

  const std::string* textField(const toml::table& table, std::string_view key,
                               const std::string& path, std::string_view shape, bool& ok) {
    const auto* node = require(table, key, path, "missing; " + std::string(shape));
    const std::string* text = node ? readString(*node, childPath(path, key)) : nullptr;
    ok = ok && text;
    return text;
  }

  bool encodeMXTable(const toml::table& table, const std::string& path, std::string& rdata) {
    checkKeys(table, path, {"preference", "exchange"});
    constexpr std::string_view shape = "an MX table has preference and exchange";
    bool ok = true;
    const auto preference = field(table, "preference", path, kMax16, shape, ok);
    const auto* exchange = textField(table, "exchange", path, shape, ok);
    return ok && finishTable(table, path, [&](std::string& error) {
             return encodeMX(static_cast<uint16_t>(preference), *exchange, d_origin, rdata, error);
           });
  }

  bool encodeSRVTable(const toml::table& table, const std::string& path, std::string& rdata) {
    checkKeys(table, path, {"priority", "weight", "port", "target"});
    constexpr std::string_view shape = "an SRV table has priority, weight, port and target";
    bool ok = true;
    const auto priority = field(table, "priority", path, kMax16, shape, ok);
    const auto weight = field(table, "weight", path, kMax16, shape, ok);
    const auto port = field(table, "port", path, kMax16, shape, ok);
    const auto* target = textField(table, "target", path, shape, ok);
    return ok && finishTable(table, path, [&](std::string& error) {
             return encodeSRV(static_cast<uint16_t>(priority), static_cast<uint16_t>(weight),
                              static_cast<uint16_t>(port), *target, d_origin, rdata, error);
           });
  }

  bool encodeCAATable(const toml::table& table, const std::string& path, std::string& rdata) {
    checkKeys(table, path, {"flags", "tag", "value"});
    constexpr std::string_view shape = "a CAA table has flags, tag and value";
    bool ok = true;
    const auto flags = field(table, "flags", path, 255, shape, ok);
    const auto* tag = textField(table, "tag", path, shape, ok);
    const auto* value = textField(table, "value", path, shape, ok);
    return ok && finishTable(table, path, [&](std::string& error) {
             return encodeCAA(static_cast<uint8_t>(flags), *tag, *value, rdata, error);
           });
  }

  template <typename Encode>
  bool finishTable(const toml::table& table, const std::string& path, Encode encode) {
    std::string error;
    if (encode(error)) return true;
    report(table, path, error);
    return false;
  }

  std::string d_origin;  // wire form
  uint32_t d_zone_ttl = kDefaultTtl;
  Errors d_warnings;  // from an included RFC 1035 file
  std::optional<ZoneBuilder> d_builder;
  std::shared_ptr<Zone> d_zone;
};

}  // namespace

ZoneLoad loadTomlZone(const std::string& path) {
  try {
    return TomlZoneReader(path).read();
  } catch (const std::exception& e) {
    return ZoneLoad{errorAt(path, 0, "", std::string("cannot load: ") + e.what()), {}};
  }
}

}  // namespace rrdns::zone
