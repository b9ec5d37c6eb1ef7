// sd_notify.hh -- systemd's readiness protocol, the little rrdnsd needs of it, without libsystemd.
//
// With Type=notify, systemd waits for READY=1 before it counts the service as started, and
// MAINPID=N moves the unit's main process to N: how `rrdnsctl replace` keeps systemd following
// the new daemon (NotifyAccess=all, since the new daemon is not the main process when it sends
// it). gdnsd does the same. See docs/operating.md.
#pragma once

#include <string_view>

namespace rrdns::app {

// Sends `state` ("READY=1", "MAINPID=123\nREADY=1") as one datagram to $NOTIFY_SOCKET (a path,
// or an abstract socket when it starts with '@'). Without $NOTIFY_SOCKET (not under systemd)
// it does nothing. Failures are logged at debug: systemd would time out the start and say so.
void sdNotify(std::string_view state);

}  // namespace rrdns::app
