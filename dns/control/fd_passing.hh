// fd_passing.hh -- protocol lines that carry file descriptors (SCM_RIGHTS) over the control
// socket: how a new rrdnsd takes the listening sockets from the old one (rrdnsctl replace).
//
// The format is the ordinary protocol line; the descriptors ride along as ancillary data, in the
// order the line lists them. The kernel takes at most SCM_MAX_FD (253) descriptors per sendmsg,
// so a line with more is sent in pieces of at most kMaxFdsPerMessage each, every piece with at
// least one byte of the line. The receiver needs nothing but the order: it collects descriptors
// from every recvmsg until the line ends (ControlClient::takeFds()).
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "dns/base/result.hh"

namespace rrdns::control {

inline constexpr size_t kMaxFdsPerMessage = 64;

// One sendmsg: bytes [offset, offset + size) of the line with fds [first_fd, first_fd + fd_count).
struct FdMessagePiece {
  size_t offset;
  size_t size;
  size_t first_fd;
  size_t fd_count;
};

// How a line of `line_size` bytes carrying `fd_count` descriptors is cut into sendmsg calls:
// as few pieces as the descriptor limit allows, the bytes spread over them. Fails when the line
// is too short to give every piece a byte (a line lists each descriptor, so it never is).
Result<std::vector<FdMessagePiece>> planFdMessage(size_t line_size, size_t fd_count);

// Writes `line` (ending in '\n') with `fds` attached on the stream socket `socket` (blocking or
// not: a full socket buffer is waited for with poll, up to `deadline`). The fds stay the caller's
// (the receiver gets duplicates). Fails with the system error or a timeout.
Result<void> sendLineWithFds(int socket, std::string_view line, std::span<const int> fds,
                             std::chrono::steady_clock::time_point deadline);

}  // namespace rrdns::control
