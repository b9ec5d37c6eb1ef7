// background.hh -- the priority of threads that work beside the query threads.
//
// Loading a reloaded zone, building its answer table and freeing the retired catalog each keep a
// core busy for up to seconds. On a machine with few cores they take turns on the CPU with the
// query threads, and a query waits in the socket for its worker's turn (two cores, a reload of a
// million records: a worker spent 100-200 ms of every 200 ms waiting to run, per
// /proc/PID/task/TID/schedstat). A thread doing such work calls runBelowQueryThreads() first:
// nice 10 (on Linux, a thread's nice is its own) and SCHED_BATCH, so it gets about a tenth of a
// core against a busy query thread and does not preempt one when it wakes. On an idle machine
// the work finishes as fast as before.
#pragma once

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rrdns {

inline constexpr int kBackgroundNice = 10;

// Calling thread only; best effort (a failure leaves the thread as it was). Lowering is allowed
// to any user; the thread cannot raise itself back once root is dropped, so call it only on
// threads that do nothing but background work.
inline void runBelowQueryThreads() {
  const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  sched_param param{};
  param.sched_priority = 0;
  (void)::sched_setscheduler(tid, SCHED_BATCH, &param);
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), kBackgroundNice);
}

}  // namespace rrdns
