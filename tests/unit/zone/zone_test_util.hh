// zone_test_util.hh -- helpers the zone module's tests share: names, fixture paths, zones
// written to temporary files and their error reports.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/zone/loader.hh"

namespace zonetest {

using rrdns::zone::loadTomlZone;
using rrdns::zone::Zone;
using rrdns::zone::ZoneLoad;

inline std::string wireName(std::string_view text) {
  std::string out, error;
  REQUIRE_MESSAGE(rrdns::wire::nameFromText(text, "", out, error), error);
  return out;
}

inline std::string bytes(std::initializer_list<uint8_t> values) {
  return std::string(values.begin(), values.end());
}

inline std::string sourcePath(std::string_view relative) {
  return std::string(RRDNS_SOURCE_DIR) + "/" + std::string(relative);
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// The lines operators see: each error's text(), none when `result` holds a value.
template <typename T>
std::vector<std::string> errorLines(const rrdns::Result<T>& result) {
  return rrdns::texts(result.errors());
}
inline std::vector<std::string> errorLines(const ZoneLoad& load) { return errorLines(load.zone); }
inline std::vector<std::string> errorLines(const rrdns::zone::ZoneSetLoad& load) {
  return errorLines(load.zones);
}
inline std::string joined(const rrdns::Errors& errors) { return joined(rrdns::texts(errors)); }

// The message of what add() refused, or "".
inline std::string messageOf(const rrdns::Result<void>& added) {
  return added.ok() ? std::string() : added.error().message;
}

inline const Zone& loaded(const ZoneLoad& load) {
  REQUIRE_MESSAGE(load.zone.ok(), joined(errorLines(load)));
  REQUIRE(*load.zone);
  return **load.zone;
}

class TempFile {
 public:
  explicit TempFile(std::string_view text, std::string_view suffix = ".toml") {
    static int counter = 0;
    d_path = (std::filesystem::temp_directory_path() /
              ("rrdns-zone-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter) +
               std::string(suffix)))
                 .string();
    std::ofstream(d_path, std::ios::binary) << text;
  }
  ~TempFile() { std::filesystem::remove(d_path); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return d_path; }

 private:
  std::string d_path;
};

// A zone written to a temporary file and loaded.
class TextZone {
 public:
  explicit TextZone(std::string_view text) : d_file(text), d_load(loadTomlZone(d_file.path())) {}

  const std::string& path() const { return d_file.path(); }
  const ZoneLoad& load() const { return d_load; }
  std::vector<std::string> errors() const { return errorLines(d_load); }

  // "FILE:LINE: KEY: ", the start of an error line.
  std::string at(int line, std::string_view key) const {
    return path() + ":" + std::to_string(line) + ": " + std::string(key) + ": ";
  }
  // True when one error starts with `prefix` and contains `message`.
  bool has(std::string_view prefix, std::string_view message) const {
    for (const auto& error : errors())
      if (error.starts_with(prefix) && error.find(message, prefix.size()) != std::string::npos)
        return true;
    return false;
  }
  std::string dump() const { return "errors:\n" + joined(errors()); }

 private:
  TempFile d_file;
  ZoneLoad d_load;
};

#define CHECK_ERROR(zone, prefix, message) CHECK_MESSAGE((zone).has(prefix, message), (zone).dump())

// A valid zone; tests append their names or pools after it, so their first line is
// kHeaderLines + 1.
constexpr std::string_view kHeader = R"(origin = "t.test."
[soa]
primary = "ns1"
contact = "hostmaster"
serial = 1
[names."@"]
NS = "ns1"
)";
constexpr int kHeaderLines = 7;

inline std::string withHeader(std::string_view body) {
  return std::string(kHeader) + std::string(body);
}

}  // namespace zonetest
