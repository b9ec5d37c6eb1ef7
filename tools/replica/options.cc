// options.cc -- parsing and validating the rrdns-replica command line.
#include "tools/replica/options.hh"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace rrdns::replica {

std::string ListenAddress::text() const {
  std::string port_text = std::to_string(port);
  return v6 ? "[" + host + "]:" + port_text : host + ":" + port_text;
}

std::optional<int> parseBoundedInt(std::string_view text, int lo, int hi) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < lo || value > hi)
    return std::nullopt;
  return value;
}

std::optional<ListenAddress> parseListenAddress(std::string_view text) {
  ListenAddress out;
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    out.v6 = true;
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  // Numeric only: a replica stands for one address that DNS answers hand out, so a name that
  // resolves to several (or to something else tomorrow) would make the demo lie.
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(out.v6 ? AF_INET6 : AF_INET, out.host.c_str(), buffer) != 1) return std::nullopt;
  auto port = parseBoundedInt(port_text, 0, 65535);
  if (!port) return std::nullopt;
  out.port = *port;
  return out;
}

namespace {

// "--opt VALUE" or "--opt=VALUE"; advances i past a separate value.
bool takeValue(int argc, char** argv, int& i, std::string_view option, std::string& value,
               std::string& error) {
  std::string_view arg = argv[i];
  if (arg.size() > option.size() && arg[option.size()] == '=') {
    value = std::string(arg.substr(option.size() + 1));
    return true;
  }
  if (i + 1 >= argc) {
    error = std::string(option) + " needs a value";
    return false;
  }
  value = argv[++i];
  return true;
}

bool isOption(std::string_view arg, std::string_view option) {
  return arg == option ||
         (arg.starts_with(option) && arg.size() > option.size() && arg[option.size()] == '=');
}

}  // namespace

std::string parseCommandLine(int argc, char** argv, CommandLine& out) {
  bool have_listen = false;
  std::string error;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value;
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      return "";
    } else if (arg == "--version") {
      out.version = true;
      return "";
    } else if (arg == "--unhealthy") {
      out.unhealthy = true;
    } else if (isOption(arg, "--listen")) {
      if (!takeValue(argc, argv, i, "--listen", value, error)) return error;
      auto listen = parseListenAddress(value);
      if (!listen)
        return "bad --listen '" + value + "': want IPV4:PORT or [IPV6]:PORT, numeric, port 0-65535";
      out.listen = *listen;
      have_listen = true;
    } else if (isOption(arg, "--name")) {
      if (!takeValue(argc, argv, i, "--name", value, error)) return error;
      if (value.empty()) return "bad --name: empty";
      out.name = value;
    } else if (isOption(arg, "--latency-ms")) {
      if (!takeValue(argc, argv, i, "--latency-ms", value, error)) return error;
      auto ms = parseBoundedInt(value, 0, kMaxLatencyMs);
      if (!ms) return "bad --latency-ms '" + value + "': want 0-" + std::to_string(kMaxLatencyMs);
      out.latency_ms = *ms;
    } else if (isOption(arg, "--weight")) {
      if (!takeValue(argc, argv, i, "--weight", value, error)) return error;
      auto weight = parseBoundedInt(value, 0, kMaxWeight);
      if (!weight) return "bad --weight '" + value + "': want 0-" + std::to_string(kMaxWeight);
      out.weight = *weight;
    } else {
      return "unknown argument '" + std::string(arg) + "'";
    }
  }
  if (!have_listen) return "--listen is required";
  return "";
}

std::string usage() {
  return R"(usage: rrdns-replica --listen ADDR:PORT [--name NAME] [--latency-ms N] [--weight W]
                     [--unhealthy]
       rrdns-replica --help | --version

A stand-in web replica for rrdnsd demos and tests.

  --listen ADDR:PORT  numeric IPv4 or [IPv6] address and port (port 0: any free port)
  --name NAME         reported in GET / and X-Rrdns-Replica (default: the listen address)
  --latency-ms N      delay every GET / and /healthz response by N ms (0-60000, default 0)
  --weight W          send X-Rrdns-Weight: W (0-100) with /healthz (default: no header)
  --unhealthy         start with /healthz answering 503
  -h, --help          this text
  --version           the version

Endpoints:
  GET  /               200 "NAME ADDR:PORT"
  GET  /healthz        200 "ok" or 503 "unhealthy", plus X-Rrdns-Weight when a weight is set
  POST /admin/health   state=up|down
  POST /admin/weight   value=0-100|none
  POST /admin/latency  ms=0-60000
  GET  /admin/state    JSON snapshot

Signals: SIGUSR1 marks down, SIGUSR2 marks up, SIGTERM/SIGINT stop (exit 0).
Exit status: 0 stopped by a signal, 1 cannot listen, 2 usage error.
)";
}

}  // namespace rrdns::replica
