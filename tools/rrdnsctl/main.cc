// main.cc -- rrdnsctl: sends one command to rrdnsd's control socket and shows the answer.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "dns/control/client.hh"
#include "dns/control/protocol.hh"
#include "dns/control/render.hh"
#include "tools/rrdnsctl/command_line.hh"

namespace {

using rrdns::control::Json;

constexpr int kOk = 0;
constexpr int kDaemonError = 1;
constexpr int kUsage = 2;
constexpr int kNoAnswer = 3;

int fail(const std::string& message) {
  std::cerr << "rrdnsctl: " << message << "\n";
  return kNoAnswer;
}

// ok:false. The daemon refuses a peer with the wrong uid this way; that is not an answer to
// the command, so it exits like any other failure to get one.
int reportError(const Json& response) {
  std::string error = response.contains("error") && response["error"].is_string()
                          ? response["error"].get<std::string>()
                          : "rrdnsd reported an error";
  std::cerr << "rrdnsctl: " << error << "\n";
  if (auto it = response.find("errors"); it != response.end()) {
    if (it->is_array()) {
      for (const Json& line : *it) std::cerr << rrdns::control::formatValue(line) << "\n";
    } else {
      std::cerr << rrdns::control::formatValue(*it) << "\n";
    }
  }
  Json rest = Json::object();
  for (const auto& [key, value] : response.items())
    if (key != "error" && key != "errors") rest[key] = value;
  std::cout << rrdns::control::renderText(rest);
  return error.rfind("permission denied: uid", 0) == 0 ? kNoAnswer : kDaemonError;
}

int run(int argc, char** argv) {
  std::string error;
  auto command_line = rrdns::ctl::parseCommandLine(argc, argv, error);
  if (!command_line) {
    std::cerr << "rrdnsctl: " << error << "\n";
    // The command list helps when the command is what went wrong; otherwise the synopsis.
    if (error.rfind("unknown command", 0) == 0 || error.rfind("no command", 0) == 0) {
      std::cerr << "\n" << rrdns::ctl::kUsage;
    } else {
      std::string usage = rrdns::ctl::kUsage;
      std::cerr << usage.substr(0, usage.find('\n') + 1) << "(rrdnsctl --help lists the commands)\n";
    }
    return kUsage;
  }
  using Action = rrdns::ctl::CommandLine::Action;
  using Output = rrdns::ctl::CommandLine::Output;
  if (command_line->action == Action::Help) {
    std::cout << rrdns::ctl::kUsage;
    return kOk;
  }
  if (command_line->action == Action::Version) {
    std::cout << "rrdnsctl " << RRDNS_VERSION << " (control protocol "
              << rrdns::control::kProtocolVersion << ")\n";
    return kOk;
  }

  const std::string& path = command_line->socket;
  rrdns::control::ControlClient client;
  client.setDeadline(std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(command_line->timeout_s)));
  if (auto connected = client.connect(path); !connected.ok()) return fail(connected.error().text());
  if (auto sent = client.send(command_line->request); !sent.ok())
    return fail(sent.error().text() + " (" + path + ")");
  client.shutdownWrite();  // one request per connection: rrdnsd answers it, then closes

  std::string line;
  switch (client.readLine(line, error)) {
    case rrdns::control::ControlClient::ReadStatus::Line:
      break;
    case rrdns::control::ControlClient::ReadStatus::Timeout:
      return fail("no reply from rrdnsd within " +
                  rrdns::control::formatNumber(command_line->timeout_s) + " s (" + path +
                  "; a longer --timeout may help)");
    default:
      return fail(error + " (" + path + ")");
  }
  Json response = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (response.is_discarded() || !response.is_object() || !response.contains("ok"))
    return fail("malformed reply from rrdnsd: " + line.substr(0, 200));
  bool ok = response["ok"].is_boolean() && response["ok"].get<bool>();

  if (command_line->output != Output::Text) {
    if (command_line->output == Output::JsonPretty) {
      std::cout << response.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    } else {
      std::cout << line << "\n";
    }
    if (ok) return kOk;
    const Json& message = response["error"];
    bool refused = message.is_string() &&
                   message.get<std::string>().rfind("permission denied: uid", 0) == 0;
    return refused ? kNoAnswer : kDaemonError;
  }
  if (!ok) return reportError(response);
  // dnssec ds: the records alone, one per line, for the parent (or a trust anchor file).
  if (command_line->request.value("cmd", "") == "dnssec" &&
      command_line->request.value("action", "") == "ds") {
    if (auto ds = response.find("ds"); ds != response.end() && ds->is_array())
      for (const Json& record : *ds) std::cout << rrdns::control::formatValue(record) << "\n";
    return kOk;
  }
  std::string text = rrdns::control::renderText(response);
  std::cout << (text.empty() ? "ok\n" : text);
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "rrdnsctl: " << e.what() << "\n";
    return kNoAnswer;
  }
}
