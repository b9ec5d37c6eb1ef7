// options.hh -- the rrdnsd command line. The option names are an interface: scripts use them.
#pragma once

#include <spdlog/common.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/base/result.hh"
#include "dns/server/address.hh"
#include "dns/server/settings.hh"
#include "dns/zone/secondaries.hh"

namespace rrdns::app {

struct CommandLine {
  bool help = false;
  bool version = false;
  bool check = false;
  std::string config;                                  // --config FILE or kDefaultConfig
  std::vector<server::ListenAddress> listen;           // --listen (quick mode)
  std::vector<std::string> zones;                      // arguments and --zone (quick mode)
  std::optional<unsigned> threads;                     // --threads, overrides the config file
  std::optional<spdlog::level::level_enum> log_level;  // --log-level, overrides it too
  std::optional<std::string> control;                  // --control PATH
  std::optional<std::string> state_file;               // --state-file PATH
  std::optional<std::string> key_directory;            // --key-directory DIR
  std::optional<std::string> metrics;                  // --metrics ADDR:PORT
  std::vector<server::AddressPrefix> allow_transfer;   // --allow-transfer ADDR[/LEN]
  std::vector<zone::NotifyTarget> notify;              // --notify ADDR[:PORT]
  std::optional<std::string> user;                     // --user NAME: run as NAME once bound
  std::optional<unsigned> tcp_max_connections_per_client;  // --tcp-max-connections-per-client
  std::optional<std::string> resolver;                 // --resolver ADDR[:PORT][,...]
  std::optional<std::string> identity;                 // --identity NAME
  bool nsid = false;                                   // --nsid
};

// The server configuration rrdnsd reads when given neither --config nor --listen and zone files.
extern const char* const kDefaultConfig;

// Reads argv; an error is what is wrong, for a usage error (exit status 2).
Result<CommandLine> parseCommandLine(int argc, char** argv);

// The full usage text, for --help.
std::string usage();

// Its first lines, after a usage error.
std::string synopsis();

// trace, debug, info, warn, error, off.
std::optional<spdlog::level::level_enum> parseLogLevel(std::string_view name);

}  // namespace rrdns::app
