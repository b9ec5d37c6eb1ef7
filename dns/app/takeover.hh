// takeover.hh -- rrdnsctl replace: a new rrdnsd takes the listening sockets from the running one
// over the control socket (SCM_RIGHTS), as gdnsd's replace does, so no query goes unanswered.
//
// The conversation, on one control connection from the new daemon to the old one:
//   rrdnsctl -> old   {"cmd":"replace","binary":PATH}        old saves its state file and starts
//                                                             PATH (default: its own binary) with
//                                                             its own arguments and
//                                                             RRDNS_TAKEOVER=<control socket>
//   new -> old        {"cmd":"takeover","pid":N}             only from the child just started
//   old -> new        {"ok":true,"threads":T,"listen":[..],"sockets":S} + S+1 descriptors: the
//                     listening sockets (Server::listenFds() order), then the control socket's
//   new: loads its zones and state, checks the sockets against its own configuration, starts
//        reading them (both daemons answer for a moment), then
//   new -> old        {"cmd":"takeover-ready"}               old stops reading, lets go of the
//                                                             metrics port, replies; rrdnsctl
//                                                             gets {"pid":N}; old answers the TCP
//                                                             connections it holds until they
//                                                             end, then exits
//   new -> old        {"cmd":"takeover-failed","errors":[..]} instead, on any startup error: the
//                                                             old one keeps serving and rrdnsctl
//                                                             gets the reason
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dns/base/result.hh"
#include "dns/control/client.hh"
#include "dns/control/server.hh"
#include "dns/server/server.hh"
#include "dns/uv/fd.hh"
#include "dns/uv/handle.hh"

namespace rrdns::app {

// The environment variable that tells a new rrdnsd to take over, naming the control socket of
// the daemon it replaces.
inline constexpr const char* kTakeoverVariable = "RRDNS_TAKEOVER";

// The running daemon's side. Main loop only.
class Replacer final : public uv::HandleOwner {
 public:
  struct Hooks {
    std::function<void()> save_state;  // before the new daemon starts, and when it takes over
    std::function<void()> released;    // the new daemon serves: let go of the state file, metrics
    std::function<void()> stop;        // the connections owed are done: stop the daemon
  };
  // The new daemon must answer within this long (loading a zone of a million records takes a
  // few seconds), or it is stopped and the replace fails.
  static constexpr uint64_t kTimeoutMs = 120'000;

  Replacer(uv_loop_t* loop, std::vector<std::string> argv, server::Server& server, Hooks hooks);
  Replacer(const Replacer&) = delete;
  Replacer& operator=(const Replacer&) = delete;
  ~Replacer();

  // The control socket the sockets are handed over with (its listening socket goes along).
  void attach(control::ControlServer& control) { d_control = &control; }

  // rrdnsctl replace: replies when the new daemon serves, or when it failed.
  // Logged with `peer` (the audit trail).
  void replace(const control::Json& request, const control::Peer& peer, control::Reply reply);
  // The new daemon's requests (cmd "takeover", "takeover-ready", "takeover-failed").
  void takeover(const control::Json& request, const control::Peer& peer, control::FdReply reply);

  void close() override;

 private:
  enum class Phase { Idle, Started, HandedOver, Released };

  static void onExit(uv_process_t* process, int64_t status, int signal);
  static void onTimer(uv_timer_t* timer);
  void fail(const std::string& why, const std::vector<std::string>& errors = {});
  void ready(control::FdReply reply);
  void checkDrained();

  uv_loop_t* d_loop;
  std::vector<std::string> d_argv;
  server::Server& d_server;
  Hooks d_hooks;
  control::ControlServer* d_control = nullptr;

  Phase d_phase = Phase::Idle;
  control::Reply d_reply;  // rrdnsctl's, while a replace is under way
  std::string d_binary;
  int d_child_pid = 0;
  uv_process_t d_process;
  bool d_process_open = false;
  uv_timer_t d_timer;  // the replace's deadline, then the drain's checks
  uint64_t d_drain_deadline_ms = 0;
  bool d_closed = false;
};

// The new daemon's side, when $RRDNS_TAKEOVER is set.
class TakeoverClient {
 public:
  struct Sockets {
    std::vector<uv::Fd> listen;  // Server::listenFds() order
    uv::Fd control;
  };

  // Reads and unsets $RRDNS_TAKEOVER (so that this daemon's own replace sets it afresh); null when
  // it is not set: an ordinary start.
  static std::unique_ptr<TakeoverClient> fromEnvironment();

  // Keeps the daemon's error-level log lines, to tell the old daemon why a start failed. Call
  // once the logger is set up.
  void watchLog();

  // Asks the old daemon for its sockets. Fails when it refuses, or when what it runs does not
  // match `settings` and `control_path`: listen addresses, thread count and control socket cannot
  // change across a replace (restart for that).
  Result<Sockets> takeSockets(const server::ServerSettings& settings,
                              const std::string& control_path);
  // This daemon serves: the old one stops reading. Returns once it has.
  Result<void> ready();
  // The start failed (exit status `status`): tells the old daemon, with the error lines logged.
  void failed(int status);

 private:
  explicit TakeoverClient(std::string path) : d_path(std::move(path)) {}
  Result<control::Json> exchange(const control::Json& request);

  std::string d_path;
  control::ControlClient d_client;
  bool d_connected = false;
  std::shared_ptr<std::vector<std::string>> d_errors = std::make_shared<std::vector<std::string>>();
};

}  // namespace rrdns::app
