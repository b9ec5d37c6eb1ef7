// client.hh -- a blocking control-socket client (rrdnsctl, tests): lines out, lines in.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "dns/uv/fd.hh"

#include "dns/control/protocol.hh"

struct msghdr;

namespace rrdns::control {

// One connection over plain blocking-style calls bounded by a single deadline (poll(2) under
// the hood), so no call waits past it. Not thread-safe.
class ControlClient {
 public:
  using Clock = std::chrono::steady_clock;
  enum class ReadStatus { Line, Closed, Timeout, Oversized, Error };

  ControlClient() = default;
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;
  ~ControlClient() { close(); }

  // Every later call fails with a timeout once `deadline` has passed.
  void setDeadline(Clock::time_point deadline) { d_deadline = deadline; }

  // Connects to the socket at `path`. A failure says why in an operator's terms
  // ("no such file", "stale socket", "permission denied") and names the path.
  Result<void> connect(const std::string& path);
  // Sends bytes as they are / one request as a protocol line.
  Result<void> sendRaw(std::string_view bytes);
  Result<void> send(const Json& request) { return sendRaw(encodeLine(request)); }
  // Half-closes: the server sees EOF after the requests sent so far, and still answers them.
  void shutdownWrite();
  // The next line from the server (without '\n'); otherwise `error` explains. (Not a Result: the
  // caller tells a timeout and a closed connection apart by the status.)
  ReadStatus readLine(std::string& line, std::string& error);
  // The descriptors received so far (SCM_RIGHTS, in the order sent), handed to the caller. Ones
  // nobody takes are closed with the connection.
  std::vector<uv::Fd> takeFds();
  void close();

 private:
  bool wait(short events, std::string& error);
  void keepFds(msghdr& message);

  int d_fd = -1;
  std::string d_path;
  Clock::time_point d_deadline = Clock::time_point::max();
  LineSplitter d_splitter;
  std::vector<uv::Fd> d_fds;
};

}  // namespace rrdns::control
