// toml_support.hh -- what the TOML readers share: the TOML zone readers (toml_loader.cc,
// toml_pools.cc) and the server config (dns/app/config.cc). Error reporting in the
// "FILE:LINE: KEY: message" form (rrdns::Error) and reading typed values that reports what is
// wrong with them. toml++ is a private dependency of dns_zone: outside dns/zone only code that
// links toml++ itself (dns/app) may include this.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dns/base/result.hh"
#include "dns/zone/zone.hh"

namespace rrdns::zone::toml_support {

inline constexpr size_t kMaxErrors = 50;
inline constexpr int64_t kMaxTtl = 0x7FFFFFFF;  // RFC 2181 8

// Unwinds the reader once kMaxErrors problems are collected; caught in loadTomlZone's reader.
struct TooManyErrors {};

std::string_view describe(toml::node_type t);  // "a table", "an integer", ...

// Key paths as TOML would need them written: pools.www.members[1].address, names."@".NS
std::string childPath(std::string_view parent, std::string_view key);
std::string elementPath(std::string_view parent, size_t index);

// "a, b or c"
template <typename Words>
std::string listOf(const Words& words) {
  std::string text;
  size_t i = 0;
  for (std::string_view word : words) {
    if (i > 0) text += (i + 1 == words.size()) ? " or " : ", ";
    text += word;
    ++i;
  }
  return text;
}

using Entry = std::pair<const toml::key*, const toml::node*>;
// Entries of `table` in the order they appear in the file (toml::table iterates by key).
std::vector<Entry> inFileOrder(const toml::table& table);

// Collects the errors of one file. Readers report and go on, so one run shows every mistake.
class TomlReporter {
 public:
  // `max_errors`: how many errors before report() throws TooManyErrors.
  explicit TomlReporter(const std::string& path, size_t max_errors = kMaxErrors)
      : d_path(path), d_max_errors(max_errors) {}

  const std::string& path() const { return d_path; }
  size_t errorCount() const { return d_errors.size(); }
  Errors takeErrors() { return std::move(d_errors); }

  // Throws TooManyErrors instead of adding error max_errors + 1. Line 0: no line is known.
  void report(uint32_t line, std::string_view key, std::string_view message);
  void report(const toml::node& at, std::string_view key, std::string_view message) {
    report(at.source().begin.line, key, message);
  }
  void reportFile(std::string_view message) { report(0, "", message); }
  // Appends an error that does not count towards kMaxErrors (the "stopping here" note, the
  // errors of an included file).
  void appendUncounted(Error error) { d_errors.push_back(std::move(error)); }
  // Puts the errors reported since errorCount() was `mark` in line order, for readers that must
  // check things in another order than they are written (a pool's members need its check), or
  // that read the keys of a table in toml++'s order (by name) rather than the file's.
  void sortByLineSince(size_t mark);

  // Reports every key of `table` that is not in `allowed`.
  void checkKeys(const toml::table& table, std::string_view path,
                 std::initializer_list<std::string_view> allowed);

  // Each returns nothing (or nullptr) after reporting a value of the wrong type or range.
  const std::string* readString(const toml::node& node, std::string_view path);
  // `what` prefixes the value in the range message: "TTL -1 is out of range (0 to 2147483647)".
  std::optional<int64_t> readInteger(const toml::node& node, std::string_view path, int64_t min,
                                     int64_t max, std::string_view what = "");
  std::optional<uint32_t> readTtl(const toml::node& node, std::string_view path);

  // `notify = ["ADDR[:PORT]", ...]` (an empty list is allowed: no NOTIFY) and
  // `serial = "keep" | "auto"`: a zone's secondaries (secondaries.hh), in a TOML zone file or the
  // server config.
  std::optional<std::vector<NotifyTarget>> readNotifyList(const toml::node& node,
                                                          std::string_view path);
  std::optional<SerialPolicy> readSerialPolicy(const toml::node& node, std::string_view path);
  // `dnssec = true`, `dnssec = false` or a table of the policy's keys (dnssec.hh; an empty table
  // is the defaults): a TOML zone's `[dnssec]` or a server config zones entry's `dnssec`.
  // nullopt: not signed (false), or errors reported. Durations are integer seconds or a number
  // with a unit: "90s", "30m", "2h", "14d".
  std::optional<DnssecPolicy> readDnssecPolicy(const toml::node& node, std::string_view path);
  // A signed zone's serial must rise as its signatures are refreshed: `serial = "keep"` beside
  // `dnssec` is reported at `serial_node`.
  void checkSignedSerial(const ZoneSettings& settings, const toml::node* serial_node,
                         std::string_view path);

  // The node at `key`, or nullptr after reporting it missing (`message` says what belongs there).
  const toml::node* require(const toml::table& table, std::string_view key, std::string_view path,
                            std::string_view message);

 private:
  const std::string& d_path;
  size_t d_max_errors;
  Errors d_errors;
};

// The topology maps of one zone file by name. A map with errors (reported) is there as null, so
// that a pool naming it adds no error of its own.
using TopologyMaps =
    std::map<std::string, std::shared_ptr<const topology::TopologyMap>, std::less<>>;

// Reads the top-level `maps` table (toml_maps.cc); nets and GeoIP files are relative to the
// zone file's directory.
TopologyMaps readMaps(const toml::node& maps, TomlReporter& reporter);

// Reads the top-level `pools` table into `builder` (toml_pools.cc). `zone_ttl` is the default
// pool TTL; `origin` (wire) anchors relative names; `maps` are the ones pools may name.
void readPools(const toml::node& pools, const std::string& origin, uint32_t zone_ttl,
               const TopologyMaps& maps, ZoneBuilder& builder, TomlReporter& reporter);

}  // namespace rrdns::zone::toml_support
