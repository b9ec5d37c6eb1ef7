// command_line.hh -- rrdnsctl's arguments: options, the command, and the request it sends.
#pragma once

#include <optional>
#include <string>

#include "dns/control/protocol.hh"

namespace rrdns::ctl {

inline constexpr const char* kDefaultSocket = "/run/rrdns/control.sock";
inline constexpr double kDefaultTimeoutSeconds = 30;
// replace's default: longer than the 120 s rrdnsd gives a new daemon to take over.
inline constexpr double kReplaceTimeoutSeconds = 150;

struct CommandLine {
  enum class Action { Run, Help, Version };
  enum class Output { Text, Json, JsonPretty };

  Action action = Action::Run;
  std::string socket;  // --socket, else $RRDNS_CONTROL, else kDefaultSocket
  Output output = Output::Text;
  double timeout_s = kDefaultTimeoutSeconds;
  control::Json request;  // {"v":1,"cmd":...}
};

// Parses argv; nullopt with `error` set on a usage error.
std::optional<CommandLine> parseCommandLine(int argc, char** argv, std::string& error);

// "90", "30s", "5m", "1h", "1h30m", "1.5h" -> seconds; nullopt unless finite and > 0.
std::optional<double> parseDuration(const std::string& text);

extern const std::string kUsage;

}  // namespace rrdns::ctl
