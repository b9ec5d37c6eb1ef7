// protocol_test.cc -- the line splitter, version check and message helpers of dns/control/protocol.
#include "dns/control/protocol.hh"

#include <doctest/doctest.h>

#include <string>

using namespace rrdns::control;

namespace {

// Everything the splitter has to offer now, with Oversized shown as "<oversized>".
std::vector<std::string> drain(LineSplitter& splitter) {
  std::vector<std::string> out;
  std::string line;
  for (;;) {
    auto status = splitter.next(line);
    if (status == LineSplitter::Status::Incomplete) return out;
    out.push_back(status == LineSplitter::Status::Line ? line : "<oversized>");
  }
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("splitter: several lines in one feed, the last one partial") {
  LineSplitter splitter;
  splitter.feed("one\ntwo\r\n\nthr");
  CHECK(drain(splitter) == Lines{"one", "two", ""});
  CHECK(splitter.buffered() == 3);
  splitter.feed("ee");
  CHECK(drain(splitter).empty());
  splitter.feed("\nfour\n");
  CHECK(drain(splitter) == Lines{"three", "four"});
  CHECK(splitter.buffered() == 0);
}

TEST_CASE("splitter: a line fed one byte at a time") {
  LineSplitter splitter;
  std::string text = "{\"v\":1,\"cmd\":\"status\"}\n";
  Lines got;
  for (char c : text) {
    splitter.feed(std::string_view(&c, 1));
    for (auto& line : drain(splitter)) got.push_back(line);
  }
  CHECK(got == Lines{"{\"v\":1,\"cmd\":\"status\"}"});
}

TEST_CASE("splitter: a line exactly at the limit passes, one byte more does not") {
  LineSplitter splitter(8);
  splitter.feed("12345678\n123456789\nok\n");
  CHECK(drain(splitter) == Lines{"12345678", "<oversized>", "ok"});
  splitter.feed("12345678\r\n");  // the \r is not part of the line
  CHECK(drain(splitter) == Lines{"12345678"});
}

TEST_CASE("splitter: an oversized line without a newline is reported once, then skipped") {
  LineSplitter splitter(8);
  splitter.feed("0123456789");
  CHECK(drain(splitter) == Lines{"<oversized>"});
  splitter.feed("more of the same line");
  CHECK(drain(splitter).empty());
  CHECK(splitter.buffered() == 0);  // skipped bytes are not kept
  splitter.feed(" end\nnext\n");
  CHECK(drain(splitter) == Lines{"next"});
}

TEST_CASE("splitter: buffered bytes stay bounded while lines are consumed") {
  LineSplitter splitter;
  std::string chunk;
  for (int i = 0; i < 1000; ++i) chunk += "line " + std::to_string(i) + "\n";
  for (int round = 0; round < 50; ++round) {
    splitter.feed(chunk);
    CHECK(drain(splitter).size() == 1000);
  }
  CHECK(splitter.buffered() == 0);
}

// checkVersion's error text; empty when it succeeds.
static std::string versionError(const Json& request) {
  auto checked = checkVersion(request);
  return checked.ok() ? "" : checked.error().text();
}

// parseRequest, with its error (if any) in `error`.
static std::optional<Json> parsed(std::string_view line, std::string& error) {
  auto request = parseRequest(line);
  if (!request.ok()) {
    error = request.error().text();
    return std::nullopt;
  }
  return std::move(request).value();
}

TEST_CASE("version check") {
  CHECK(checkVersion(Json{{"v", 1}, {"cmd", "status"}}).ok());
  CHECK(checkVersion(Json{{"cmd", "status"}}).ok());  // left out by a person typing
  CHECK(versionError(Json{{"v", 2}}) == "unsupported protocol version 2; this rrdnsd speaks 1");
  CHECK(versionError(Json{{"v", "1"}}) ==
        "unsupported protocol version \"1\"; this rrdnsd speaks 1");
  CHECK_FALSE(checkVersion(Json{{"v", 1.5}}).ok());
}

TEST_CASE("parseRequest: the errors a client can get before its command runs") {
  std::string error;
  auto ok = parsed(R"({"v":1,"cmd":"drain","member":"web1"})", error);
  REQUIRE(ok);
  CHECK((*ok)["member"] == "web1");

  CHECK_FALSE(parsed(R"({"v":1,"cmd":)", error));
  CHECK(error.rfind("malformed request: parse error", 0) == 0);
  CHECK_FALSE(parsed("[1,2]", error));
  CHECK(error == "malformed request: expected a JSON object, got array");
  CHECK_FALSE(parsed(R"({"v":1})", error));
  CHECK(error == "request has no cmd");
  CHECK_FALSE(parsed(R"({"v":1,"cmd":7})", error));
  CHECK(error == "request has no cmd");
  CHECK_FALSE(parsed(R"({"v":3,"cmd":"status"})", error));
  CHECK(error == "unsupported protocol version 3; this rrdnsd speaks 1");
}

TEST_CASE("makeOk / makeError / encodeLine") {
  CHECK(encodeLine(makeOk()) == "{\"v\":1,\"ok\":true}\n");
  CHECK(encodeLine(makeOk(Json{{"zones", 3}, {"v", 9}})) == "{\"v\":1,\"ok\":true,\"zones\":3}\n");
  CHECK(encodeLine(makeError("no such pool: www")) ==
        "{\"v\":1,\"ok\":false,\"error\":\"no such pool: www\"}\n");
  CHECK(encodeLine(makeError("reload failed", {"a.toml:3: bad", "b.toml:9: worse"})) ==
        "{\"v\":1,\"ok\":false,\"error\":\"reload failed\",\"errors\":[\"a.toml:3: bad\","
        "\"b.toml:9: worse\"]}\n");
  // Invalid UTF-8 is replaced, not thrown.
  CHECK(encodeLine(Json{{"file", std::string("bad\xff")}}) == "{\"file\":\"bad\xEF\xBF\xBD\"}\n");
}

TEST_CASE("normaliseResponse: v and ok first, an error for ok:false") {
  CHECK(normaliseResponse(Json{{"zones", 2}}).dump() == R"({"v":1,"ok":true,"zones":2})");
  CHECK(normaliseResponse(Json{{"zones", 2}, {"ok", true}, {"v", 1}}).dump() ==
        R"({"v":1,"ok":true,"zones":2})");
  CHECK(normaliseResponse(Json{{"ok", false}}).dump() ==
        R"({"v":1,"ok":false,"error":"command failed"})");
  CHECK(normaliseResponse(Json{{"errors", {"x"}}, {"ok", false}, {"error", "bad"}}).dump() ==
        R"({"v":1,"ok":false,"error":"bad","errors":["x"]})");
  CHECK(normaliseResponse(Json::array()).dump() ==
        R"({"v":1,"ok":false,"error":"internal error: the command's response is not an object"})");
}
