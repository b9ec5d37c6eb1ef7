// config.hh -- the server configuration: from a TOML file (--config) or from quick-mode options.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns/app/options.hh"
#include "dns/base/result.hh"
#include "dns/server/address.hh"
#include "dns/server/settings.hh"
#include "dns/zone/loader.hh"
#include "dns/zone/secondaries.hh"

namespace rrdns::app {

struct Config {
  std::string source;  // the config file; empty in quick mode
  std::vector<server::ListenAddress> listen;
  std::vector<std::string> zones;  // relative to the config file's directory already resolved
  // notify/serial given with a zones entry ({ file = "...", notify = [...], serial = "auto" }),
  // by the path in `zones`.
  zone::ZoneFileSettingsMap zone_settings;
  std::vector<zone::NotifyTarget> notify;  // server-wide secondaries (zones without their own)
  unsigned threads = 0;            // 0: one per core
  spdlog::level::level_enum log_level = spdlog::level::info;
  uint16_t udp_max_payload = 1232;
  unsigned tcp_idle_timeout = 10;  // seconds
  unsigned tcp_max_connections = 0;  // 0: not set; serverSettings() takes half the fd limit
  unsigned tcp_max_connections_per_client = 10;  // 0: no per-client limit
  unsigned rate_limit = 0;                       // UDP responses/s per client prefix; 0: off
  unsigned rate_limit_slip = 2;                  // every Nth limited response goes out TC
  unsigned rate_limit_table_size = 393241;       // buckets per worker thread
  std::string user;  // switch to this user once bound; empty: stay who we are
  std::string control;     // control socket path; empty: none
  std::string state_file;  // where operator overrides persist; empty: memory only
  std::string key_directory;  // DNSSEC keys (dnssec_zones.hh); empty: no zone may be signed
  std::string metrics;     // Prometheus listen address ("127.0.0.1:9153"); empty: off
  std::vector<server::AddressPrefix> allow_transfer;  // AXFR/IXFR clients; empty: nobody
  std::string resolver;  // DNS servers for member discovery ("127.0.0.1:5300"); "": resolv.conf
  // What the server says about itself (CH TXT, NSID), each at most 255 bytes; "": not said.
  std::optional<std::string> identity;  // unset: the host name
  std::optional<std::string> version;   // unset: "rrdns " and the version
  bool nsid = false;                    // send an NSID (RFC 5001) to queries that ask
  std::string nsid_text;                // ... this one; "": the identity
  bool edns_client_subnet = true;  // read ECS (RFC 7871) and send it back (answer::Options)
};

// The config, or every error in it ("file:line: key: message" as Error::text() puts it).
using ConfigLoad = Result<Config>;

// Reads a server config file. Keys are kebab-case; unknown keys are errors. Never throws.
ConfigLoad loadConfigFile(const std::string& path);

// What the command line asks for: the config file with --threads, --log-level (and the other
// overrides, --allow-transfer replacing the file's list) applied on top, or in quick mode a Config made of the options. Called again on every reload.
ConfigLoad resolveConfig(const CommandLine& command_line);

// The settings the workers run with (threads 0 becomes the number of cores, an unset
// tcp-max-connections defaultTcpMaxConnections(); identity, version and NSID resolved to the
// text sent).
server::ServerSettings serverSettings(const Config& config);

// tcp-max-connections when the config does not set it: half the soft limit on open files
// (RLIMIT_NOFILE), as Knot DNS sizes tcp-max-clients, leaving the other half for everything
// else; 100 if the limit cannot be read; at most 1,000,000 (the key's own range).
unsigned defaultTcpMaxConnections();

}  // namespace rrdns::app
