// resolver.hh: a small asynchronous DNS client on c-ares for rrdns-verify. Sends A/AAAA queries
// to one server (UDP, or TCP with useTcp), with an EDNS Client Subnet option when given one,
// parses the answers keeping their wire order, and measures each query's latency. Driven by
// poll() (ares_fds + select + ares_process).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tools/verify/client_subnet.hh"

struct ares_channeldata;

struct Answer {
  bool answered = false;                 // a response arrived (any rcode) before the timeout
  int status = 0;                        // the c-ares status code
  std::vector<std::string> addresses;    // in wire order; empty for NODATA/NXDOMAIN/errors
  double latencyMs = 0;
  ClientSubnetReply ecs;                 // the response's OPT record and ECS option, if any
};

class Resolver {
 public:
  using Callback = std::function<void(const Answer&)>;

  // server is "HOST:PORT"; throws std::runtime_error on failure. With a subnet, every query
  // carries EDNS (payload 1232) with that ECS option.
  Resolver(const std::string& server, bool useTcp, double timeoutSec,
           std::optional<ClientSubnet> subnet = std::nullopt);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Starts one query; done runs from within poll().
  void send(const std::string& name, bool aaaa, Callback done);
  // Waits at most maxWaitSec for socket activity, then lets c-ares process it and timeouts.
  void poll(double maxWaitSec);
  int pending() const { return d_pending; }
  // Sends one query and polls until it completes.
  Answer query(const std::string& name, bool aaaa);

 private:
  struct Request;
  static void onAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

  ares_channeldata* d_channel = nullptr;
  int d_pending = 0;
  std::vector<uint8_t> d_ecsOption;  // the ECS option's bytes; empty: no EDNS at all
};
