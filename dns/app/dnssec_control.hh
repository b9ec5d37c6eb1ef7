// dnssec_control.hh -- rrdnsctl dnssec status|ds|rollover|submitted in the daemon: the request
// read, DnssecZones asked, the reply made (every field is in docs/man/rrdnsctl.8.md).
#pragma once

#include "dns/app/dnssec_zones.hh"
#include "dns/control/protocol.hh"
#include "dns/control/server.hh"

namespace rrdns::app {

// {"cmd":"dnssec","action":"status"|"ds"|"rollover"|"submitted","zone":...,"role":...}. Throws
// std::invalid_argument for a malformed request; a refused one is {"ok":false,"error":...}.
// Rollovers and submissions are logged with `peer` (logControlChange).
control::Json dnssecCommand(DnssecZones& zones, const control::Json& request,
                            const control::Peer& peer);

}  // namespace rrdns::app
