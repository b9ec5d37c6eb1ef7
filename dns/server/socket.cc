// socket.cc -- socket(), setsockopt() and bind() for the listening sockets.
#include "dns/server/socket.hh"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rrdns::server {

namespace {

enum class Reuse { None, Addr, AddrAndPort };

std::string failure(const char* what, const ListenAddress& address, int type, int err) {
  return std::string("cannot ") + what + " " + address.text +
         (type == SOCK_DGRAM ? " (udp): " : " (tcp): ") + std::strerror(err);
}

uv::Fd openSocket(const ListenAddress& address, int type, Reuse reuse, std::string& error) {
  uv::Fd fd(::socket(address.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    error = failure("open a socket for", address, type, errno);
    return {};
  }
  const int on = 1;
  bool ok = true;
  if (reuse != Reuse::None)
    ok = ok && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0;
  if (reuse == Reuse::AddrAndPort)
    ok = ok && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == 0;
  if (address.family() == AF_INET6)
    ok = ok && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) == 0;
  if (!ok) {
    error = failure("set socket options for", address, type, errno);
    return {};
  }
  if (::bind(fd.get(), address.sockAddr(), address.length()) != 0) {
    error = failure("bind", address, type, errno);
    return {};
  }
  return fd;
}

}  // namespace

std::string probeAddress(const ListenAddress& address) {
  std::string error;
  // A UDP probe must not set SO_REUSEADDR: on Linux two UDP sockets that both set it may share a
  // port. A TCP probe must set it, or a recent restart's TIME_WAIT connections would block it;
  // SO_REUSEADDR never lets TCP bind beside a socket in LISTEN.
  if (!openSocket(address, SOCK_DGRAM, Reuse::None, error).valid()) return error;
  if (!openSocket(address, SOCK_STREAM, Reuse::Addr, error).valid()) return error;
  return {};
}

uv::Fd openUdpSocket(const ListenAddress& address, std::string& error) {
  uv::Fd fd = openSocket(address, SOCK_DGRAM, Reuse::AddrAndPort, error);
  // A deeper queue absorbs bursts while the worker is busy. Best effort: the kernel caps it at
  // net.core.rmem_max, which operators may raise.
  const int receive_buffer = 4 << 20;
  if (fd.valid())
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  return fd;
}

uv::Fd openTcpSocket(const ListenAddress& address, std::string& error) {
  return openSocket(address, SOCK_STREAM, Reuse::AddrAndPort, error);
}

std::string checkHandedOverSocket(int fd, int type, const ListenAddress& address) {
  const std::string what = "socket handed over for " + address.text +
                           (type == SOCK_DGRAM ? " (udp)" : " (tcp)");
  int actual_type = 0;
  socklen_t type_size = sizeof actual_type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &actual_type, &type_size) != 0)
    return what + ": " + std::strerror(errno);
  if (actual_type != type)
    return what + " is a " + (actual_type == SOCK_DGRAM ? "udp" : "tcp") + " socket";
  sockaddr_storage bound{};
  socklen_t size = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &size) != 0)
    return what + ": " + std::strerror(errno);
  const std::string bound_text = formatAddress(reinterpret_cast<const sockaddr*>(&bound));
  if (bound_text != address.text) return what + " is bound to " + bound_text;
  return {};
}

}  // namespace rrdns::server
