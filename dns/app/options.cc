// options.cc -- parsing argv into a CommandLine.
#include "dns/app/options.hh"

#include <charconv>

// Set by CMake from the install prefix (GNUInstallDirs' sysconfdir): /etc/rrdns/rrdnsd.toml for
// the Debian package.
#ifndef RRDNS_DEFAULT_CONFIG
#define RRDNS_DEFAULT_CONFIG "/etc/rrdns/rrdnsd.toml"
#endif

namespace rrdns::app {

const char* const kDefaultConfig = RRDNS_DEFAULT_CONFIG;

std::string synopsis() {
  return "usage: rrdnsd [--config FILE] [--threads N] [--log-level LEVEL] [--check]\n"
         "              [--identity NAME] [--nsid]\n"
         "       rrdnsd --listen ADDR:PORT [--listen ...] [--threads N] [--log-level LEVEL]\n"
         "              [--control PATH] [--state-file PATH] [--metrics ADDR:PORT]\n"
         "              [--key-directory DIR]\n"
         "              [--allow-transfer ADDR[/LEN] ...] [--notify ADDR[:PORT] ...]\n"
         "              [--resolver ADDR[:PORT],...]\n"
         "              [--user NAME] [--tcp-max-connections-per-client N]\n"
         "              [--identity NAME] [--nsid]\n"
         "              [--check] ZONEFILE...\n"
         "       rrdnsd --help | --version\n";
}

std::string usage() {
  return synopsis() +
         "\n"
         "  --config FILE       server configuration (TOML): listen addresses, zones, limits\n"
         "                      (default: " RRDNS_DEFAULT_CONFIG ")\n"
         "  --listen ADDR:PORT  serve UDP and TCP on 127.0.0.1:5353 or [::1]:5353 (repeatable)\n"
         "  --zone FILE         a zone file, the same as giving it as an argument (repeatable)\n"
         "  --threads N         worker threads (default: one per CPU core)\n"
         "  --log-level LEVEL   trace, debug, info, warn, error or off (default: info)\n"
         "  --control PATH      control socket for rrdnsctl (mode 0600, owner only)\n"
         "  --state-file PATH   keep drain/weight/mark and health over restarts in this file\n"
         "  --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics\n"
         "  --key-directory DIR DNSSEC keys and their state (one directory per signed zone;\n"
         "                      needed when a zone is signed)\n"
         "  --allow-transfer ADDR[/LEN]\n"
         "                      allow zone transfers (AXFR over TCP; IXFR: the SOA when current,\n"
         "                      else the whole zone over TCP)\n"
         "                      from this address or prefix (repeatable; default: nobody)\n"
         "  --notify ADDR[:PORT]\n"
         "                      send NOTIFY to this secondary (port 53 by default) when a zone's\n"
         "                      serial changes, for zones that name none (repeatable)\n"
         "  --resolver ADDR[:PORT],...\n"
         "                      DNS servers that pool member discovery (discover = \"name\")\n"
         "                      asks (default: those of /etc/resolv.conf)\n"
         "  --user NAME         after binding every socket, switch to this user and its groups\n"
         "  --tcp-max-connections-per-client N\n"
         "                      open TCP connections one client address may hold (default 10,\n"
         "                      0: no limit)\n"
         "  --identity NAME     what CH TXT id.server and hostname.bind answer, and the NSID\n"
         "                      with --nsid (default: the host name)\n"
         "  --nsid              send the identity as NSID (RFC 5001) to queries that ask\n"
         "  --check             load the configuration and zones, report, exit; binds nothing\n"
         "  -h, --help          this text\n"
         "  --version           the version\n"
         "\n"
         "Zone files ending in .toml are TOML zones; any other name is an RFC 1035 master file.\n"
         "SIGHUP reloads the zones (and with --config, the config's zone list); SIGTERM or\n"
         "SIGINT stops.\n";
}

std::optional<spdlog::level::level_enum> parseLogLevel(std::string_view name) {
  using namespace spdlog::level;
  if (name == "trace") return trace;
  if (name == "debug") return debug;
  if (name == "info") return info;
  if (name == "warn") return warn;
  if (name == "error") return err;
  if (name == "off") return off;
  return std::nullopt;
}

Result<CommandLine> parseCommandLine(int argc, char** argv) {
  CommandLine out;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
      out.zones.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }

    // Both "--name value" and "--name=value".
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    auto takesValue = [&](std::string_view n) {
      return n == "--config" || n == "--listen" || n == "--zone" || n == "--threads" ||
             n == "--log-level" || n == "--control" || n == "--state-file" || n == "--metrics" ||
             n == "--key-directory" ||
             n == "--allow-transfer" || n == "--notify" || n == "--resolver" || n == "--user" ||
             n == "--tcp-max-connections-per-client" || n == "--identity";
    };
    if (!takesValue(name)) {
      if (inline_value) return error(std::string(name) + " takes no value");
      if (name == "--help" || name == "-h") {
        out.help = true;
      } else if (name == "--version") {
        out.version = true;
      } else if (name == "--check") {
        out.check = true;
      } else if (name == "--nsid") {
        out.nsid = true;
      } else {
        return error("unknown option '" + std::string(arg) + "'");
      }
      continue;
    }
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return error(std::string(name) + " needs a value");
    }

    if (name == "--config") {
      if (!out.config.empty()) return error("--config given twice");
      if (value.empty()) return error("--config needs a file name");
      out.config = value;
    } else if (name == "--listen") {
      std::string why;
      auto address = server::parseListenAddress(value, why);
      if (!address) return error("--listen " + why);
      for (const auto& known : out.listen)
        if (known == *address) return error("--listen " + address->text + " given twice");
      out.listen.push_back(std::move(*address));
    } else if (name == "--zone") {
      if (value.empty()) return error("--zone needs a file name");
      out.zones.emplace_back(value);
    } else if (name == "--threads") {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n < 1 ||
          n > 1024)
        return error("--threads must be a number from 1 to 1024, not '" + std::string(value) + "'");
      out.threads = n;
    } else if (name == "--control" || name == "--state-file" || name == "--metrics") {
      if (value.empty()) return error(std::string(name) + " needs a value");
      (name == "--control" ? out.control : name == "--state-file" ? out.state_file : out.metrics) =
          std::string(value);
    } else if (name == "--key-directory") {
      if (value.empty()) return error("--key-directory needs a directory");
      out.key_directory = std::string(value);
    } else if (name == "--allow-transfer") {
      std::string why;
      auto prefix = server::parseAddressPrefix(value, why);
      if (!prefix) return error("--allow-transfer " + why);
      bool duplicate = false;
      for (const auto& known : out.allow_transfer) duplicate = duplicate || known == *prefix;
      if (!duplicate) out.allow_transfer.push_back(std::move(*prefix));
    } else if (name == "--notify") {
      std::string why;
      auto target = zone::parseNotifyTarget(value, why);
      if (!target) return error("--notify " + why);
      for (const auto& known : out.notify)
        if (known == *target) return error("--notify " + target->text + " given twice");
      out.notify.push_back(std::move(*target));
    } else if (name == "--user") {
      if (value.empty()) return error("--user needs a user name");
      out.user = std::string(value);
    } else if (name == "--tcp-max-connections-per-client") {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n > 1000000)
        return error("--tcp-max-connections-per-client must be a number from 0 to 1000000, not '" +
                     std::string(value) + "'");
      out.tcp_max_connections_per_client = n;
    } else if (name == "--identity") {
      if (value.empty()) return error("--identity needs a name (identity = \"\" in a config "
                                      "file turns the CH TXT answer off)");
      if (value.size() > 255)
        return error("--identity must be at most 255 bytes (one TXT string)");
      out.identity = std::string(value);
    } else if (name == "--resolver") {
      if (value.empty()) return error("--resolver needs a value");
      out.resolver = std::string(value);
    } else if (name == "--log-level") {
      out.log_level = parseLogLevel(value);
      if (!out.log_level)
        return error("--log-level must be trace, debug, info, warn, error or off, not '" +
                     std::string(value) + "'");
    }
  }

  if (out.help || out.version) return out;
  if (!out.config.empty()) {
    if (!out.listen.empty() || !out.zones.empty())
      return error(
          "--config cannot be combined with --listen or zone files: list them in the config");
    return out;
  }
  // Neither quick mode's addresses nor its zones: the installed configuration.
  if (out.listen.empty() && out.zones.empty()) {
    out.config = kDefaultConfig;
    return out;
  }
  if (out.zones.empty()) return error("no zone files (give ZONEFILE... or --config FILE)");
  if (out.listen.empty() && !out.check) return error("at least one --listen ADDR:PORT is required");
  return out;
}

}  // namespace rrdns::app
