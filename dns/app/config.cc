// config.cc -- parsing and checking the server config file with toml++.
#include "dns/app/config.hh"

#include <sys/resource.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "dns/answer/answer.hh"
#include "dns/zone/toml_support.hh"

namespace rrdns::app {

namespace {

using zone::toml_support::TomlReporter;

// The config's own wording for its values ("must be ..."), reported through the zone files'
// TomlReporter (made to never stop early: every mistake in the config is shown).

// An integer in [min, max], or nullopt after reporting why not.
std::optional<int64_t> integer(TomlReporter& reporter, const toml::node& node, std::string_view key,
                               int64_t min, int64_t max) {
  auto value = node.value_exact<int64_t>();
  if (!value) {
    reporter.report(node, key, "must be an integer");
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    reporter.report(node, key,
                    "must be from " + std::to_string(min) + " to " + std::to_string(max) +
                        ", not " + std::to_string(*value));
    return std::nullopt;
  }
  return value;
}

// A non-empty array of non-empty strings.
std::vector<std::pair<std::string, const toml::node*>> strings(TomlReporter& reporter,
                                                               const toml::node& node,
                                                               std::string_view key) {
  std::vector<std::pair<std::string, const toml::node*>> out;
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    reporter.report(node, key, "must be an array of strings");
    return out;
  }
  if (array->empty()) reporter.report(node, key, "must not be empty");
  for (const toml::node& element : *array) {
    auto text = element.value_exact<std::string>();
    if (!text || text->empty())
      reporter.report(element, key, "every element must be a non-empty string");
    else
      out.emplace_back(*text, &element);
  }
  return out;
}

// A string of at most answer::kMaxIdentityText bytes (one TXT string), empty allowed.
std::optional<std::string> identityText(TomlReporter& reporter, const toml::node& node,
                                        std::string_view key) {
  auto text = node.value_exact<std::string>();
  if (!text) {
    reporter.report(node, key, "must be a string");
    return std::nullopt;
  }
  if (text->size() > answer::kMaxIdentityText) {
    reporter.report(node, key,
                    "must be at most " + std::to_string(answer::kMaxIdentityText) +
                        " bytes (one TXT string), not " + std::to_string(text->size()));
    return std::nullopt;
  }
  return text;
}

// As `hostname` prints it (Knot DNS uses the host name too, fully qualified through a lookup).
std::string hostName() {
  char name[answer::kMaxIdentityText + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

std::string relativeTo(const std::string& config_path, const std::string& file) {
  std::filesystem::path path(file);
  if (path.is_absolute()) return file;
  return (std::filesystem::path(config_path).parent_path() / path).lexically_normal().string();
}

// zones = ["a.toml", { file = "b.zone", notify = ["192.0.2.2"], serial = "auto", dnssec = true }]:
// a file, or a file with the settings of its zone's secondaries and its signing (for RFC 1035
// files, which have no keys).
void readZones(TomlReporter& reporter, const toml::node& node, const std::string& path,
               Config& config) {
  const toml::array* array = node.as_array();
  if (array == nullptr || array->empty()) {
    reporter.report(node, "zones",
                    array ? "must not be empty" : "must be an array of files or { file = ... }");
    return;
  }
  for (const toml::node& element : *array) {
    if (auto text = element.value_exact<std::string>(); text && !text->empty()) {
      config.zones.push_back(relativeTo(path, *text));
      continue;
    }
    const toml::table* table = element.as_table();
    if (table == nullptr) {
      reporter.report(element, "zones", "every element must be a file name or { file = ... }");
      continue;
    }
    reporter.checkKeys(*table, "zones", {"file", "notify", "serial", "dnssec"});
    const auto* file = table->get("file");
    const std::string* file_text = file ? reporter.readString(*file, "zones.file") : nullptr;
    if (file == nullptr) reporter.report(element, "zones", "file is missing");
    zone::ZoneFileSettings given;
    given.file = path;
    given.line = element.source().begin.line;
    if (const auto* notify = table->get("notify"))
      given.settings.notify = reporter.readNotifyList(*notify, "zones.notify");
    if (const auto* serial = table->get("serial"))
      given.settings.serial = reporter.readSerialPolicy(*serial, "zones.serial");
    if (const auto* dnssec = table->get("dnssec"))
      given.settings.dnssec = reporter.readDnssecPolicy(*dnssec, "zones.dnssec");
    reporter.checkSignedSerial(given.settings, table->get("serial"), "zones.serial");
    if (file_text == nullptr || file_text->empty()) continue;
    const std::string resolved = relativeTo(path, *file_text);
    config.zones.push_back(resolved);
    config.zone_settings[resolved] = std::move(given);
  }
}

}  // namespace

ConfigLoad loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errorAt(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();

  toml::table table;
  try {
    table = toml::parse(text.str(), path);
  } catch (const toml::parse_error& e) {
    return errorAt(path, e.source().begin.line, "", std::string(e.description()));
  }

  TomlReporter reporter(path, SIZE_MAX);
  Config config;
  config.source = path;
  bool have_listen = false;
  bool have_zones = false;
  const toml::node* nsid_node = nullptr;
  for (const auto& [key, node] : table) {
    std::string_view name = key.str();
    if (name == "listen") {
      have_listen = true;
      for (const auto& [text_value, element] : strings(reporter, node, name)) {
        std::string error;
        auto address = server::parseListenAddress(text_value, error);
        if (!address) {
          reporter.report(*element, name, error);
          continue;
        }
        bool duplicate = false;
        for (const auto& known : config.listen) duplicate = duplicate || known == *address;
        if (duplicate)
          reporter.report(*element, name, address->text + " is listed twice");
        else
          config.listen.push_back(std::move(*address));
      }
    } else if (name == "zones") {
      have_zones = true;
      readZones(reporter, node, path, config);
    } else if (name == "notify") {
      if (auto targets = reporter.readNotifyList(node, name)) config.notify = std::move(*targets);
    } else if (name == "threads") {
      if (auto v = integer(reporter, node, name, 0, 1024))
        config.threads = static_cast<unsigned>(*v);
    } else if (name == "log-level") {
      auto text_value = node.value_exact<std::string>();
      auto level = text_value ? parseLogLevel(*text_value) : std::nullopt;
      if (level)
        config.log_level = *level;
      else
        reporter.report(node, name, "must be one of trace, debug, info, warn, error, off");
    } else if (name == "udp-max-payload") {
      // RFC 6891 6.2.5: below 512 is treated as 512; above 4096 invites fragmentation.
      if (auto v = integer(reporter, node, name, 512, 4096))
        config.udp_max_payload = static_cast<uint16_t>(*v);
    } else if (name == "tcp-idle-timeout") {
      if (auto v = integer(reporter, node, name, 1, 86400))
        config.tcp_idle_timeout = static_cast<unsigned>(*v);
    } else if (name == "tcp-max-connections") {
      if (auto v = integer(reporter, node, name, 1, 1000000))
        config.tcp_max_connections = static_cast<unsigned>(*v);
    } else if (name == "tcp-max-connections-per-client") {
      if (auto v = integer(reporter, node, name, 0, 1000000))
        config.tcp_max_connections_per_client = static_cast<unsigned>(*v);
    } else if (name == "rate-limit") {
      if (auto v = integer(reporter, node, name, 0, 1000000))
        config.rate_limit = static_cast<unsigned>(*v);
    } else if (name == "rate-limit-slip") {
      if (auto v = integer(reporter, node, name, 0, 100))
        config.rate_limit_slip = static_cast<unsigned>(*v);
    } else if (name == "rate-limit-table-size") {
      if (auto v = integer(reporter, node, name, 1, 100000000))
        config.rate_limit_table_size = static_cast<unsigned>(*v);
    } else if (name == "user") {
      auto text_value = node.value_exact<std::string>();
      if (!text_value || text_value->empty())
        reporter.report(node, name, "must be a non-empty string");
      else
        config.user = *text_value;
    } else if (name == "control" || name == "state-file" || name == "metrics" ||
               name == "resolver" || name == "key-directory") {
      auto text_value = node.value_exact<std::string>();
      if (!text_value || text_value->empty()) {
        reporter.report(node, name, "must be a non-empty string");
      } else if (name == "metrics") {
        config.metrics = *text_value;
      } else if (name == "resolver") {
        config.resolver = *text_value;
      } else if (name == "key-directory") {
        config.key_directory = relativeTo(path, *text_value);
      } else {
        (name == "control" ? config.control : config.state_file) = relativeTo(path, *text_value);
      }
    } else if (name == "allow-transfer") {
      // Unlike listen and zones, an empty list is meaningful: nobody (the default).
      const toml::array* array = node.as_array();
      if (array != nullptr && array->empty()) continue;
      for (const auto& [text_value, element] : strings(reporter, node, name)) {
        std::string error;
        auto prefix = server::parseAddressPrefix(text_value, error);
        if (!prefix)
          reporter.report(*element, name, error);
        else if (std::find(config.allow_transfer.begin(), config.allow_transfer.end(), *prefix) !=
                 config.allow_transfer.end())
          reporter.report(*element, name, prefix->text + " is listed twice");
        else
          config.allow_transfer.push_back(std::move(*prefix));
      }
    } else if (name == "identity" || name == "version") {
      if (auto text_value = identityText(reporter, node, name))
        (name == "identity" ? config.identity : config.version) = std::move(*text_value);
    } else if (name == "edns-client-subnet") {
      if (auto flag = node.value_exact<bool>())
        config.edns_client_subnet = *flag;
      else
        reporter.report(node, name, "must be true or false");
    } else if (name == "nsid") {
      // As Knot DNS's nsid: a text, or "" for off; true sends the identity.
      nsid_node = &node;
      if (auto flag = node.value_exact<bool>()) {
        config.nsid = *flag;
      } else if (node.is_string()) {
        if (auto text_value = identityText(reporter, node, name)) {
          config.nsid = !text_value->empty();
          config.nsid_text = std::move(*text_value);
        }
      } else {
        reporter.report(node, name, "must be true, false or a string");
      }
    } else {
      reporter.report(node, name,
                      "unknown key (known: listen, zones, threads, log-level, udp-max-payload, "
                      "tcp-idle-timeout, tcp-max-connections, tcp-max-connections-per-client, "
                      "rate-limit, rate-limit-slip, rate-limit-table-size, user, "
                      "allow-transfer, notify, control, state-file, key-directory, "
                      "metrics, resolver, identity, version, nsid, edns-client-subnet)");
    }
  }
  if (nsid_node && config.nsid && config.nsid_text.empty() && config.identity &&
      config.identity->empty())
    reporter.report(*nsid_node, "nsid",
                    "true sends the identity, which is empty: give nsid a text of its own");
  // In file order (toml++ iterates keys sorted by name); the missing keys, with no line, last.
  reporter.sortByLineSince(0);
  if (!have_listen) reporter.report(0, "listen", "required key is missing");
  if (!have_zones) reporter.report(0, "zones", "required key is missing");
  if (reporter.errorCount() != 0) return reporter.takeErrors();
  return config;
}

ConfigLoad resolveConfig(const CommandLine& command_line) {
  ConfigLoad load = Config{};
  if (!command_line.config.empty()) {
    load = loadConfigFile(command_line.config);
  } else {
    load->listen = command_line.listen;
    load->zones = command_line.zones;
  }
  if (load.ok()) {
    if (command_line.threads) load->threads = *command_line.threads;
    if (command_line.log_level) load->log_level = *command_line.log_level;
    if (command_line.control) load->control = *command_line.control;
    if (command_line.state_file) load->state_file = *command_line.state_file;
    if (command_line.key_directory) load->key_directory = *command_line.key_directory;
    if (command_line.metrics) load->metrics = *command_line.metrics;
    if (command_line.user) load->user = *command_line.user;
    if (command_line.tcp_max_connections_per_client)
      load->tcp_max_connections_per_client = *command_line.tcp_max_connections_per_client;
    if (command_line.resolver) load->resolver = *command_line.resolver;
    if (!command_line.allow_transfer.empty()) load->allow_transfer = command_line.allow_transfer;
    if (!command_line.notify.empty()) load->notify = command_line.notify;
    if (command_line.identity) load->identity = *command_line.identity;
    if (command_line.nsid) load->nsid = true;
  }
  return load;
}

unsigned defaultTcpMaxConnections() {
  constexpr rlim_t kFallback = 100, kMax = 1000000;
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return kFallback;
  // RLIM_INFINITY is the largest rlim_t, so the cap covers it too.
  return static_cast<unsigned>(std::clamp<rlim_t>(files.rlim_cur / 2, 1, kMax));
}

server::ServerSettings serverSettings(const Config& config) {
  server::ServerSettings settings;
  settings.listen = config.listen;
  settings.threads = config.threads != 0 ? config.threads : std::thread::hardware_concurrency();
  if (settings.threads == 0) settings.threads = 1;  // hardware_concurrency() may not know
  settings.udp_max_payload = config.udp_max_payload;
  settings.tcp_idle_timeout_ms = config.tcp_idle_timeout * 1000;
  settings.tcp_max_connections =
      config.tcp_max_connections != 0 ? config.tcp_max_connections : defaultTcpMaxConnections();
  settings.tcp_max_connections_per_client = config.tcp_max_connections_per_client;
  settings.rate_limit = {config.rate_limit, config.rate_limit_slip, config.rate_limit_table_size};
  settings.allow_transfer = config.allow_transfer;
  settings.identity = config.identity ? *config.identity : hostName();
  settings.version = config.version ? *config.version : "rrdns " RRDNS_VERSION;
  if (config.nsid) settings.nsid = config.nsid_text.empty() ? settings.identity : config.nsid_text;
  settings.edns_client_subnet = config.edns_client_subnet;
  return settings;
}

}  // namespace rrdns::app
