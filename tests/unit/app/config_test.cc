// config_test.cc -- the server config file: keys, ranges, paths relative to the file, required
// keys, and the command line's overrides on top of it (resolveConfig).
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "dns/app/config.hh"

using namespace rrdns;

namespace {

// A config file in a fresh directory, both removed at the end of the test.
struct ConfigFile {
  std::filesystem::path dir;
  std::string path;
  explicit ConfigFile(const std::string& text) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "rrdns-config-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()));
    dir = pattern;
    path = (dir / "rrdnsd.toml").string();
    std::ofstream(path) << text;
  }
  ~ConfigFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::vector<std::string> errorLines(const app::ConfigLoad& load) {
  return rrdns::texts(load.errors());
}

std::string allErrors(const app::ConfigLoad& load) {
  std::string out;
  for (const auto& e : errorLines(load)) out += e + "\n";
  return out;
}

}  // namespace

TEST_CASE("config: every key read, paths relative to the config file") {
  ConfigFile file(
      "listen = [\"127.0.0.1:5353\", \"[::1]:5353\"]\n"
      "zones = [\"zones/a.toml\", \"/abs/b.zone\"]\n"
      "threads = 3\nlog-level = \"debug\"\nudp-max-payload = 4096\ntcp-idle-timeout = 7\n"
      "tcp-max-connections = 50\ntcp-max-connections-per-client = 0\nrate-limit = 20\n"
      "rate-limit-slip = 0\nrate-limit-table-size = 1\nuser = \"nobody\"\n"
      "control = \"ctl.sock\"\nstate-file = \"/var/lib/rrdns/state.json\"\n"
      "metrics = \"127.0.0.1:9153\"\nresolver = \"127.0.0.1:5300\"\n"
      "allow-transfer = [\"127.0.0.0/8\", \"::1\"]\n");
  const app::ConfigLoad load = app::loadConfigFile(file.path);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  const app::Config& c = *load;
  CHECK(c.source == file.path);
  REQUIRE(c.listen.size() == 2);
  REQUIRE(c.zones.size() == 2);
  CHECK(c.zones[0] == (file.dir / "zones/a.toml").string());
  CHECK(c.zones[1] == "/abs/b.zone");
  CHECK(c.threads == 3);
  CHECK(c.log_level == spdlog::level::debug);
  CHECK(c.udp_max_payload == 4096);
  CHECK(c.tcp_idle_timeout == 7);
  CHECK(c.tcp_max_connections == 50);
  CHECK(c.tcp_max_connections_per_client == 0);
  CHECK(c.rate_limit == 20);
  CHECK(c.rate_limit_slip == 0);
  CHECK(c.rate_limit_table_size == 1);
  CHECK(c.user == "nobody");
  CHECK(c.control == (file.dir / "ctl.sock").string());
  CHECK(c.state_file == "/var/lib/rrdns/state.json");
  CHECK(c.metrics == "127.0.0.1:9153");  // an address, not a path
  CHECK(c.resolver == "127.0.0.1:5300");
  CHECK(c.allow_transfer.size() == 2);

  const server::ServerSettings s = app::serverSettings(c);
  CHECK(s.threads == 3);
  CHECK(s.udp_max_payload == 4096);
  CHECK(s.tcp_idle_timeout_ms == 7000);
  CHECK(s.tcp_max_connections == 50);
  CHECK(s.allow_transfer.size() == 2);
}

TEST_CASE("config: defaults, and threads 0 means one per core") {
  ConfigFile file("listen = [\"127.0.0.1:53\"]\nzones = [\"z.toml\"]\n");
  const app::ConfigLoad load = app::loadConfigFile(file.path);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  CHECK(load->threads == 0);
  CHECK(load->udp_max_payload == 1232);
  CHECK(load->tcp_max_connections_per_client == 10);
  CHECK(load->allow_transfer.empty());
  CHECK(load->control.empty());
  CHECK(app::serverSettings(*load).threads >= 1);
}

TEST_CASE("config: tcp-max-connections defaults to half the open-file limit, as Knot's") {
  ConfigFile file("listen = [\"127.0.0.1:53\"]\nzones = [\"z.toml\"]\n");
  const app::ConfigLoad load = app::loadConfigFile(file.path);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  CHECK(load->tcp_max_connections == 0);  // not set
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  rlimit lowered = saved;
  lowered.rlim_cur = std::min<rlim_t>(saved.rlim_max, 600);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  const unsigned derived = app::serverSettings(*load).tcp_max_connections;
  ::setrlimit(RLIMIT_NOFILE, &saved);
  CHECK(derived == lowered.rlim_cur / 2);
  CHECK(app::defaultTcpMaxConnections() == std::min<rlim_t>(saved.rlim_cur / 2, 1000000));

  // An explicit value is kept whatever the limit.
  ConfigFile set("listen = [\"127.0.0.1:53\"]\nzones = [\"z.toml\"]\ntcp-max-connections = 40\n");
  const app::ConfigLoad explicit_load = app::loadConfigFile(set.path);
  REQUIRE_MESSAGE(explicit_load.ok(), allErrors(explicit_load));
  CHECK(app::serverSettings(*explicit_load).tcp_max_connections == 40);
}

TEST_CASE("config: each error names the file, the line and the key, and no config is returned") {
  struct Case {
    const char* text;
    const char* error;
  };
  const std::string head = "listen = [\"127.0.0.1:53\"]\nzones = [\"z.toml\"]\n";
  for (const Case& c : {
           Case{"threads = 1025\n", ":3: threads: must be from 0 to 1024, not 1025"},
           Case{"threads = \"2\"\n", ":3: threads: must be an integer"},
           Case{"udp-max-payload = 511\n", ":3: udp-max-payload: must be from 512 to 4096"},
           Case{"tcp-idle-timeout = 0\n", ":3: tcp-idle-timeout: must be from 1 to 86400"},
           Case{"rate-limit-slip = 101\n", ":3: rate-limit-slip: must be from 0 to 100"},
           Case{"log-level = \"loud\"\n", ":3: log-level: must be one of trace"},
           Case{"user = \"\"\n", ":3: user: must be a non-empty string"},
           Case{"control = 5\n", ":3: control: must be a non-empty string"},
           Case{"listen-on = 1\n", ":3: listen-on: unknown key"},
           Case{"allow-transfer = [\"::1\", \"::1\"]\n", ":3: allow-transfer: ::1/128 is listed twice"},
       }) {
    ConfigFile file(head + c.text);
    const app::ConfigLoad load = app::loadConfigFile(file.path);
    INFO(std::string(c.text) << " -> " << (errorLines(load).empty() ? "" : errorLines(load)[0]));
    CHECK_FALSE(load.ok());
    REQUIRE(errorLines(load).size() == 1);
    CHECK(errorLines(load)[0].find(file.path) == 0);
    CHECK(errorLines(load)[0].find(c.error) != std::string::npos);
  }
}

TEST_CASE("config: missing required keys are reported after the others, in file order") {
  ConfigFile file("threads = -1\nlog-level = 3\n");
  const app::ConfigLoad load = app::loadConfigFile(file.path);
  CHECK_FALSE(load.ok());
  REQUIRE(errorLines(load).size() == 4);
  CHECK(errorLines(load)[0].find(":1: threads:") != std::string::npos);
  CHECK(errorLines(load)[1].find(":2: log-level:") != std::string::npos);
  CHECK(errorLines(load)[2] == file.path + ": listen: required key is missing");
  CHECK(errorLines(load)[3] == file.path + ": zones: required key is missing");
}

TEST_CASE("config: every error is reported, with no limit like a zone file's") {
  std::string text = "zones = [\"z.toml\"]\nlisten = [\n";
  for (int i = 0; i < 60; ++i) text += "  \"nonsense\",\n";
  ConfigFile file(text + "]\n");
  const app::ConfigLoad load = app::loadConfigFile(file.path);
  CHECK_FALSE(load.ok());
  CHECK(errorLines(load).size() == 60);
  CHECK(errorLines(load)[59].find(":62: listen: ") != std::string::npos);
}

TEST_CASE("config: a file that is not TOML, or not there") {
  ConfigFile file("listen = [\n");
  const app::ConfigLoad bad = app::loadConfigFile(file.path);
  CHECK_FALSE(bad.ok());
  REQUIRE(errorLines(bad).size() == 1);
  CHECK(errorLines(bad)[0].find(file.path + ":") == 0);
  const app::ConfigLoad missing = app::loadConfigFile(file.path + ".absent");
  CHECK_FALSE(missing.ok());
  CHECK(errorLines(missing).size() == 1);
}

TEST_CASE("config: the command line overrides the file, and quick mode needs no file") {
  ConfigFile file(
      "listen = [\"127.0.0.1:53\"]\nzones = [\"z.toml\"]\nthreads = 2\ncontrol = \"a.sock\"\n"
      "allow-transfer = [\"10.0.0.0/8\"]\n");
  app::CommandLine line;
  line.config = file.path;
  app::ConfigLoad load = app::resolveConfig(line);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  CHECK(load->threads == 2);
  CHECK(load->allow_transfer.size() == 1);

  line.threads = 5;
  line.control = "/run/b.sock";
  std::string error;
  auto prefix = server::parseAddressPrefix("::1", error);
  REQUIRE_MESSAGE(prefix, error);
  line.allow_transfer = {*prefix};
  line.tcp_max_connections_per_client = 3;
  load = app::resolveConfig(line);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  CHECK(load->threads == 5);
  CHECK(load->control == "/run/b.sock");      // as given, not relative to the file
  REQUIRE(load->allow_transfer.size() == 1);  // replaced, not added to
  CHECK(load->allow_transfer[0] == *prefix);
  CHECK(load->tcp_max_connections_per_client == 3);
  CHECK(load->zones.size() == 1);

  app::CommandLine quick;
  auto listen = server::parseListenAddress("127.0.0.1:5353", error);
  REQUIRE_MESSAGE(listen, error);
  quick.listen = {*listen};
  quick.zones = {"zones/rr.test.toml"};
  quick.threads = 1;
  load = app::resolveConfig(quick);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  CHECK(load->source.empty());
  CHECK(load->zones == quick.zones);  // as given
  CHECK(load->threads == 1);
  CHECK(load->listen.size() == 1);
}

TEST_CASE("config: notify server-wide, and zones entries with their file's notify and serial") {
  ConfigFile file(
      "listen = [\"127.0.0.1:5353\"]\n"
      "notify = [\"192.0.2.2\", \"[2001:db8::3]:5300\"]\n"
      "zones = [\"a.toml\",\n"
      "         { file = \"b.zone\", notify = [\"192.0.2.9:53\"], serial = \"auto\" },\n"
      "         { file = \"c.zone\", notify = [] }]\n");
  const app::ConfigLoad load = app::loadConfigFile(file.path);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  const app::Config& c = *load;
  REQUIRE(c.notify.size() == 2);
  CHECK(c.notify[0].text == "192.0.2.2:53");
  CHECK(c.notify[1].text == "[2001:db8::3]:5300");
  REQUIRE(c.zones.size() == 3);
  CHECK(c.zone_settings.count(c.zones[0]) == 0);
  const auto& b = c.zone_settings.at(c.zones[1]);
  REQUIRE(b.settings.notify);
  REQUIRE(b.settings.notify->size() == 1);
  CHECK(b.settings.notify->front().text == "192.0.2.9:53");
  CHECK(b.settings.serialPolicy() == zone::SerialPolicy::Auto);
  CHECK(b.line == 4);
  const auto& cz = c.zone_settings.at(c.zones[2]);
  REQUIRE(cz.settings.notify);
  CHECK(cz.settings.notify->empty());  // given, and empty: this zone notifies nobody
  CHECK(cz.settings.serialPolicy() == zone::SerialPolicy::Keep);
}

TEST_CASE("config: bad notify targets and serial policies name their line") {
  ConfigFile file(
      "listen = [\"127.0.0.1:5353\"]\n"
      "notify = [\"ns1.example.\"]\n"
      "zones = [{ file = \"b.zone\", serial = \"unixtime\" }, { notify = [] }, 7]\n");
  const app::ConfigLoad load = app::loadConfigFile(file.path);
  REQUIRE_FALSE(load.ok());
  const std::string all = allErrors(load);
  CHECK_MESSAGE(all.find(":2: notify[0]: 'ns1.example.': 'ns1.example.' is not an IPv4") !=
                    std::string::npos, all);
  CHECK_MESSAGE(all.find(":3: zones.serial: must be \"keep\"") != std::string::npos, all);
  CHECK_MESSAGE(all.find(":3: zones: file is missing") != std::string::npos, all);
  CHECK_MESSAGE(all.find(":3: zones: every element must be a file name") != std::string::npos,
                all);
}

TEST_CASE("config: identity, version and nsid, as Knot DNS's server section has them") {
  const std::string head = "listen = [\"127.0.0.1:53\"]\nzones = [\"z.toml\"]\n";
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);

  // Defaults: the host name and our version answer CH TXT; NSID off.
  ConfigFile defaults(head);
  app::ConfigLoad load = app::loadConfigFile(defaults.path);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  server::ServerSettings s = app::serverSettings(*load);
  CHECK(s.identity == host);
  CHECK(s.version == std::string("rrdns ") + RRDNS_VERSION);
  CHECK(s.nsid.empty());

  // nsid = true sends the identity; a string is sent as it is; "" and false are off.
  ConfigFile on(head + "identity = \"ns1.example\"\nversion = \"\"\nnsid = true\n");
  load = app::loadConfigFile(on.path);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  s = app::serverSettings(*load);
  CHECK(s.identity == "ns1.example");
  CHECK(s.version.empty());  // CH TXT version.bind: REFUSED
  CHECK(s.nsid == "ns1.example");
  for (const auto& [text, nsid] : std::vector<std::pair<std::string, std::string>>{
           {"nsid = \"fra-1\"\n", "fra-1"},
           {"nsid = \"\"\n", ""},
           {"nsid = false\n", ""},
           {"identity = \"\"\nnsid = \"x\"\n", "x"}}) {
    CAPTURE(text);
    ConfigFile file(head + text);
    load = app::loadConfigFile(file.path);
    REQUIRE_MESSAGE(load.ok(), allErrors(load));
    CHECK(app::serverSettings(*load).nsid == nsid);
  }

  // --identity replaces the file's identity, --nsid turns NSID on with it.
  ConfigFile plain(head + "identity = \"from-file\"\n");
  app::CommandLine line;
  line.config = plain.path;
  line.identity = "from-flag";
  line.nsid = true;
  load = app::resolveConfig(line);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  s = app::serverSettings(*load);
  CHECK(s.identity == "from-flag");
  CHECK(s.nsid == "from-flag");
}

TEST_CASE("config: identity, version and nsid errors name the line") {
  const std::string head = "listen = [\"127.0.0.1:53\"]\nzones = [\"z.toml\"]\n";
  const std::string long_text(256, 'x');
  struct Case {
    std::string text;
    const char* error;
  };
  for (const Case& c : {
           Case{"identity = 5\n", ":3: identity: must be a string"},
           Case{"version = true\n", ":3: version: must be a string"},
           Case{"identity = \"" + long_text + "\"\n",
                ":3: identity: must be at most 255 bytes (one TXT string), not 256"},
           Case{"nsid = \"" + long_text + "\"\n", ":3: nsid: must be at most 255 bytes"},
           Case{"nsid = 1\n", ":3: nsid: must be true, false or a string"},
           Case{"identity = \"\"\nnsid = true\n",
                ":4: nsid: true sends the identity, which is empty"},
       }) {
    ConfigFile file(head + c.text);
    const app::ConfigLoad load = app::loadConfigFile(file.path);
    INFO(c.text << " -> " << (errorLines(load).empty() ? "" : errorLines(load)[0]));
    CHECK_FALSE(load.ok());
    REQUIRE(errorLines(load).size() == 1);
    CHECK(errorLines(load)[0].find(c.error) != std::string::npos);
  }
}

TEST_CASE("config: key-directory relative to the file, --key-directory over it") {
  ConfigFile file("listen = [\"127.0.0.1:5353\"]\nzones = [\"a.toml\"]\nkey-directory = \"keys\"\n");
  app::CommandLine line;
  line.config = file.path;
  app::ConfigLoad load = app::resolveConfig(line);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  CHECK(load->key_directory == (file.dir / "keys").string());
  line.key_directory = "/var/lib/rrdns/keys";
  load = app::resolveConfig(line);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  CHECK(load->key_directory == "/var/lib/rrdns/keys");

  ConfigFile empty("listen = [\"127.0.0.1:5353\"]\nzones = [\"a.toml\"]\nkey-directory = \"\"\n");
  CHECK(errorLines(app::loadConfigFile(empty.path)) ==
        std::vector<std::string>{empty.path + ":3: key-directory: must be a non-empty string"});
}

TEST_CASE("config: a zones entry's dnssec, as a TOML zone's [dnssec] reads") {
  ConfigFile file(
      "listen = [\"127.0.0.1:5353\"]\n"
      "zones = [{ file = \"a.zone\", dnssec = true },\n"
      "         { file = \"b.zone\", dnssec = { nsec3 = true, rrsig-lifetime = \"2d\","
      " rrsig-refresh = \"1d\" } },\n"
      "         { file = \"c.zone\", dnssec = false }]\n");
  const app::ConfigLoad load = app::loadConfigFile(file.path);
  REQUIRE_MESSAGE(load.ok(), allErrors(load));
  const app::Config& c = *load;
  REQUIRE(c.zones.size() == 3);
  const auto& a = c.zone_settings.at(c.zones[0]).settings;
  REQUIRE(a.dnssec);
  CHECK_FALSE(a.dnssec->nsec3);
  CHECK(a.dnssec->source == file.path + ":2");
  CHECK(a.serialPolicy() == zone::SerialPolicy::Auto);
  const auto& b = c.zone_settings.at(c.zones[1]).settings;
  REQUIRE(b.dnssec);
  CHECK(b.dnssec->nsec3);
  CHECK(b.dnssec->rrsig_lifetime == 2 * 86400);
  CHECK(b.dnssec->rrsig_refresh == 86400);
  CHECK_FALSE(c.zone_settings.at(c.zones[2]).settings.dnssec);
}

TEST_CASE("config: a zones entry's bad dnssec and serial = \"keep\" beside it name their line") {
  ConfigFile file(
      "listen = [\"127.0.0.1:5353\"]\n"
      "zones = [{ file = \"a.zone\", dnssec = { algorithm = \"rsa\" } },\n"
      "         { file = \"b.zone\", dnssec = true, serial = \"keep\" },\n"
      "         { file = \"c.zone\", dnssec = { rrsig-refresh = \"20d\" } },\n"
      "         { file = \"d.zone\", dnssec = 1 }]\n");
  const app::ConfigLoad load = app::loadConfigFile(file.path);
  REQUIRE_FALSE(load.ok());
  const std::string all = allErrors(load);
  CHECK_MESSAGE(all.find(file.path + ":2: zones.dnssec.algorithm: must be \"ecdsap256sha256\"") !=
                    std::string::npos,
                all);
  CHECK_MESSAGE(all.find(file.path + ":3: zones.serial: \"keep\" cannot be used with dnssec") !=
                    std::string::npos,
                all);
  CHECK_MESSAGE(all.find(file.path +
                         ":4: zones.dnssec.rrsig-refresh: rrsig-refresh (1728000 s) must be "
                         "below rrsig-lifetime (1209600 s)") != std::string::npos,
                all);
  CHECK_MESSAGE(all.find(file.path + ":5: zones.dnssec: must be true, false or a table") !=
                    std::string::npos,
                all);
}
