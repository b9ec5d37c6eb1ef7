// command_line.cc -- from rrdnsctl's argv to the request object, with usage errors spelled out.
#include "tools/rrdnsctl/command_line.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <climits>
#include <map>
#include <set>
#include <vector>

namespace rrdns::ctl {

const std::string kUsage =
    "usage: rrdnsctl [--socket PATH] [--json[=pretty]] [--timeout SECONDS] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  reload [ZONE]                              reload all zones, or one\n"
    "  check                                      check the zones without applying them\n"
    "  status                                     the daemon at a glance\n"
    "  pool NAME                                  one pool and its members\n"
    "  drain MEMBER [--for DURATION] [--pool NAME]\n"
    "                                             take a member out of answers (for a while)\n"
    "  undrain MEMBER [--pool NAME]               put a drained member back\n"
    "  weight MEMBER N|auto [--pool NAME]         set a member's weight, 0 to " +
    std::to_string(control::kMaxWeight) + " (auto: the zone file's)\n"
    "  mark MEMBER up|down|auto [--pool NAME]     override health checks (auto: follow them)\n"
    "  stats                                      counters\n"
    "  explain NAME [TYPE] [--client ADDR] [--subnet CIDR]\n"
    "                                             how the answer for NAME (TYPE, default A) is\n"
    "                                             made, for a query from ADDR or for ECS CIDR\n"
    "  dnssec status [ZONE]                       signed zones, their keys and signatures\n"
    "  dnssec ds ZONE                             the DS records for the parent (only them)\n"
    "  dnssec rollover ZONE ksk|zsk|csk           start a key rollover now\n"
    "  dnssec submitted ZONE                      the parent has the new KSK's DS: retire the old\n"
    "  replace [--binary PATH]                    a new rrdnsd (PATH, default the running binary)\n"
    "                                             takes over the sockets; prints its pid\n"
    "\n"
    "options:\n"
    "  --socket PATH       control socket (default: $RRDNS_CONTROL, else /run/rrdns/control.sock)\n"
    "  --json[=pretty]     print the daemon's JSON response as received (pretty: indented)\n"
    "  --timeout SECONDS   give up waiting for the reply after this long\n"
    "                      (default 30; replace: 150)\n"
    "  -h, --help, --version\n"
    "\n"
    "DURATION: seconds (90), or with units s, m, h, d (30s, 5m, 1h30m).\n"
    "exit status: 0 ok; 1 rrdnsd reported an error; 2 usage error;\n"
    "             3 no answer (cannot connect, timeout, connection closed, permission denied)\n";

namespace {

struct CommandSpec {
  size_t min_args;
  size_t max_args;
  std::set<std::string> options;  // command options it accepts
};

const std::map<std::string, CommandSpec>& commands() {
  static const std::map<std::string, CommandSpec> specs = {
      {"reload", {0, 1, {}}},       {"check", {0, 0, {}}},
      {"status", {0, 0, {}}},       {"pool", {1, 1, {}}},
      {"drain", {1, 1, {"for", "pool"}}},
      {"undrain", {1, 1, {"pool"}}},
      {"weight", {2, 2, {"pool"}}}, {"mark", {2, 2, {"pool"}}},
      {"stats", {0, 0, {}}},        {"explain", {1, 2, {"client", "subnet"}}},
      {"replace", {0, 0, {"binary"}}},   {"dnssec", {1, 3, {}}},
  };
  return specs;
}

bool isNumber(const std::string& text) {
  return text.size() > 1 && text[0] == '-' && (std::isdigit(static_cast<unsigned char>(text[1])) || text[1] == '.');
}

std::optional<double> parsePositive(const std::string& text) {
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.'))
    return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value) || value <= 0) return std::nullopt;
  return value;
}

bool isAddress(const std::string& text) {
  unsigned char bytes[16];
  return inet_pton(AF_INET, text.c_str(), bytes) == 1 ||
         inet_pton(AF_INET6, text.c_str(), bytes) == 1;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Whole seconds go out as integers, so a handler reading an int is not surprised by 300.0.
control::Json number(double value) {
  if (value == std::floor(value) && value < 9e15) return static_cast<long long>(value);
  return value;
}

}  // namespace

std::optional<double> parseDuration(const std::string& text) {
  double total = 0;
  std::string units_seen;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    while (pos < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.'))
      ++pos;
    if (pos == start) return std::nullopt;
    std::string digits = text.substr(start, pos - start);
    char* end = nullptr;
    double value = std::strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size()) return std::nullopt;  // "." or "1.2.3"
    if (pos == text.size()) {
      if (start != 0) return std::nullopt;  // "1h30": the 30 has no unit
      total = value;                        // a bare number is seconds
      break;
    }
    char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text[pos++])));
    double scale = unit == 's'   ? 1
                   : unit == 'm' ? 60
                   : unit == 'h' ? 3600
                   : unit == 'd' ? 86400
                                 : 0;
    if (scale == 0 || units_seen.find(unit) != std::string::npos) return std::nullopt;
    units_seen += unit;
    total += value * scale;
  }
  if (!std::isfinite(total) || total <= 0) return std::nullopt;
  return total;
}

std::optional<CommandLine> parseCommandLine(int argc, char** argv, std::string& error) {
  CommandLine line;
  std::vector<std::string> positional;
  std::map<std::string, std::string> command_options;
  bool options_done = false;
  std::optional<std::string> socket, timeout;

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-" || isNumber(arg)) {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      line.action = CommandLine::Action::Help;
      return line;
    }
    if (arg == "--version") {
      line.action = CommandLine::Action::Version;
      return line;
    }
    if (arg.rfind("--", 0) != 0) {
      error = "unknown option " + arg;
      return std::nullopt;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (name == "json") {
      if (!value || *value == "line") {
        line.output = CommandLine::Output::Json;
      } else if (*value == "pretty") {
        line.output = CommandLine::Output::JsonPretty;
      } else {
        error = "--json takes no value or =pretty, not '" + *value + "'";
        return std::nullopt;
      }
      continue;
    }
    if (name != "socket" && name != "timeout" && name != "for" && name != "pool" &&
        name != "binary" && name != "client" && name != "subnet") {
      error = "unknown option --" + name;
      return std::nullopt;
    }
    if (!value) {
      if (i + 1 >= argc) {
        error = "--" + name + " needs a value";
        return std::nullopt;
      }
      value = argv[++i];
    }
    if (value->empty()) {
      error = "--" + name + " needs a non-empty value";
      return std::nullopt;
    }
    if (name == "socket") {
      socket = *value;
    } else if (name == "timeout") {
      timeout = *value;
    } else {
      command_options[name] = *value;
    }
  }

  if (socket) {
    line.socket = *socket;
  } else if (const char* env = std::getenv("RRDNS_CONTROL"); env != nullptr && *env != '\0') {
    line.socket = env;
  } else {
    line.socket = kDefaultSocket;
  }
  if (timeout) {
    auto seconds = parsePositive(*timeout);
    if (!seconds || *seconds > 86400 * 365) {
      error = "--timeout needs a number of seconds greater than 0, not '" + *timeout + "'";
      return std::nullopt;
    }
    line.timeout_s = *seconds;
  }

  if (positional.empty()) {
    error = "no command given";
    return std::nullopt;
  }
  const std::string command = positional[0];
  auto spec = commands().find(command);
  if (spec == commands().end()) {
    error = "unknown command '" + command + "'";
    return std::nullopt;
  }
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  if (args.size() < spec->second.min_args) {
    error = command + ": missing argument";
    return std::nullopt;
  }
  if (args.size() > spec->second.max_args) {
    error = command + ": unexpected argument '" + args[spec->second.max_args] + "'";
    return std::nullopt;
  }
  for (const auto& [name, value] : command_options) {
    if (!spec->second.options.count(name)) {
      error = command + " does not take --" + name;
      return std::nullopt;
    }
  }

  control::Json& request = line.request;
  request = {{"v", control::kProtocolVersion}, {"cmd", command}};
  if (command == "reload") {
    if (!args.empty()) request["zone"] = args[0];
  } else if (command == "pool") {
    request["name"] = args[0];
  } else if (command == "drain" || command == "undrain" || command == "weight" ||
             command == "mark") {
    request["member"] = args[0];
    if (command == "drain" && command_options.count("for")) {
      auto seconds = parseDuration(command_options["for"]);
      if (!seconds) {
        error = "drain --for needs a duration like 90, 30s, 5m or 1h, not '" +
                command_options["for"] + "'";
        return std::nullopt;
      }
      request["for_s"] = number(*seconds);
    }
    if (command == "weight") {
      const std::string& n = args[1];
      const bool digits =
          !n.empty() && n.size() <= 10 &&
          std::all_of(n.begin(), n.end(), [](unsigned char c) { return std::isdigit(c); });
      const unsigned long long weight = digits ? std::strtoull(n.c_str(), nullptr, 10) : 0;
      if (lowercase(n) == "auto") {
        request["weight"] = "auto";
      } else if (!digits || weight > control::kMaxWeight) {
        error = "weight needs a whole number from 0 to " + std::to_string(control::kMaxWeight) +
                ", or auto, not '" + n + "'";
        return std::nullopt;
      } else {
        request["weight"] = weight;
      }
    }
    if (command == "mark") {
      const std::string state = lowercase(args[1]);
      if (state != "up" && state != "down" && state != "auto") {
        error = "mark needs up, down or auto, not '" + args[1] + "'";
        return std::nullopt;
      }
      request["state"] = state;
    }
    if (command_options.count("pool")) request["pool"] = command_options["pool"];
  } else if (command == "replace") {
    // The new daemon is started by rrdnsd, from its own working directory: send a full path.
    if (command_options.count("binary")) {
      std::string binary = command_options["binary"];
      if (binary[0] != '/') {
        char* absolute = ::realpath(binary.c_str(), nullptr);
        if (absolute == nullptr) {
          error = "replace --binary: cannot find '" + binary + "'";
          return std::nullopt;
        }
        binary = absolute;
        std::free(absolute);
      }
      request["binary"] = binary;
    }
    // Loading the zones takes the new daemon a while; waiting 30 s could give up on a replace
    // that is going well (rrdnsd itself gives up after 120 s).
    if (!timeout) line.timeout_s = kReplaceTimeoutSeconds;
  } else if (command == "dnssec") {
    // dnssec status [ZONE] | ds ZONE | rollover ZONE ksk|zsk|csk | submitted ZONE
    const std::string& action = args[0];
    const std::map<std::string, std::pair<size_t, size_t>> arity = {
        {"status", {1, 2}}, {"ds", {2, 2}}, {"rollover", {3, 3}}, {"submitted", {2, 2}}};
    auto known = arity.find(action);
    if (known == arity.end()) {
      error = "dnssec needs status, ds, rollover or submitted, not '" + action + "'";
      return std::nullopt;
    }
    if (args.size() < known->second.first || args.size() > known->second.second) {
      error = action == "status"     ? "dnssec status takes at most one zone"
              : action == "rollover" ? "dnssec rollover needs ZONE and ksk, zsk or csk"
                                     : "dnssec " + action + " needs one ZONE";
      return std::nullopt;
    }
    request["action"] = action;
    if (args.size() > 1) request["zone"] = args[1];
    if (action == "rollover") {
      const std::string role = lowercase(args[2]);
      if (role != "ksk" && role != "zsk" && role != "csk") {
        error = "dnssec rollover needs ksk, zsk or csk, not '" + args[2] + "'";
        return std::nullopt;
      }
      request["role"] = role;
    }
  } else if (command == "explain") {
    request["name"] = args[0];
    std::string type = args.size() > 1 ? args[1] : "A";
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    request["type"] = type;
    if (command_options.count("client")) {
      const std::string& client = command_options["client"];
      if (!isAddress(client)) {
        error = "explain --client needs an IP address, not '" + client + "'";
        return std::nullopt;
      }
      request["client"] = client;
    }
    if (command_options.count("subnet")) {
      const std::string& subnet = command_options["subnet"];
      const size_t slash = subnet.find('/');
      const std::string length = slash == std::string::npos ? "0" : subnet.substr(slash + 1);
      if (!isAddress(subnet.substr(0, slash)) || length.empty() || length.size() > 3 ||
          length.find_first_not_of("0123456789") != std::string::npos) {
        error = "explain --subnet needs ADDRESS/PREFIX (10.1.2.0/24, 2001:db8::/48), not '" +
                subnet + "'";
        return std::nullopt;
      }
      request["subnet"] = subnet;
    }
  }
  return line;
}

}  // namespace rrdns::ctl
