// fd_passing.cc -- cutting a line into sendmsg calls with SCM_RIGHTS attached.
#include "dns/control/fd_passing.hh"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace rrdns::control {

Result<std::vector<FdMessagePiece>> planFdMessage(size_t line_size, size_t fd_count) {
  const size_t pieces = fd_count == 0 ? 1 : (fd_count + kMaxFdsPerMessage - 1) / kMaxFdsPerMessage;
  if (line_size < pieces)
    return error("a line of " + std::to_string(line_size) + " bytes cannot carry " +
                 std::to_string(fd_count) + " descriptors");
  std::vector<FdMessagePiece> plan;
  size_t offset = 0;
  size_t fd = 0;
  for (size_t i = 0; i < pieces; ++i) {
    const size_t end = line_size * (i + 1) / pieces;  // the last piece ends at line_size
    const size_t count = std::min(kMaxFdsPerMessage, fd_count - fd);
    plan.push_back({offset, end - offset, fd, count});
    offset = end;
    fd += count;
  }
  return plan;
}

namespace {

bool waitWritable(int socket, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{socket, POLLOUT, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

}  // namespace

Result<void> sendLineWithFds(int socket, std::string_view line, std::span<const int> fds,
                             std::chrono::steady_clock::time_point deadline) {
  Result<std::vector<FdMessagePiece>> plan = planFdMessage(line.size(), fds.size());
  if (!plan.ok()) return plan.error();
  for (const FdMessagePiece& piece : *plan) {
    size_t sent = 0;
    bool fds_sent = piece.fd_count == 0;
    while (sent < piece.size) {
      iovec iov{const_cast<char*>(line.data() + piece.offset + sent), piece.size - sent};
      msghdr message{};
      message.msg_iov = &iov;
      message.msg_iovlen = 1;
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
      if (!fds_sent) {
        // The descriptors go with the first byte that leaves; the rest of the piece follows plain.
        const size_t bytes = sizeof(int) * piece.fd_count;
        message.msg_control = control;
        message.msg_controllen = CMSG_SPACE(bytes);
        cmsghdr* header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(bytes);
        std::memcpy(CMSG_DATA(header), fds.data() + piece.first_fd, bytes);
      }
      ssize_t n = ::sendmsg(socket, &message, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        fds_sent = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!waitWritable(socket, deadline)) return error("timed out sending descriptors");
        continue;
      }
      return error(std::string("cannot send descriptors: ") + std::strerror(errno));
    }
  }
  return success();
}

}  // namespace rrdns::control
