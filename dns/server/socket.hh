// socket.hh -- the listening sockets: one UDP and one TCP socket per address and worker.
//
// All of them carry SO_REUSEPORT, so every worker binds the same address and the kernel spreads
// datagrams and connections over the workers by flow hash. libuv 1.44 cannot do this itself
// (uv_udp_bind sets only SO_REUSEADDR on Linux and uv_tcp_bind nothing of the kind), hence the
// sockets are made here and handed to uv_udp_open / uv_tcp_open.
#pragma once

#include <string>

#include "dns/server/address.hh"
#include "dns/uv/fd.hh"

namespace rrdns::server {

// Fails when someone else already holds `address` (another program, or a second rrdnsd: with
// SO_REUSEPORT on both sides a second instance would otherwise bind happily and steal half the
// queries). Binds throw-away sockets without SO_REUSEPORT, which the kernel refuses next to any
// existing listener. Returns an empty string or a message such as
// "cannot bind 127.0.0.1:53 (udp): Permission denied".
std::string probeAddress(const ListenAddress& address);

// A bound, non-blocking, close-on-exec UDP socket with SO_REUSEPORT and SO_REUSEADDR
// (IPV6_V6ONLY for IPv6, so [::]:53 and 0.0.0.0:53 can be listed side by side), and a receive
// buffer of up to 4 MiB.
// On failure returns an invalid uv::Fd and sets `error`.
uv::Fd openUdpSocket(const ListenAddress& address, std::string& error);

// The same for TCP; uv_listen() calls listen() later.
uv::Fd openTcpSocket(const ListenAddress& address, std::string& error);

// Checks a socket handed over by the rrdnsd being replaced: that it is a socket of `type`
// (SOCK_DGRAM or SOCK_STREAM) bound to `address`. Returns "" or why not, e.g.
// "socket 3 handed over for 127.0.0.1:53 (udp) is bound to 127.0.0.1:5353".
std::string checkHandedOverSocket(int fd, int type, const ListenAddress& address);

}  // namespace rrdns::server
