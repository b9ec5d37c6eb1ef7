// protocol.cc -- building, checking and framing control protocol messages.
#include "dns/control/protocol.hh"

#include <utility>

namespace rrdns::control {

Json makeOk(const Json& result) {
  Json out = {{"v", kProtocolVersion}, {"ok", true}};
  if (result.is_object())
    for (const auto& [key, value] : result.items())
      if (key != "v" && key != "ok") out[key] = value;
  return out;
}

Json makeError(std::string_view message, const std::vector<std::string>& errors) {
  Json out = {{"v", kProtocolVersion}, {"ok", false}, {"error", std::string(message)}};
  if (!errors.empty()) out["errors"] = errors;
  return out;
}

std::string encodeLine(const Json& message) {
  std::string line = message.dump(-1, ' ', false, Json::error_handler_t::replace);
  line += '\n';
  return line;
}

Result<void> checkVersion(const Json& request) {
  auto it = request.find("v");
  if (it == request.end()) return success();
  if (it->is_number_integer() && it->get<long long>() == kProtocolVersion) return success();
  if (it->is_number_unsigned() && it->get<unsigned long long>() == kProtocolVersion)
    return success();
  return error("unsupported protocol version " +
               it->dump(-1, ' ', false, Json::error_handler_t::replace) + "; this rrdnsd speaks " +
               std::to_string(kProtocolVersion));
}

Result<Json> parseRequest(std::string_view line) {
  Json request;
  try {
    request = Json::parse(line);
  } catch (const Json::exception& e) {
    // Not only parse_error: a number too big for a double ("1e999") is out_of_range (406).
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> from "parse".
    std::string what = e.what();
    auto pos = what.find("] ");
    return error("malformed request: " + (pos == std::string::npos ? what : what.substr(pos + 2)));
  }
  if (!request.is_object())
    return error(std::string("malformed request: expected a JSON object, got ") +
                 request.type_name());
  if (Result<void> version = checkVersion(request); !version.ok()) return version.errors();
  auto cmd = request.find("cmd");
  if (cmd == request.end() || !cmd->is_string() || cmd->get_ref<const std::string&>().empty())
    return error("request has no cmd");
  return request;
}

Json normaliseResponse(Json response) {
  if (!response.is_object()) return makeError("internal error: the command's response is not an object");
  auto ok = response.find("ok");
  bool success = ok == response.end() || !ok->is_boolean() || ok->get<bool>();
  if (success) return makeOk(response);
  Json out = {{"v", kProtocolVersion}, {"ok", false}};
  auto error = response.find("error");
  out["error"] = error != response.end() && error->is_string() ? *error : Json("command failed");
  for (const auto& [key, value] : response.items())
    if (key != "v" && key != "ok" && key != "error") out[key] = value;
  return out;
}

void LineSplitter::feed(std::string_view data) {
  // Drop the consumed prefix once it is the larger part, so appends stay amortised O(1).
  if (d_start > 0 && d_start >= d_buffer.size() / 2) {
    d_buffer.erase(0, d_start);
    d_start = 0;
  }
  d_buffer.append(data);
}

LineSplitter::Status LineSplitter::next(std::string& line) {
  line.clear();
  for (;;) {
    size_t pos = d_buffer.find('\n', d_start + d_scanned);
    if (pos == std::string::npos) {
      size_t held = d_buffer.size() - d_start;
      if (d_skipping) {
        d_buffer.clear();
        d_start = d_scanned = 0;
        return Status::Incomplete;
      }
      // One more byte than the limit may still be the '\r' of a "\r\n".
      if (held > d_max + 1) {
        d_skipping = true;
        d_buffer.clear();
        d_start = d_scanned = 0;
        return Status::Oversized;
      }
      d_scanned = held;
      return Status::Incomplete;
    }
    size_t begin = d_start;
    size_t length = pos - begin;
    d_start = pos + 1;
    d_scanned = 0;
    if (d_skipping) {
      d_skipping = false;
      continue;
    }
    if (length > 0 && d_buffer[begin + length - 1] == '\r') --length;
    if (length > d_max) return Status::Oversized;
    line.assign(d_buffer, begin, length);
    if (d_start == d_buffer.size()) {
      d_buffer.clear();
      d_start = 0;
    }
    return Status::Line;
  }
}

}  // namespace rrdns::control
