// http_probe.cc -- HTTP(S) probes through libcurl's multi-socket API, driven by a libuv loop.
#include "dns/health/http_probe.hh"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <vector>

namespace rrdns::health {

struct HttpProber::Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  ProbeDone done;
  std::vector<uint16_t> expect;
  std::string body_match;
  std::string body;     // kept only when body_match needs it
  size_t received = 0;  // body bytes taken, at most kMaxBodyBytes
  bool truncated = false;
  std::optional<uint8_t> weight;
  std::chrono::steady_clock::time_point started;
  char error[CURL_ERROR_SIZE] = {};
};

struct HttpProber::Socket {
  HttpProber* owner;
  curl_socket_t fd;
  int events = 0;  // what curl last asked to watch
  uv_poll_t poll;
};

namespace {

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && isBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);  // header names are ASCII letters, digits and '-'
         });
}

std::string url(const CheckSpec& spec) {
  std::string host = spec.address;
  if (host.find(':') != std::string::npos) {
    // A zone id ("fe80::1%eth0") must be percent-encoded inside the URL's brackets.
    if (auto pct = host.find('%'); pct != std::string::npos) host.replace(pct, 1, "%25");
    host = "[" + host + "]";
  }
  const char* scheme = spec.kind == CheckKind::Https ? "https://" : "http://";
  const bool slash = !spec.path.empty() && spec.path.front() == '/';
  return scheme + host + ":" + std::to_string(spec.port) + (slash ? "" : "/") + spec.path;
}

ProbeResult failure(std::string reason) {
  ProbeResult r;
  r.reason = std::move(reason);
  return r;
}

}  // namespace

std::optional<uint8_t> parseWeight(std::string_view value) {
  value = trim(value);
  if (value.empty() || value.size() > 3) return std::nullopt;
  unsigned n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n > 100) return std::nullopt;
  return static_cast<uint8_t>(n);
}

size_t HttpProber::onBody(char* data, size_t size, size_t nmemb, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const size_t n = size * nmemb;
  const size_t keep = std::min(n, kMaxBodyBytes - t->received);
  if (!t->body_match.empty()) t->body.append(data, keep);
  t->received += keep;
  if (keep < n) t->truncated = true;  // returning less than n makes curl stop with WRITE_ERROR
  return keep;
}

size_t HttpProber::onHeader(char* data, size_t size, size_t nitems, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  const std::string_view line(data, size * nitems);
  if (line.starts_with("HTTP/")) {
    t->weight.reset();  // a new response starts (after a 1xx): only the final one counts
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    if (iequals(trim(line.substr(0, colon)), "X-Rrdns-Weight")) {
      t->weight = parseWeight(line.substr(colon + 1));
    }
  }
  return line.size();
}

HttpProber::HttpProber(uv_loop_t* loop) : d_loop(loop) {
  d_multi = curl_multi_init();
  if (!d_multi) throw std::runtime_error("curl_multi_init failed");
  uv_timer_init(d_loop, &d_timer);
  d_timer.data = this;
  curl_multi_setopt(d_multi, CURLMOPT_SOCKETFUNCTION, onSocket);
  curl_multi_setopt(d_multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(d_multi, CURLMOPT_TIMERFUNCTION, onTimerChange);
  curl_multi_setopt(d_multi, CURLMOPT_TIMERDATA, this);
}

HttpProber::~HttpProber() {
  if (!d_shutdown) spdlog::error("health: HttpProber destroyed without shutdown()");
}

void HttpProber::probe(const CheckSpec& spec, ProbeDone done) {
  if (d_shutdown) return;
  auto* t = new Transfer;
  t->done = std::move(done);
  t->expect = spec.expect;
  t->body_match = spec.body_match;
  t->started = std::chrono::steady_clock::now();
  t->easy = curl_easy_init();
  if (!t->easy) {
    ProbeDone cb = std::move(t->done);
    delete t;
    cb(failure("curl_easy_init failed"));
    return;
  }
  CURL* e = t->easy;
  const std::string target = url(spec);
  curl_easy_setopt(e, CURLOPT_URL, target.c_str());  // curl copies strings
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(spec.timeout_ms ? spec.timeout_ms : 1));
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  // Replicas are addressed directly: an http_proxy/no_proxy in the daemon's environment must
  // not reroute (or break) the checks.
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  // A fresh connection per probe, so a replica that stopped accepting is seen at once rather
  // than hidden behind a kept-alive connection.
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "rrdns-health");
  if (spec.kind == CheckKind::Https) {
    // Replicas are addressed by IP, so no name in their certificate could match; the check
    // asks "is it serving", not "is it who it claims to be".
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!spec.host.empty()) {
    t->headers = curl_slist_append(nullptr, ("Host: " + spec.host).c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  }
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);

  if (CURLMcode rc = curl_multi_add_handle(d_multi, e); rc != CURLM_OK) {
    ProbeDone cb = std::move(t->done);
    curl_slist_free_all(t->headers);
    curl_easy_cleanup(e);
    delete t;
    cb(failure(curl_multi_strerror(rc)));
    return;
  }
  d_transfers.insert(t);  // curl's timer callback now asks the loop to kick the transfer off
}

void HttpProber::release(Transfer* t) {
  d_transfers.erase(t);
  curl_multi_remove_handle(d_multi, t->easy);
  curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  delete t;
}

void HttpProber::drainMessages() {
  CURLMsg* msg;
  int pending;
  while ((msg = curl_multi_info_read(d_multi, &pending))) {
    if (msg->msg != CURLMSG_DONE) continue;
    // msg dies with the easy handle: take what we need first.
    CURL* easy = msg->easy_handle;
    const CURLcode code = msg->data.result;
    Transfer* t = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));

    ProbeResult r;
    r.latency_us = elapsedUs(t->started);
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && t->truncated)) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      const bool expected =
          std::find(t->expect.begin(), t->expect.end(), status) != t->expect.end();
      if (!expected) {
        r.reason = "status " + std::to_string(status);
      } else if (!t->body_match.empty() && t->body.find(t->body_match) == std::string::npos) {
        r.reason = "body does not contain '" + t->body_match + "'";
      } else {
        r.ok = true;
        r.reason = "ok";
      }
      r.reported_weight = t->weight;
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
      r.reason = "timeout";
    } else {
      long os_errno = 0;
      curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
      if (code == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED) {
        r.reason = "connection refused";
      } else {
        r.reason = t->error[0] ? t->error : curl_easy_strerror(code);
      }
    }
    ProbeDone done = std::move(t->done);
    release(t);
    done(std::move(r));
  }
}

int HttpProber::onSocket(CURL*, curl_socket_t fd, int action, void* userp, void* socketp) {
  auto* self = static_cast<HttpProber*>(userp);
  auto* socket = static_cast<Socket*>(socketp);
  if (action == CURL_POLL_REMOVE) {
    if (socket) {
      self->closeSocket(socket);
      if (!self->d_shutdown) curl_multi_assign(self->d_multi, fd, nullptr);
    }
    return 0;
  }
  if (!socket) {
    socket = new Socket{self, fd, 0, {}};
    if (int rc = uv_poll_init_socket(self->d_loop, &socket->poll, fd); rc < 0) {
      spdlog::error("health: uv_poll_init_socket: {}", uv_strerror(rc));
      delete socket;  // never became a handle, so no close callback will free it
      return -1;
    }
    socket->poll.data = socket;
    self->d_sockets.insert(socket);
    curl_multi_assign(self->d_multi, fd, socket);
  }
  int events = 0;
  if (action & CURL_POLL_IN) events |= UV_READABLE;
  if (action & CURL_POLL_OUT) events |= UV_WRITABLE;
  socket->events = events;
  uv_poll_start(&socket->poll, events, onPoll);
  return 0;
}

void HttpProber::closeSocket(Socket* socket) {
  d_sockets.erase(socket);
  uv_close(reinterpret_cast<uv_handle_t*>(&socket->poll), onSocketClosed);
}

void HttpProber::onSocketClosed(uv_handle_t* handle) { delete static_cast<Socket*>(handle->data); }

int HttpProber::onTimerChange(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<HttpProber*>(userp);
  if (self->d_shutdown) return 0;
  // curl must not be re-entered from its own callback: a 0 ms timeout fires on the next loop
  // iteration instead.
  if (timeout_ms < 0) {
    uv_timer_stop(&self->d_timer);
  } else {
    uv_timer_start(&self->d_timer, onTimer, static_cast<uint64_t>(timeout_ms), 0);
  }
  return 0;
}

void HttpProber::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<HttpProber*>(timer->data);
  int running;
  curl_multi_socket_action(self->d_multi, CURL_SOCKET_TIMEOUT, 0, &running);
  self->drainMessages();
}

void HttpProber::onPoll(uv_poll_t* poll, int status, int events) {
  auto* socket = static_cast<Socket*>(poll->data);
  HttpProber* self = socket->owner;
  const curl_socket_t fd = socket->fd;  // the socket may be closed inside socket_action
  int flags = 0;
  if (status < 0) {
    // libuv reports POLLERR as an error and stops the handle; letting curl try to read and
    // write as well makes it fail with the socket's real error, not "select/poll returned error".
    flags = CURL_CSELECT_IN | CURL_CSELECT_OUT | CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  int running;
  curl_multi_socket_action(self->d_multi, fd, flags, &running);
  // libuv stopped the handle on the error; if curl still holds the socket, keep watching it so
  // the transfer ends on curl's own terms (its error or its timeout), never silently stalled.
  if (status < 0 && self->d_sockets.count(socket) &&
      !uv_is_active(reinterpret_cast<uv_handle_t*>(poll))) {
    uv_poll_start(poll, socket->events, onPoll);
  }
  self->drainMessages();
}

void HttpProber::shutdown() {
  if (d_shutdown) return;
  d_shutdown = true;
  for (Transfer* t : std::vector<Transfer*>(d_transfers.begin(), d_transfers.end())) release(t);
  curl_multi_cleanup(d_multi);  // may still report sockets to remove: onSocket closes them
  d_multi = nullptr;
  for (Socket* s : std::vector<Socket*>(d_sockets.begin(), d_sockets.end())) closeSocket(s);
  uv_close(reinterpret_cast<uv_handle_t*>(&d_timer), nullptr);
}

}  // namespace rrdns::health
