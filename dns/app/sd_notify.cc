// sd_notify.cc -- one datagram to $NOTIFY_SOCKET (sd_notify(3) describes the protocol).
#include "dns/app/sd_notify.hh"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dns/uv/fd.hh"

namespace rrdns::app {

void sdNotify(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const size_t length = std::strlen(path);
  if ((path[0] != '/' && path[0] != '@') || length >= sizeof address.sun_path) {
    spdlog::debug("sd_notify: unusable NOTIFY_SOCKET {}", path);
    return;
  }
  std::memcpy(address.sun_path, path, length);
  if (path[0] == '@') address.sun_path[0] = '\0';  // Linux abstract namespace
  uv::Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    spdlog::debug("sd_notify: socket: {}", std::strerror(errno));
    return;
  }
  const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  if (::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&address), size) < 0)
    spdlog::debug("sd_notify: {}: {}", path, std::strerror(errno));
}

}  // namespace rrdns::app
