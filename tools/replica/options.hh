// options.hh -- the rrdns-replica command line. Option names are an interface: scripts use them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rrdns::replica {

// A numeric IPv4 or bracketed IPv6 address and a port, as --listen takes it.
struct ListenAddress {
  std::string host;  // without brackets, as the socket layer wants it
  int port = 0;      // 0 = let the kernel pick; text() then shows the port actually bound
  bool v6 = false;

  std::string text() const;  // "127.0.0.11:8080" or "[::1]:8080"
};

struct CommandLine {
  bool help = false;
  bool version = false;
  ListenAddress listen;
  std::string name;  // defaults to listen.text() once the port is known
  int latency_ms = 0;
  std::optional<int> weight;  // --weight; nullopt = no load-feedback header
  bool unhealthy = false;
};

inline constexpr int kMaxWeight = 100;
inline constexpr int kMaxLatencyMs = 60'000;

// Fills `out` from argv. Returns "" or what is wrong, for a usage error (exit status 2).
std::string parseCommandLine(int argc, char** argv, CommandLine& out);

std::optional<ListenAddress> parseListenAddress(std::string_view text);

// A decimal integer in [lo, hi], the whole string and nothing else.
std::optional<int> parseBoundedInt(std::string_view text, int lo, int hi);

std::string usage();

}  // namespace rrdns::replica
