// server.cc -- control socket: binding, peer credentials, in-order request/reply per connection.
#include "dns/control/server.hh"

#include <errno.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <new>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dns/control/fd_passing.hh"
#include "dns/uv/fd.hh"
#include "dns/uv/stream_session.hh"

namespace rrdns::control {
namespace detail {

namespace {

std::string errnoText(int error) { return std::strerror(error); }

bool fillAddress(const std::string& path, sockaddr_un& address, std::string& error) {
  address = {};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    error = "control socket path must be 1 to " + std::to_string(sizeof address.sun_path - 1) +
            " bytes long: " + path;
    return false;
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  return true;
}

// Makes room for the socket: removes a stale one, refuses to touch anything else.
bool clearPath(const std::string& path, const sockaddr_un& address, std::string& error) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return true;
    error = "cannot use control socket " + path + ": " + errnoText(errno);
    return false;
  }
  if (!S_ISSOCK(st.st_mode)) {
    error = "cannot use control socket " + path + ": it exists and is not a socket";
    return false;
  }
  // A socket file outlives a daemon that was killed. Only a connect tells whether anyone is
  // still accepting on it.
  uv::Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (probe.get() < 0) {
    error = "cannot check control socket " + path + ": " + errnoText(errno);
    return false;
  }
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    error = "control socket " + path + " is in use by another process (is rrdnsd already running?)";
    return false;
  }
  if (errno != ECONNREFUSED) {
    error = "cannot check control socket " + path + ": " + errnoText(errno);
    return false;
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    error = "cannot remove stale control socket " + path + ": " + errnoText(errno);
    return false;
  }
  spdlog::info("control: removed stale socket {}", path);
  return true;
}

void ensureParent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  std::string parent = path.substr(0, slash);
  // Only the last level: a missing /run/rrdns is normal, a missing /run is a typo. If this
  // fails, bind() reports the error in terms of the socket path.
  if (::mkdir(parent.c_str(), 0755) == 0) spdlog::info("control: created {}", parent);
}

}  // namespace

class Connection;

// The listening socket and the set of live connections. Frees itself once its pipe and every
// connection have finished closing.
class Listener final : public uv::HandleOwner {
 public:
  Listener(uv_loop_t* loop, std::string path, Handler handler)
      : d_loop(loop), d_path(std::move(path)), d_handler(std::move(handler)) {}
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  bool open(std::string& error);
  bool adopt(int fd, std::string& error);
  void close() override;
  void handOver();
  int listeningFd() const;
  const FdHandler& fdHandler() const { return d_fd_handler; }
  void setFdHandler(FdHandler handler) { d_fd_handler = std::move(handler); }

  uv_loop_t* loop() const { return d_loop; }
  const Handler& handler() const { return d_handler; }
  uint64_t idleTimeoutMs() const { return d_idle_ms; }
  void setIdleTimeoutMs(uint64_t ms) { d_idle_ms = ms; }
  void detachFront() { d_front = nullptr; }
  void attachFront(ControlServer* front) { d_front = front; }

  void adopt(Connection* connection) { d_connections.insert(connection); }
  void forget(Connection* connection) {
    d_connections.erase(connection);
    maybeDelete();
  }

 private:
  ~Listener() = default;

  static void onConnection(uv_stream_t* server, int status);
  static void onClosed(uv_handle_t* handle);
  void maybeDelete();
  // Listens on `fd`, the socket bound at d_path that `st` describes (bound here or handed over).
  // Returns libuv's error (0: listening). `taken`: the pipe owns `fd` now and closes it.
  int listenOn(int fd, const struct stat& st, bool& taken);

  uv_loop_t* d_loop;
  std::string d_path;
  Handler d_handler;
  FdHandler d_fd_handler;
  ControlServer* d_front = nullptr;
  uv_pipe_t d_pipe;
  bool d_pipe_open = false;  // uv_pipe_init done, uv_close not yet finished
  bool d_closing = false;
  bool d_bound = false;  // the socket file at d_path is ours (d_dev, d_ino)
  dev_t d_dev = 0;
  ino_t d_ino = 0;
  uint64_t d_idle_ms = ControlServer::kIdleTimeoutMs;
  std::unordered_set<Connection*> d_connections;
};

// One client. Owns itself: deleted in the close callback of its last handle (StreamSession).
class Connection final : public uv::StreamSession<Connection> {
 public:
  static void accept(Listener& listener, uv_stream_t* server);
  void close() override;

 private:
  friend class uv::StreamSession<Connection>;
  // What a Reply holds on to: the connection, nulled when it is gone.
  struct Slot {
    Connection* connection;
  };
  // One dispatched request. The last copy of its Reply going away uncalled answers for it.
  struct Pending {
    std::shared_ptr<Slot> slot;
    uint64_t sequence;
    std::string cmd;
    std::chrono::steady_clock::time_point started;
    bool done = false;

    void deliver(Json response, std::vector<int> fds = {});
    ~Pending();
  };
  struct Entry {
    std::string line;
    bool oversized = false;
  };
  struct Write {
    uv_write_t request;  // request.data points at this Write
    std::string data;
    Connection* connection;
  };

  explicit Connection(Listener& listener)
      : d_listener(listener), d_slot(std::make_shared<Slot>(Slot{this})) {}
  ~Connection() override { d_listener.forget(this); }  // may free the listener

  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onWritten(uv_write_t* request, int status);
  static void onIdle(uv_timer_t* timer);
  void received(std::string_view data);
  void peerDone() { pump(); }
  void readFailed(int error);

  bool checkPeer();
  void refill();
  void pump();
  void dispatch(Entry entry);
  void replied(uint64_t sequence, const std::string& cmd, double elapsed_ms, Json response,
               std::vector<int> fds);
  void send(const Json& response);
  void sendWithFds(const Json& response, const std::vector<int>& fds);
  void updateReading();
  void restartIdleTimer();
  void closeIfFinished();
  bool busy() const { return d_waiting || !d_queue.empty() || d_writes > 0; }

  static constexpr size_t kReadSize = 64 * 1024;

  Listener& d_listener;
  uv_pipe_t d_pipe;
  uv_timer_t d_timer;
  std::shared_ptr<Slot> d_slot;

  LineSplitter d_splitter;
  std::deque<Entry> d_queue;  // received, not yet dispatched
  std::unique_ptr<char[]> d_read;
  uint64_t d_sequence = 0;  // of the dispatched request
  size_t d_writes = 0;      // uv_writes in flight
  uid_t d_uid = static_cast<uid_t>(-1);
  pid_t d_pid = 0;

  bool d_waiting = false;  // a request is with the handler
  bool d_pumping = false;
  bool d_close_after_write = false;
};

// --- Listener --------------------------------------------------------------------------------

bool Listener::open(std::string& error) {
  sockaddr_un address;
  if (!fillAddress(d_path, address, error)) return false;
  ensureParent(d_path);
  if (!clearPath(d_path, address, error)) return false;

  uv::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) {
    error = "cannot create control socket: " + errnoText(errno);
    return false;
  }
  // umask makes the file 0600 from the start: between bind() and chmod() nobody else may
  // connect. umask is per process, but nothing else creates files while the daemon starts.
  mode_t old_mask = ::umask(077);
  int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  int bind_errno = errno;
  ::umask(old_mask);
  if (rc != 0) {
    error = "cannot bind control socket " + d_path + ": " + errnoText(bind_errno);
    return false;
  }
  struct stat st {};
  if (::chmod(d_path.c_str(), 0600) != 0 || ::lstat(d_path.c_str(), &st) != 0) {
    error = "cannot set the mode of control socket " + d_path + ": " + errnoText(errno);
    ::unlink(d_path.c_str());
    return false;
  }
  bool taken = false;
  rc = listenOn(fd.get(), st, taken);
  if (taken) fd.release();
  if (rc != 0) {
    error = "cannot listen on control socket " + d_path + ": " + uv_strerror(rc);
    return false;  // the caller closes us, which unlinks the file
  }
  return true;
}

bool Listener::adopt(int fd, std::string& error) {
  struct stat st {};
  if (::lstat(d_path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    error = "the control socket handed over is not at " + d_path;
    return false;
  }
  bool taken = false;
  if (int rc = listenOn(fd, st, taken); rc != 0) {
    error = "cannot listen on the control socket handed over: " + std::string(uv_strerror(rc));
    d_bound = false;  // still the old daemon's file
    return false;
  }
  return true;
}

int Listener::listenOn(int fd, const struct stat& st, bool& taken) {
  d_bound = true;
  d_dev = st.st_dev;
  d_ino = st.st_ino;
  uv_pipe_init(d_loop, &d_pipe, 0);
  d_pipe.data = this;
  d_pipe_open = true;
  int rc = uv_pipe_open(&d_pipe, fd);
  taken = rc == 0;
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&d_pipe), SOMAXCONN, onConnection);
  return rc;
}

int Listener::listeningFd() const {
  uv_os_fd_t fd = -1;
  if (!d_pipe_open || d_closing ||
      uv_fileno(reinterpret_cast<const uv_handle_t*>(&d_pipe), &fd) != 0)
    return -1;
  return fd;
}

void Listener::handOver() {
  d_bound = false;
  if (d_pipe_open && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&d_pipe)))
    uv_close(reinterpret_cast<uv_handle_t*>(&d_pipe), onClosed);
}

void Listener::close() {
  if (d_closing) return;
  d_closing = true;
  if (d_bound) {
    // Unlink only our own file, and before closing the fd: a daemon that started since and
    // replaced the socket keeps its own.
    struct stat st {};
    if (::lstat(d_path.c_str(), &st) == 0 && st.st_dev == d_dev && st.st_ino == d_ino)
      ::unlink(d_path.c_str());
    d_bound = false;
  }
  std::vector<Connection*> connections(d_connections.begin(), d_connections.end());
  for (Connection* connection : connections) connection->close();
  if (d_pipe_open) {
    // handOver() may have started closing it already.
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&d_pipe)))
      uv_close(reinterpret_cast<uv_handle_t*>(&d_pipe), onClosed);
  } else {
    maybeDelete();
  }
}

void Listener::onClosed(uv_handle_t* handle) {
  auto* self = static_cast<Listener*>(handle->data);
  self->d_pipe_open = false;
  self->maybeDelete();
}

void Listener::maybeDelete() {
  if (!d_closing || d_pipe_open || !d_connections.empty()) return;
  if (d_front != nullptr) d_front->d_listener = nullptr;
  delete this;
}

void Listener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  if (status < 0) {
    spdlog::warn("control: accept: {}", uv_strerror(status));
    return;
  }
  Connection::accept(*self, server);
}

// --- Connection ------------------------------------------------------------------------------

void Connection::accept(Listener& listener, uv_stream_t* server) {
  auto* self = new (std::nothrow) Connection(listener);
  if (self == nullptr) {
    spdlog::warn("control: out of memory accepting a connection");
    return;  // libuv stops watching the listener until the next uv_accept; tolerable here
  }
  listener.adopt(self);
  int rc = self->acceptInto(listener.loop(), server, &self->d_pipe, &self->d_timer);
  if (rc != 0) {
    spdlog::warn("control: accept: {}", uv_strerror(rc));
    self->close();
    return;
  }
  if (!self->checkPeer()) return;
  self->d_read = std::make_unique_for_overwrite<char[]>(kReadSize);
  self->restartIdleTimer();
  self->updateReading();
}

bool Connection::checkPeer() {
  uv_os_fd_t fd;
  ucred peer{};
  socklen_t length = sizeof peer;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&d_pipe), &fd) != 0 ||
      ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
    spdlog::warn("control: cannot read the peer's credentials: {}", errnoText(errno));
    close();
    return false;
  }
  d_uid = peer.uid;
  d_pid = peer.pid;
  if (peer.uid == ::geteuid() || peer.uid == 0) return true;
  // The socket's mode keeps other users out already; this holds if someone loosens it.
  spdlog::warn("control: refused uid {} pid {}: not the daemon's user", peer.uid, peer.pid);
  d_close_after_write = true;
  send(makeError("permission denied: uid " + std::to_string(peer.uid) +
                 " is not the daemon's user"));
  return false;
}

void Connection::close() {
  d_slot->connection = nullptr;  // a reply arriving from now on is dropped
  StreamSession::close();        // writes in flight are cancelled (onWritten: UV_ECANCELED)
}

void Connection::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(handle->data);
  *buf = uv_buf_init(self->d_read.get(), kReadSize);
}

void Connection::received(std::string_view data) {
  d_splitter.feed(data);
  pump();
}

void Connection::readFailed(int error) {
  spdlog::debug("control: uid {} pid {}: read: {}", d_uid, d_pid, uv_strerror(error));
}

// Moves complete lines from the splitter into the queue, up to the per-connection limit.
void Connection::refill() {
  std::string line;
  while (!d_close_after_write && d_queue.size() + (d_waiting ? 1 : 0) < ControlServer::kMaxQueued) {
    LineSplitter::Status status = d_splitter.next(line);
    if (status == LineSplitter::Status::Incomplete) break;
    if (status == LineSplitter::Status::Oversized) {
      d_queue.push_back({{}, true});
      break;  // nothing after it is answered
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are free
    d_queue.push_back({std::move(line), false});
  }
}

// Dispatches queued requests one at a time; a handler that replies at once lets the loop go on.
void Connection::pump() {
  if (d_pumping) return;  // a synchronous reply inside dispatch(): the outer loop continues
  d_pumping = true;
  for (;;) {
    if (d_closing) break;
    refill();
    if (d_waiting || d_close_after_write || d_queue.empty()) break;
    Entry entry = std::move(d_queue.front());
    d_queue.pop_front();
    dispatch(std::move(entry));
  }
  d_pumping = false;
  updateReading();
  closeIfFinished();
}

void Connection::dispatch(Entry entry) {
  if (entry.oversized) {
    spdlog::debug("control: uid {} pid {}: request line over {} bytes", d_uid, d_pid,
                  kMaxLineBytes);
    d_queue.clear();
    d_close_after_write = true;
    send(makeError("request line longer than " + std::to_string(kMaxLineBytes) + " bytes"));
    return;
  }
  Result<Json> request = parseRequest(entry.line);
  if (!request.ok()) {
    const std::string error = request.error().text();
    spdlog::debug("control: uid {} pid {}: {}", d_uid, d_pid, error);
    send(makeError(error));
    return;
  }
  const std::string cmd = (*request)["cmd"].get<std::string>();
  if (cmd.rfind("takeover", 0) == 0 && d_listener.fdHandler()) {
    auto pending = std::make_shared<Pending>();
    pending->slot = d_slot;
    pending->sequence = ++d_sequence;
    pending->cmd = cmd;
    pending->started = std::chrono::steady_clock::now();
    d_waiting = true;
    try {
      d_listener.fdHandler()(*request, Peer{d_uid, d_pid},
                             [pending](Json response, std::vector<int> fds) {
                               pending->deliver(std::move(response), std::move(fds));
                             });
    } catch (const std::exception& e) {
      pending->deliver(makeError(std::string("internal error: ") + e.what()));
    }
    return;
  }
  auto pending = std::make_shared<Pending>();
  pending->slot = d_slot;
  pending->sequence = ++d_sequence;
  pending->cmd = (*request)["cmd"].get<std::string>();
  pending->started = std::chrono::steady_clock::now();
  spdlog::debug("control: uid {} pid {}: {}", d_uid, d_pid, pending->cmd);
  d_waiting = true;
  try {
    d_listener.handler()(*request, Peer{d_uid, d_pid},
                         [pending](Json response) { pending->deliver(std::move(response)); });
  } catch (const std::exception& e) {
    pending->deliver(makeError(std::string("internal error: ") + e.what()));
  } catch (...) {
    pending->deliver(makeError("internal error"));
  }
  // If the handler kept no copy of the Reply and did not call it, ~Pending answers now.
}

void Connection::Pending::deliver(Json response, std::vector<int> fds) {
  if (done) {
    spdlog::warn("control: {}: reply called more than once; later calls ignored", cmd);
    return;
  }
  done = true;
  Connection* connection = slot->connection;
  double elapsed_ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - started).count();
  if (connection == nullptr) {
    spdlog::debug("control: {}: client gone, reply dropped", cmd);
    return;
  }
  connection->replied(sequence, cmd, elapsed_ms, std::move(response), std::move(fds));
}

Connection::Pending::~Pending() {
  if (done) return;
  try {
    deliver(makeError("internal error: command " + cmd + " finished without a reply"));
  } catch (...) {  // out of memory in a destructor: the client times out instead
  }
}

void Connection::replied(uint64_t sequence, const std::string& cmd, double elapsed_ms,
                         Json response, std::vector<int> fds) {
  if (!d_waiting || sequence != d_sequence || d_closing) return;
  d_waiting = false;
  Json out = normaliseResponse(std::move(response));
  bool ok = out["ok"].get<bool>();
  spdlog::debug("control: uid {} pid {}: {} -> {} ({:.1f} ms)", d_uid, d_pid, cmd,
                ok ? "ok" : out["error"].get<std::string>(), elapsed_ms);
  if (fds.empty())
    send(out);
  else
    sendWithFds(out, fds);
  pump();
}

void Connection::send(const Json& response) {
  if (d_closing) return;
  auto* write = new (std::nothrow) Write;
  if (write == nullptr) {
    close();
    return;
  }
  try {
    write->data = encodeLine(response);
    if (write->data.size() > kMaxLineBytes + 1) {
      spdlog::warn("control: response of {} bytes is over the {} byte limit", write->data.size(),
                   kMaxLineBytes);
      write->data = encodeLine(makeError("internal error: response too large (" +
                                         std::to_string(write->data.size()) + " bytes)"));
    }
  } catch (const std::exception& e) {
    delete write;
    spdlog::warn("control: cannot encode a response: {}", e.what());
    close();
    return;
  }
  write->request.data = write;
  write->connection = this;
  uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
  int rc = StreamSession::write(&write->request, buf);
  if (rc != 0) {
    delete write;
    spdlog::debug("control: uid {} pid {}: write: {}", d_uid, d_pid, uv_strerror(rc));
    close();
    return;
  }
  ++d_writes;
}

// Descriptors cannot go through uv_write on a non-IPC pipe: the line goes out with sendmsg on
// the socket itself, which is safe only while libuv has nothing queued on it. A takeover
// conversation is strictly request/reply, so nothing is; otherwise the reply becomes an error.
void Connection::sendWithFds(const Json& response, const std::vector<int>& fds) {
  if (d_closing) return;
  uv_os_fd_t fd = -1;
  if (d_writes > 0 || uv_fileno(reinterpret_cast<uv_handle_t*>(&d_pipe), &fd) != 0) {
    send(makeError("internal error: cannot hand over descriptors with replies queued"));
    return;
  }
  Result<void> sent = sendLineWithFds(fd, encodeLine(response), fds,
                                      std::chrono::steady_clock::now() + std::chrono::seconds(5));
  if (!sent.ok()) {
    spdlog::warn("control: uid {} pid {}: {}", d_uid, d_pid, sent.error().text());
    close();
    return;
  }
  restartIdleTimer();
}

void Connection::onWritten(uv_write_t* request, int status) {
  auto* write = static_cast<Write*>(request->data);
  Connection* self = write->connection;
  delete write;
  --self->d_writes;
  if (self->d_closing) return;
  if (status < 0) {
    spdlog::debug("control: uid {} pid {}: write: {}", self->d_uid, self->d_pid,
                  uv_strerror(status));
    self->close();
    return;
  }
  self->restartIdleTimer();
  self->closeIfFinished();
}

void Connection::closeIfFinished() {
  if (d_closing || d_writes > 0) return;
  if (d_close_after_write || (d_peer_done && !d_waiting && d_queue.empty())) close();
}

void Connection::updateReading() {
  setReading(!d_peer_done && !d_close_after_write &&
             d_queue.size() + (d_waiting ? 1 : 0) < ControlServer::kMaxQueued);
}

void Connection::restartIdleTimer() { restartTimer(d_listener.idleTimeoutMs()); }

void Connection::onIdle(uv_timer_t* timer) {
  auto* self = static_cast<Connection*>(timer->data);
  // Waiting on a slow command, or on a client reading slowly, is not idling.
  if (self->busy()) {
    self->restartIdleTimer();
    return;
  }
  spdlog::debug("control: uid {} pid {}: idle for {} ms, closing", self->d_uid, self->d_pid,
                self->d_listener.idleTimeoutMs());
  self->close();
}

}  // namespace detail

// --- ControlServer ---------------------------------------------------------------------------

Result<std::unique_ptr<ControlServer>> ControlServer::create(uv_loop_t* loop, std::string path,
                                                             Handler handler) {
  auto* listener = new detail::Listener(loop, path, std::move(handler));
  if (std::string error; !listener->open(error)) {
    listener->close();  // frees it now, or in the pipe's close callback
    return rrdns::error(std::move(error));
  }
  std::unique_ptr<ControlServer> server(new ControlServer(listener, std::move(path)));
  listener->attachFront(server.get());
  spdlog::info("control: listening on {}", server->d_path);
  return server;
}

Result<std::unique_ptr<ControlServer>> ControlServer::adopt(uv_loop_t* loop, std::string path,
                                                            int fd, Handler handler) {
  auto* listener = new detail::Listener(loop, path, std::move(handler));
  if (std::string error; !listener->adopt(fd, error)) {
    listener->close();
    return rrdns::error(std::move(error));
  }
  std::unique_ptr<ControlServer> server(new ControlServer(listener, std::move(path)));
  listener->attachFront(server.get());
  spdlog::info("control: listening on {} (handed over)", server->d_path);
  return server;
}

void ControlServer::setFdHandler(FdHandler handler) {
  if (d_listener != nullptr) d_listener->setFdHandler(std::move(handler));
}

int ControlServer::listeningFd() const {
  return d_listener != nullptr ? d_listener->listeningFd() : -1;
}

void ControlServer::handOver() {
  if (d_listener != nullptr) d_listener->handOver();
}

ControlServer::~ControlServer() {
  if (d_listener == nullptr) return;
  detail::Listener* listener = std::exchange(d_listener, nullptr);
  listener->detachFront();
  listener->close();
}

void ControlServer::close() {
  if (d_listener != nullptr) d_listener->close();  // may reset d_listener
}

void ControlServer::setIdleTimeout(uint64_t ms) {
  if (d_listener != nullptr) d_listener->setIdleTimeoutMs(ms);
}

}  // namespace rrdns::control
