// client.cc -- the blocking control-socket client.
#include "dns/control/client.hh"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "dns/control/fd_passing.hh"

namespace rrdns::control {

Result<void> ControlClient::connect(const std::string& path) {
  close();
  d_path = path;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    return error("control socket path must be 1 to " + std::to_string(sizeof address.sun_path - 1) +
                 " bytes long: " + path);
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  d_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (d_fd < 0) return error(std::string("cannot create a socket: ") + std::strerror(errno));
  if (::connect(d_fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0)
    return success();
  int code = errno;
  if (code == EAGAIN || code == EINPROGRESS) {
    // The daemon's accept backlog is full: wait for room, within the deadline.
    if (std::string why; !wait(POLLOUT, why)) {
      close();
      return error("cannot connect to " + path + ": " + why);
    }
    socklen_t length = sizeof code;
    if (::getsockopt(d_fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0) code = errno;
    if (code == 0) return success();
  }
  std::string reason = std::strerror(code);
  switch (code) {
    case ENOENT:
      reason = "no such file (is rrdnsd running, with its control socket at this path?)";
      break;
    case ECONNREFUSED:
      reason = "connection refused (nobody is listening: rrdnsd is not running, the socket is stale)";
      break;
    case EACCES:
    case EPERM:
      reason = "permission denied (only rrdnsd's own user and root may connect)";
      break;
    case ENOTSOCK:
      reason = "not a socket";
      break;
    default:
      break;
  }
  close();
  return error("cannot connect to " + path + ": " + reason);
}

bool ControlClient::wait(short events, std::string& error) {
  for (;;) {
    int timeout_ms = -1;
    if (d_deadline != Clock::time_point::max()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(d_deadline - Clock::now()).count();
      if (left <= 0) {
        error = "timed out";
        return false;
      }
      timeout_ms = left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
    }
    pollfd p{d_fd, events, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc > 0) return true;  // errors and hang-ups show up in the read or write that follows
    if (rc == 0) {
      error = "timed out";
      return false;
    }
    if (errno != EINTR) {
      error = std::string("poll: ") + std::strerror(errno);
      return false;
    }
  }
}

Result<void> ControlClient::sendRaw(std::string_view bytes) {
  if (d_fd < 0) return error("not connected");
  while (!bytes.empty()) {
    ssize_t n = ::send(d_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (std::string why; !wait(POLLOUT, why)) return error("timed out sending the request");
      continue;
    }
    // rrdnsd may refuse us (the peer uid check) and close before the request is written; its
    // reason is then waiting to be read, which beats reporting a broken pipe.
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return success();
    return error(std::string("cannot send the request: ") + std::strerror(errno));
  }
  return success();
}

void ControlClient::shutdownWrite() {
  if (d_fd >= 0) ::shutdown(d_fd, SHUT_WR);
}

ControlClient::ReadStatus ControlClient::readLine(std::string& line, std::string& error) {
  char buffer[64 * 1024];
  for (;;) {
    switch (d_splitter.next(line)) {
      case LineSplitter::Status::Line:
        return ReadStatus::Line;
      case LineSplitter::Status::Oversized:
        error = "reply line longer than " + std::to_string(kMaxLineBytes) + " bytes";
        return ReadStatus::Oversized;
      case LineSplitter::Status::Incomplete:
        break;
    }
    if (d_fd < 0) {
      error = "not connected";
      return ReadStatus::Error;
    }
    // recvmsg rather than recv: a takeover reply carries descriptors (fd_passing.hh). Whatever
    // arrives is kept in order for takeFds(); a peer that sends none costs nothing.
    iovec iov{buffer, sizeof buffer};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(d_fd, &message, MSG_CMSG_CLOEXEC);
    if (n >= 0) keepFds(message);
    if (n >= 0 && (message.msg_flags & MSG_CTRUNC) != 0) {
      error = "descriptors from rrdnsd were cut short (more than " +
              std::to_string(kMaxFdsPerMessage) + " in one message)";
      return ReadStatus::Error;
    }
    if (n > 0) {
      d_splitter.feed({buffer, static_cast<size_t>(n)});
      continue;
    }
    if (n == 0) {
      error = "connection closed by rrdnsd without a reply";
      return ReadStatus::Closed;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait(POLLIN, error)) {
        error = "timed out waiting for a reply";
        return ReadStatus::Timeout;
      }
      continue;
    }
    if (errno == ECONNRESET) {
      error = "connection reset by rrdnsd without a reply";
      return ReadStatus::Closed;
    }
    error = std::string("cannot read the reply: ") + std::strerror(errno);
    return ReadStatus::Error;
  }
}

void ControlClient::keepFds(msghdr& message) {
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
      d_fds.emplace_back(fd);
    }
  }
}

std::vector<uv::Fd> ControlClient::takeFds() { return std::exchange(d_fds, {}); }

void ControlClient::close() {
  d_fds.clear();
  if (d_fd >= 0) ::close(d_fd);
  d_fd = -1;
  d_splitter = LineSplitter();
}

}  // namespace rrdns::control
