// dnssec_test_util.hh -- what the dnssec unit tests share: a private scratch key directory, wire
// names from text, hex, and running the independent checkers (ldns-verify-zone, ldns-key2ds)
// over zone text written in RFC 3597's generic form, so that no presentation code of ours sits
// between what we signed and what they check.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dns/wire/name.hh"

namespace dnssectest {

// A fresh directory under the system's temporary one, 0700 as a key directory must be; removed
// with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rrdns-dnssec-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    d_path = tmpl;
    REQUIRE(chmod(d_path.c_str(), 0700) == 0);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(d_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return d_path; }

 private:
  std::string d_path;
};

inline std::string wireName(std::string_view text) {
  std::string out, error;
  REQUIRE_MESSAGE(rrdns::wire::nameFromText(text, "", out, error), error);
  return out;
}

inline std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(digits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(digits[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

// One record in RFC 3597 generic form: "owner TTL IN TYPEn \# len hex".
inline std::string genericRecord(std::string_view owner, uint32_t ttl, uint16_t rtype,
                                 std::string_view rdata) {
  return rrdns::wire::nameToText(owner) + " " + std::to_string(ttl) + " IN TYPE" +
         std::to_string(rtype) + " \\# " + std::to_string(rdata.size()) + " " +
         (rdata.empty() ? std::string() : hex(rdata)) + "\n";
}

inline void writeFile(const std::string& path, std::string_view text) {
  std::ofstream out(path);
  out << text;
  REQUIRE(out.good());
}

// Runs `command` through the shell; its exit status and what it printed (stdout and stderr).
inline std::pair<int, std::string> run(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

inline uint32_t u32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t i = at; i < at + 4; ++i) v = v << 8 | static_cast<uint8_t>(s[i]);
  return v;
}
inline uint16_t u16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) << 8 | static_cast<uint8_t>(s[at + 1]));
}

}  // namespace dnssectest
