#include "dns/zone/toml_support.hh"

#include <algorithm>

namespace rrdns::zone::toml_support {
namespace {

// A key as TOML would need it written: bare when possible, otherwise quoted.
std::string keySegment(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  if (bare) return std::string(key);
  std::string quoted = "\"";
  for (char c : key) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + '"';
}

}  // namespace

std::string_view describe(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date or time";
  }
}

std::string childPath(std::string_view parent, std::string_view key) {
  return parent.empty() ? keySegment(key) : std::string(parent) + "." + keySegment(key);
}

std::string elementPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::vector<Entry> inFileOrder(const toml::table& table) {
  std::vector<Entry> entries;
  for (const auto& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

void TomlReporter::report(uint32_t line, std::string_view key, std::string_view message) {
  if (d_errors.size() == d_max_errors) throw TooManyErrors{};
  d_errors.push_back(errorAt(d_path, line, std::string(key), std::string(message)));
}

void TomlReporter::sortByLineSince(size_t mark) {
  std::stable_sort(d_errors.begin() + static_cast<ptrdiff_t>(mark), d_errors.end(),
                   [](const Error& a, const Error& b) { return a.line < b.line; });
}

void TomlReporter::checkKeys(const toml::table& table, std::string_view path,
                             std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, node] : table) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    report(key.source().begin.line, childPath(path, key.str()),
           "unknown key (expected " + listOf(allowed) + ")");
  }
}

const std::string* TomlReporter::readString(const toml::node& node, std::string_view path) {
  if (const auto* s = node.as_string()) return &s->get();
  report(node, path, "expected a string, got " + std::string(describe(node.type())));
  return nullptr;
}

std::optional<int64_t> TomlReporter::readInteger(const toml::node& node, std::string_view path,
                                                 int64_t min, int64_t max, std::string_view what) {
  const auto* integer = node.as_integer();
  if (!integer) {
    report(node, path, "expected an integer, got " + std::string(describe(node.type())));
    return std::nullopt;
  }
  const int64_t v = integer->get();
  if (v < min || v > max) {
    report(node, path,
           std::string(what) + std::to_string(v) + " is out of range (" + std::to_string(min) +
               " to " + std::to_string(max) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<uint32_t> TomlReporter::readTtl(const toml::node& node, std::string_view path) {
  auto ttl = readInteger(node, path, 0, kMaxTtl, "TTL ");
  if (!ttl) return std::nullopt;
  return static_cast<uint32_t>(*ttl);
}

const toml::node* TomlReporter::require(const toml::table& table, std::string_view key,
                                        std::string_view path, std::string_view message) {
  if (const auto* node = table.get(key)) return node;
  report(table, childPath(path, key), message);
  return nullptr;
}

std::optional<std::vector<NotifyTarget>> TomlReporter::readNotifyList(const toml::node& node,
                                                                      std::string_view path) {
  const toml::array* array = node.as_array();
  if (!array) {
    report(node, path, "must be an array of \"ADDR[:PORT]\" strings, e.g. [\"192.0.2.2\"]");
    return std::nullopt;
  }
  std::vector<NotifyTarget> targets;
  const size_t errors_before = errorCount();
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string* text = readString(element, elementPath(path, i));
    if (!text) continue;
    std::string error;
    auto target = parseNotifyTarget(*text, error);
    if (!target)
      report(element, elementPath(path, i), error);
    else if (std::find(targets.begin(), targets.end(), *target) != targets.end())
      report(element, elementPath(path, i), target->text + " is listed twice");
    else
      targets.push_back(std::move(*target));
  }
  if (errorCount() != errors_before) return std::nullopt;
  return targets;
}

std::optional<SerialPolicy> TomlReporter::readSerialPolicy(const toml::node& node,
                                                           std::string_view path) {
  const std::string* text = readString(node, path);
  if (!text) return std::nullopt;
  auto policy = parseSerialPolicy(*text);
  if (!policy)
    report(node, path, "must be \"keep\" (the file's serial) or \"auto\", not \"" + *text + "\"");
  return policy;
}

}  // namespace rrdns::zone::toml_support
