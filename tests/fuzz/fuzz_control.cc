// fuzz_control.cc -- libFuzzer target: a byte stream on the control socket, split into lines and
// parsed as requests, and each request pushed through the response path (normalise, encode,
// render) as a handler that echoes its input would.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dns/control/protocol.hh"
#include "dns/control/render.hh"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rrdns::control;
  const std::string_view stream(reinterpret_cast<const char*>(data), size);
  // A small limit so that oversized lines are reached; the stream is fed in uneven chunks, the
  // way reads from a socket arrive.
  LineSplitter splitter(4096);
  size_t fed = 0, chunk = 1;
  std::string line;
  while (fed < stream.size()) {
    const size_t n = std::min(chunk, stream.size() - fed);
    splitter.feed(stream.substr(fed, n));
    fed += n;
    chunk = chunk * 7 % 5003 + 1;
    for (int i = 0; i < 100000; ++i) {
      const LineSplitter::Status status = splitter.next(line);
      if (status == LineSplitter::Status::Incomplete) break;
      if (status == LineSplitter::Status::Oversized) {
        if (!line.empty()) fail("oversized line left in `line`");
        continue;
      }
      if (line.size() > 4096) fail("line over the limit returned");
      auto request = parseRequest(line);
      if (!request.ok()) {
        const std::string error = request.errors().empty() ? "" : request.error().text();
        if (error.empty()) fail("rejected request without an error");
        const std::string out = encodeLine(makeError(error));
        if (out.empty() || out.back() != '\n' || out.find('\n') != out.size() - 1)
          fail("error response is not one line");
        continue;
      }
      if (!request->is_object() || !request->contains("cmd")) fail("accepted a request without cmd");
      const Json response = normaliseResponse(*request);
      const std::string out = encodeLine(response);
      if (out.empty() || out.back() != '\n' || out.find('\n') != out.size() - 1)
        fail("response is not one line");
      renderText(response);
      // What rrdnsctl does with the line it gets back: parse it again.
      try {
        const Json again = Json::parse(std::string_view(out).substr(0, out.size() - 1));
        if (!again.is_object() || !again.contains("ok")) fail("response lost ok");
      } catch (const Json::parse_error&) {
        fail("encoded response does not parse");
      }
    }
  }
  return 0;
}
