// thread_role.hh -- whether this thread answers queries: what must never sign (DNSSEC), allocate
// or lock is counted against it, so that a regression shows in a metric instead of in latency.
#pragma once

namespace rrdns {

// Set once by each query worker thread as it starts (dns/server worker), never cleared.
inline thread_local bool t_query_thread = false;

}  // namespace rrdns
