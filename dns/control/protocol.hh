// protocol.hh -- the control protocol: one JSON object per line, shared by rrdnsd and rrdnsctl.
//
// Request:  {"v":1,"cmd":"status", ...params}
// Response: {"v":1,"ok":true, ...result}
//           {"v":1,"ok":false,"error":"one line","errors":["file:line: ...", ...]}  (errors optional)
// Lines are UTF-8, end in '\n' and hold at most kMaxLineBytes bytes (the '\n' not counted).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/base/result.hh"

namespace rrdns::control {

// ordered_json keeps keys in insertion order, so a handler's result reaches the operator in the
// order it was written (nlohmann::json would sort every object alphabetically).
using Json = nlohmann::ordered_json;

inline constexpr int kProtocolVersion = 1;
inline constexpr size_t kMaxLineBytes = 1024 * 1024;
// The weight command's range: rrdnsctl refuses anything above it before sending, rrdnsd when it
// arrives. An operator weight stands in for the zone file's, so this is the zone file's limit
// too (kMaxWeight in dns/zone/toml_pools.cc, which cannot see this header).
inline constexpr uint32_t kMaxWeight = 1000;

// {"v":1,"ok":true} followed by the members of `result` (an object; other values are ignored).
Json makeOk(const Json& result = Json::object());
// {"v":1,"ok":false,"error":message[,"errors":[...]]}; "errors" only when there are some.
Json makeError(std::string_view message, const std::vector<std::string>& errors = {});

// The message as one protocol line: compact JSON plus '\n'. Invalid UTF-8 in strings is replaced
// by U+FFFD rather than throwing, so a stray byte in a file name can't lose a whole response.
std::string encodeLine(const Json& message);

// Succeeds when the request's "v" is 1 (or absent: a person typing into socat may leave it out);
// otherwise fails with "unsupported protocol version N; this rrdnsd speaks 1".
Result<void> checkVersion(const Json& request);

// Parses one request line. Its error is the message for the ok:false response:
// "malformed request: ...", the version error, or "request has no cmd".
Result<Json> parseRequest(std::string_view line);

// Response as sent: makes sure it is an object that starts with "v":1 and "ok" (true if the
// handler left it out), and that an ok:false response has a string "error".
Json normaliseResponse(Json response);

// Turns a byte stream into lines; used on both ends of the socket. Bytes are appended with
// feed() and complete lines taken with next(). A line longer than the limit is reported once as
// Oversized and its bytes are dropped up to and including its '\n', so the stream can go on.
class LineSplitter {
 public:
  enum class Status { Line, Incomplete, Oversized };

  explicit LineSplitter(size_t max_line = kMaxLineBytes) : d_max(max_line) {}

  void feed(std::string_view data);
  // Line: `line` holds the next line without its "\n" (or "\r\n"). Incomplete: wait for more
  // bytes. Oversized: a line went past the limit (`line` is left empty).
  Status next(std::string& line);
  // Bytes held that are not yet returned as lines.
  size_t buffered() const { return d_buffer.size() - d_start; }

 private:
  std::string d_buffer;
  size_t d_start = 0;     // consumed prefix of d_buffer, compacted lazily
  size_t d_scanned = 0;   // bytes from d_start known to hold no '\n'
  size_t d_max;
  bool d_skipping = false;  // inside an oversized line: drop up to the next '\n'
};

}  // namespace rrdns::control
