// render.cc -- flattening JSON into "key: value" lines and aligned tables.
#include "dns/control/render.hh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <utility>
#include <vector>

namespace rrdns::control {

namespace {

bool isScalar(const Json& value) { return !value.is_object() && !value.is_array(); }

bool isTable(const Json& value) {
  return value.is_array() && !value.empty() &&
         std::all_of(value.begin(), value.end(), [](const Json& row) { return row.is_object(); });
}

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string dumpCompact(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Responses carry unix seconds, which scripts can compare; people read a date and a countdown.
// "_until": a deadline, shown with what is left; "_at": a point in time (a key's timers).
bool isUnixTime(std::string_view key, const Json& value) {
  return (key.ends_with("_until") || key.ends_with("_at")) && value.is_number_integer();
}

std::string formatField(std::string_view key, const Json& value) {
  if (isUnixTime(key, value) && key.ends_with("_at")) return formatAt(value.get<int64_t>());
  if (isUnixTime(key, value)) return formatUntil(value.get<int64_t>(), std::time(nullptr));
  return formatValue(value);
}

// A flattened member: a line of text, or a table (rows kept by pointer into the response).
struct Item {
  std::string key;
  std::string text;
  const Json* table = nullptr;
};

void flatten(const Json& value, const std::string& key, std::vector<Item>& out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [name, member] : value.items()) flatten(member, join(key, name), out);
  } else if (isTable(value)) {
    out.push_back({key, {}, &value});
  } else {
    out.push_back({key, formatField(key, value), nullptr});
  }
}

// Row cells: nested objects become dotted columns; arrays stay in one cell.
void flattenRow(const Json& value, const std::string& key,
                std::vector<std::pair<std::string, const Json*>>& out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [name, member] : value.items()) flattenRow(member, join(key, name), out);
  } else {
    out.emplace_back(key, &value);
  }
}

void renderTable(const Json& rows, std::string& out) {
  std::vector<std::string> columns;
  std::vector<std::vector<std::pair<std::string, const Json*>>> cells;
  for (const Json& row : rows) {
    auto& flat = cells.emplace_back();
    flattenRow(row, "", flat);
    for (const auto& [column, value] : flat)
      if (std::find(columns.begin(), columns.end(), column) == columns.end())
        columns.push_back(column);
  }
  size_t n = columns.size();
  std::vector<size_t> width(n);
  std::vector<bool> numeric(n, true);
  std::vector<std::vector<std::string>> text(cells.size(), std::vector<std::string>(n, "-"));
  for (size_t c = 0; c < n; ++c) width[c] = columns[c].size();
  for (size_t r = 0; r < cells.size(); ++r) {
    for (const auto& [column, value] : cells[r]) {
      size_t c = std::find(columns.begin(), columns.end(), column) - columns.begin();
      text[r][c] = formatField(column, *value);
      if ((!value->is_number() && !value->is_null()) || isUnixTime(column, *value))
        numeric[c] = false;
      width[c] = std::max(width[c], text[r][c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& row, bool header) {
    std::string s = "  ";
    for (size_t c = 0; c < n; ++c) {
      const std::string& cell = row[c];
      size_t pad = width[c] - std::min(width[c], cell.size());
      bool right = numeric[c] && !header;
      if (c > 0) s += "  ";
      if (right) s.append(pad, ' ');
      s += cell;
      if (!right && c + 1 < n) s.append(pad, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out += s;
    out += '\n';
  };
  // A numeric column's heading lines up with its right-aligned numbers.
  std::vector<std::string> heading(n);
  for (size_t c = 0; c < n; ++c)
    heading[c] = numeric[c] ? std::string(width[c] - columns[c].size(), ' ') + columns[c]
                            : columns[c];
  line(heading, true);
  for (const auto& row : text) line(row, false);
}

}  // namespace

std::string formatNumber(double value) {
  if (!std::isfinite(value)) return value != value ? "nan" : (value > 0 ? "inf" : "-inf");
  if (std::fabs(value) >= 1e15) {
    char big[64];
    std::snprintf(big, sizeof big, "%g", value);
    return big;
  }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f", value);
  std::string s = buffer;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? std::string("0") : s;
}

std::string formatAt(int64_t at) {
  if (at == 0) return "-";
  const std::time_t t = static_cast<std::time_t>(at);
  std::tm utc{};
  char when[32];
  if (gmtime_r(&t, &utc) == nullptr || std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0)
    return std::to_string(at);
  return when;
}

std::string formatUntil(int64_t until, int64_t now) {
  const std::time_t t = static_cast<std::time_t>(until);
  std::tm utc{};
  char when[32];
  if (gmtime_r(&t, &utc) == nullptr ||  // a year beyond int: shown as it came
      std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0)
    return std::to_string(until);
  return std::string(when) + " (" + std::to_string(std::max<int64_t>(until - now, 0)) + " s left)";
}

std::string formatValue(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "-";
    case Json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
      return std::to_string(value.get<long long>());
    case Json::value_t::number_unsigned:
      return std::to_string(value.get<unsigned long long>());
    case Json::value_t::number_float:
      return formatNumber(value.get<double>());
    case Json::value_t::string:
      return value.get<std::string>();
    case Json::value_t::array: {
      if (value.empty()) return "(none)";
      std::string s;
      for (const Json& element : value) {
        if (!s.empty()) s += ", ";
        s += isScalar(element) ? formatValue(element) : dumpCompact(element);
      }
      return s;
    }
    case Json::value_t::object:
      return value.empty() ? "(none)" : dumpCompact(value);
    default:
      return dumpCompact(value);
  }
}

std::string renderText(const Json& response) {
  std::vector<Item> items;
  if (response.is_object()) {
    for (const auto& [key, value] : response.items())
      if (key != "v" && key != "ok") flatten(value, key, items);
  } else {
    items.push_back({"result", formatValue(response), nullptr});
  }
  size_t width = 0;
  for (const Item& item : items)
    if (item.table == nullptr) width = std::max(width, item.key.size());

  std::string out;
  bool after_table = false;
  for (const Item& item : items) {
    if (item.table != nullptr) {
      if (!out.empty()) out += '\n';
      out += item.key + ":\n";
      renderTable(*item.table, out);
      after_table = true;
      continue;
    }
    if (after_table) out += '\n';
    after_table = false;
    out += item.key + ":";
    if (!item.text.empty()) {
      out.append(width - item.key.size() + 1, ' ');
      out += item.text;
    }
    out += '\n';
  }
  return out;
}

}  // namespace rrdns::control
