// config.cc -- parsing and checking the server config file with toml++.
#include "dns/app/config.hh"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace rrdns::app {

namespace {

class ConfigReader {
 public:
  explicit ConfigReader(std::string path) : d_path(std::move(path)) {}

  void error(const toml::node* node, std::string_view key, const std::string& message) {
    uint32_t line = node != nullptr ? node->source().begin.line : 0;
    std::string where = d_path;
    if (line > 0) where += ":" + std::to_string(line);
    d_errors.push_back({line, where + ": " + std::string(key) + ": " + message});
  }

  // In file order (toml++ iterates keys sorted by name); errors without a line go last.
  std::vector<std::string> errors() {
    auto rank = [](uint32_t line) { return line == 0 ? UINT32_MAX : line; };
    std::stable_sort(d_errors.begin(), d_errors.end(),
                     [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
    std::vector<std::string> out;
    for (auto& e : d_errors) out.push_back(std::move(e.second));
    return out;
  }

  // An integer in [min, max], or nullopt after reporting why not.
  std::optional<int64_t> integer(const toml::node& node, std::string_view key, int64_t min,
                                 int64_t max) {
    auto value = node.value_exact<int64_t>();
    if (!value) {
      error(&node, key, "must be an integer");
      return std::nullopt;
    }
    if (*value < min || *value > max) {
      error(&node, key,
            "must be from " + std::to_string(min) + " to " + std::to_string(max) + ", not " +
                std::to_string(*value));
      return std::nullopt;
    }
    return value;
  }

  // A non-empty array of non-empty strings.
  std::vector<std::pair<std::string, const toml::node*>> strings(const toml::node& node,
                                                                 std::string_view key) {
    std::vector<std::pair<std::string, const toml::node*>> out;
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      error(&node, key, "must be an array of strings");
      return out;
    }
    if (array->empty()) error(&node, key, "must not be empty");
    for (const toml::node& element : *array) {
      auto text = element.value_exact<std::string>();
      if (!text || text->empty())
        error(&element, key, "every element must be a non-empty string");
      else
        out.emplace_back(*text, &element);
    }
    return out;
  }

 private:
  std::string d_path;
  std::vector<std::pair<uint32_t, std::string>> d_errors;
};

std::string relativeTo(const std::string& config_path, const std::string& file) {
  std::filesystem::path path(file);
  if (path.is_absolute()) return file;
  return (std::filesystem::path(config_path).parent_path() / path).lexically_normal().string();
}

}  // namespace

ConfigLoad loadConfigFile(const std::string& path) {
  ConfigLoad load;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load.errors.push_back(path + ": cannot open: " + std::strerror(errno));
    return load;
  }
  std::stringstream text;
  text << in.rdbuf();

  toml::table table;
  try {
    table = toml::parse(text.str(), path);
  } catch (const toml::parse_error& e) {
    load.errors.push_back(path + ":" + std::to_string(e.source().begin.line) + ": " +
                          std::string(e.description()));
    return load;
  }

  ConfigReader reader(path);
  Config config;
  config.source = path;
  bool have_listen = false;
  bool have_zones = false;
  for (const auto& [key, node] : table) {
    std::string_view name = key.str();
    if (name == "listen") {
      have_listen = true;
      for (const auto& [text_value, element] : reader.strings(node, name)) {
        std::string error;
        auto address = server::parseListenAddress(text_value, error);
        if (!address) {
          reader.error(element, name, error);
          continue;
        }
        bool duplicate = false;
        for (const auto& known : config.listen) duplicate = duplicate || known == *address;
        if (duplicate)
          reader.error(element, name, address->text + " is listed twice");
        else
          config.listen.push_back(std::move(*address));
      }
    } else if (name == "zones") {
      have_zones = true;
      for (const auto& [file, element] : reader.strings(node, name))
        config.zones.push_back(relativeTo(path, file));
    } else if (name == "threads") {
      if (auto v = reader.integer(node, name, 0, 1024)) config.threads = static_cast<unsigned>(*v);
    } else if (name == "log-level") {
      auto text_value = node.value_exact<std::string>();
      auto level = text_value ? parseLogLevel(*text_value) : std::nullopt;
      if (level)
        config.log_level = *level;
      else
        reader.error(&node, name, "must be one of trace, debug, info, warn, error, off");
    } else if (name == "udp-max-payload") {
      // RFC 6891 6.2.5: below 512 is treated as 512; above 4096 invites fragmentation.
      if (auto v = reader.integer(node, name, 512, 4096))
        config.udp_max_payload = static_cast<uint16_t>(*v);
    } else if (name == "tcp-idle-timeout") {
      if (auto v = reader.integer(node, name, 1, 86400))
        config.tcp_idle_timeout = static_cast<unsigned>(*v);
    } else if (name == "tcp-max-connections") {
      if (auto v = reader.integer(node, name, 1, 1000000))
        config.tcp_max_connections = static_cast<unsigned>(*v);
    } else if (name == "tcp-max-connections-per-client") {
      if (auto v = reader.integer(node, name, 0, 1000000))
        config.tcp_max_connections_per_client = static_cast<unsigned>(*v);
    } else if (name == "rate-limit") {
      if (auto v = reader.integer(node, name, 0, 1000000))
        config.rate_limit = static_cast<unsigned>(*v);
    } else if (name == "rate-limit-slip") {
      if (auto v = reader.integer(node, name, 0, 100))
        config.rate_limit_slip = static_cast<unsigned>(*v);
    } else if (name == "rate-limit-table-size") {
      if (auto v = reader.integer(node, name, 1, 100000000))
        config.rate_limit_table_size = static_cast<unsigned>(*v);
    } else if (name == "user") {
      auto text_value = node.value_exact<std::string>();
      if (!text_value || text_value->empty())
        reader.error(&node, name, "must be a non-empty string");
      else
        config.user = *text_value;
    } else if (name == "control" || name == "state-file" || name == "metrics" ||
               name == "resolver") {
      auto text_value = node.value_exact<std::string>();
      if (!text_value || text_value->empty()) {
        reader.error(&node, name, "must be a non-empty string");
      } else if (name == "metrics") {
        config.metrics = *text_value;
      } else if (name == "resolver") {
        config.resolver = *text_value;
      } else {
        (name == "control" ? config.control : config.state_file) = relativeTo(path, *text_value);
      }
    } else if (name == "allow-transfer") {
      // Unlike listen and zones, an empty list is meaningful: nobody (the default).
      const toml::array* array = node.as_array();
      if (array != nullptr && array->empty()) continue;
      for (const auto& [text_value, element] : reader.strings(node, name)) {
        std::string error;
        auto prefix = server::parseAddressPrefix(text_value, error);
        if (!prefix)
          reader.error(element, name, error);
        else if (std::find(config.allow_transfer.begin(), config.allow_transfer.end(), *prefix) !=
                 config.allow_transfer.end())
          reader.error(element, name, prefix->text + " is listed twice");
        else
          config.allow_transfer.push_back(std::move(*prefix));
      }
    } else {
      reader.error(&node, name,
                   "unknown key (known: listen, zones, threads, log-level, udp-max-payload, "
                   "tcp-idle-timeout, tcp-max-connections, tcp-max-connections-per-client, "
                   "rate-limit, rate-limit-slip, rate-limit-table-size, user, "
                   "allow-transfer, control, state-file, "
                   "metrics, resolver)");
    }
  }
  if (!have_listen) reader.error(nullptr, "listen", "required key is missing");
  if (!have_zones) reader.error(nullptr, "zones", "required key is missing");
  load.errors = reader.errors();
  if (load.errors.empty()) load.config = std::move(config);
  return load;
}

ConfigLoad resolveConfig(const CommandLine& command_line) {
  ConfigLoad load;
  if (!command_line.config.empty()) {
    load = loadConfigFile(command_line.config);
  } else {
    load.config.emplace();
    load.config->listen = command_line.listen;
    load.config->zones = command_line.zones;
  }
  if (load.config) {
    if (command_line.threads) load.config->threads = *command_line.threads;
    if (command_line.log_level) load.config->log_level = *command_line.log_level;
    if (command_line.control) load.config->control = *command_line.control;
    if (command_line.state_file) load.config->state_file = *command_line.state_file;
    if (command_line.metrics) load.config->metrics = *command_line.metrics;
    if (command_line.user) load.config->user = *command_line.user;
    if (command_line.tcp_max_connections_per_client)
      load.config->tcp_max_connections_per_client = *command_line.tcp_max_connections_per_client;
    if (command_line.resolver) load.config->resolver = *command_line.resolver;
    if (!command_line.allow_transfer.empty())
      load.config->allow_transfer = command_line.allow_transfer;
  }
  return load;
}

server::ServerSettings serverSettings(const Config& config) {
  server::ServerSettings settings;
  settings.listen = config.listen;
  settings.threads = config.threads != 0 ? config.threads : std::thread::hardware_concurrency();
  if (settings.threads == 0) settings.threads = 1;  // hardware_concurrency() may not know
  settings.udp_max_payload = config.udp_max_payload;
  settings.tcp_idle_timeout_ms = config.tcp_idle_timeout * 1000;
  settings.tcp_max_connections = config.tcp_max_connections;
  settings.tcp_max_connections_per_client = config.tcp_max_connections_per_client;
  settings.rate_limit = {config.rate_limit, config.rate_limit_slip, config.rate_limit_table_size};
  settings.allow_transfer = config.allow_transfer;
  return settings;
}

}  // namespace rrdns::app
