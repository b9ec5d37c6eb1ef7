// http_probe.hh -- HTTP(S) probes through libcurl's multi-socket API, driven by a libuv loop.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <cstddef>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "dns/health/probe.hh"

namespace rrdns::health {

// The largest body read per probe: enough for any health page; more is not read (the transfer
// is cut and judged on what arrived), so a broken endpoint cannot stream into memory.
inline constexpr size_t kMaxBodyBytes = 64 * 1024;

// Parses an X-Rrdns-Weight value: an integer 0..100, surrounding blanks allowed; else nullopt.
std::optional<uint8_t> parseWeight(std::string_view value);

// One curl multi handle whose sockets and timeout are watched by the loop (uv_poll_t per socket,
// one uv_timer_t), as in curl's multi-uv.c. Loop thread only. curl_global_init must have run.
class HttpProber {
 public:
  explicit HttpProber(uv_loop_t* loop);
  ~HttpProber();  // shutdown() must have been called and the loop run since, to free handles
  HttpProber(const HttpProber&) = delete;
  HttpProber& operator=(const HttpProber&) = delete;

  // Starts GET http(s)://address:port/path for spec; done gets the verdict. If the transfer
  // cannot even be set up, done is called before probe() returns.
  void probe(const CheckSpec& spec, ProbeDone done);
  // Cancels the transfers in flight (their done is never called), frees curl's handles and
  // closes every uv handle of this prober. Idempotent.
  void shutdown();
  size_t inFlight() const { return d_transfers.size(); }

 private:
  struct Transfer;
  struct Socket;

  static size_t onBody(char* data, size_t size, size_t nmemb, void* userp);
  static size_t onHeader(char* data, size_t size, size_t nitems, void* userp);
  static int onSocket(CURL* easy, curl_socket_t fd, int action, void* userp, void* socketp);
  static int onTimerChange(CURLM* multi, long timeout_ms, void* userp);
  static void onTimer(uv_timer_t* timer);
  static void onPoll(uv_poll_t* poll, int status, int events);
  static void onSocketClosed(uv_handle_t* handle);

  void drainMessages();
  void closeSocket(Socket* socket);
  void release(Transfer* transfer);

  uv_loop_t* d_loop;
  CURLM* d_multi = nullptr;
  uv_timer_t d_timer;
  bool d_shutdown = false;
  std::unordered_set<Transfer*> d_transfers;
  std::unordered_set<Socket*> d_sockets;  // open poll handles, closed at shutdown if curl did not
};

}  // namespace rrdns::health
