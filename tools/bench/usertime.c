// usertime.c -- LD_PRELOAD shim for tools/bench: a server's user-space time per query, measured
// at its syscall boundaries instead of sampled by the tick.
//
// Why: this kernel charges CPU time to user or system by the 250 Hz tick, and ticks taken while
// interrupts are off land on the way back to user space. /proc's utime per query for limit.c,
// which does no DNS work, moves between 20 and 350 ns from run to run. Tracing the syscalls
// (ftrace) does no better here: the kernel's entry and exit cost (page-table isolation in this
// VM: about 1.1 us per null syscall) falls between the trace points and dwarfs the user time.
//
// The shim reads the clock as each wrapped call goes into libc and as it comes back, and adds the
// time from one call's return to the next call's start to the calling thread's user time: the
// thread's own code, with no kernel entry or exit in it. It wraps every way the servers here wait
// for and move packets: poll, ppoll, select, epoll_wait/epoll_pwait, recv*, send*, read, write
// and syscall() (rrdnsd makes its poll, recvmmsg and sendmmsg calls through it).
//
// Counts go to the file RRDNS_USERTIME_FILE names (created by the caller, zero-filled, 16 KiB),
// shared by every process and thread of the server (nsd forks its workers): 32-byte records of
// four uint64s, read with `od -An -t u8 -w32 -v`. Record 0 is the header (next free record);
// each thread that makes a wrapped call claims one:
//   tid  user_ns  gaps  answers
// gaps counts the intervals summed into user_ns; answers counts datagrams sent (sendmmsg's
// return, 1 per sendto/sendmsg).
//
// Upper bound, not exact: a syscall the shim does not see (libc's own internal calls, such as
// pthread_cond_wait's futex) counts as user time, and so does half a clock read per interval
// (about 10-20 ns, spread over the interval's queries). tools/bench sums only the threads that
// sent answers; under load those do nothing but wait, receive and send.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { kFileSize = 16384, kRecords = kFileSize / 32 };

struct record {
    uint64_t tid, user_ns, gaps, answers;
};

static struct record* g_records;  // g_records[0].tid: the next free record
static struct record g_spare;     // for threads beyond the file's room, and before it is mapped

static __thread struct record* t_self __attribute__((tls_model("initial-exec")));
static __thread uint64_t t_left __attribute__((tls_model("initial-exec")));  // last return; 0: none yet

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);  // the vDSO: no syscall
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct record* claim(void) {
    if (!g_records) return &g_spare;
    uint64_t i = atomic_fetch_add((_Atomic uint64_t*)&g_records[0].tid, 1) + 1;
    if (i >= kRecords) return &g_spare;
    g_records[i].tid = (uint64_t)gettid();
    return &g_records[i];
}

static inline void enter(void) {
    if (t_left != 0) {
        struct record* r = t_self;
        r->user_ns += now_ns() - t_left;
        r->gaps++;
    }
}

static inline void leave(long sent) {
    if (!t_self) t_self = claim();
    if (sent > 0) t_self->answers += (uint64_t)sent;
    t_left = now_ns();
}

static void forked_child(void) { t_self = NULL; t_left = 0; }  // the child's thread is a new one

static void* real(const char* name) { return dlsym(RTLD_NEXT, name); }

#define WRAP(ret, name, params, args, sent)                         \
    ret name params {                                               \
        static ret(*next) params;                                   \
        if (!next) next = (ret(*) params)real(#name);               \
        enter();                                                    \
        ret rc = next args;                                         \
        leave(sent);                                                \
        return rc;                                                  \
    }

WRAP(int, poll, (struct pollfd* f, nfds_t n, int t), (f, n, t), 0)
WRAP(int, __poll_chk, (struct pollfd* f, nfds_t n, int t, size_t l), (f, n, t, l), 0)
WRAP(int, ppoll, (struct pollfd* f, nfds_t n, const struct timespec* t, const sigset_t* s), (f, n, t, s), 0)
WRAP(int, select, (int n, fd_set* r, fd_set* w, fd_set* e, struct timeval* t), (n, r, w, e, t), 0)
WRAP(int, epoll_wait, (int e, struct epoll_event* v, int n, int t), (e, v, n, t), 0)
WRAP(int, epoll_pwait, (int e, struct epoll_event* v, int n, int t, const sigset_t* s), (e, v, n, t, s), 0)
WRAP(int, recvmmsg, (int s, struct mmsghdr* m, unsigned n, int f, struct timespec* t), (s, m, n, f, t), 0)
WRAP(int, sendmmsg, (int s, struct mmsghdr* m, unsigned n, int f), (s, m, n, f), rc)
WRAP(ssize_t, recvmsg, (int s, struct msghdr* m, int f), (s, m, f), 0)
WRAP(ssize_t, sendmsg, (int s, const struct msghdr* m, int f), (s, m, f), rc >= 0)
WRAP(ssize_t, recvfrom, (int s, void* b, size_t n, int f, struct sockaddr* a, socklen_t* l), (s, b, n, f, a, l), 0)
WRAP(ssize_t, __recvfrom_chk, (int s, void* b, size_t n, size_t bl, int f, struct sockaddr* a, socklen_t* l),
     (s, b, n, bl, f, a, l), 0)
WRAP(ssize_t, sendto, (int s, const void* b, size_t n, int f, const struct sockaddr* a, socklen_t l),
     (s, b, n, f, a, l), rc >= 0)
WRAP(ssize_t, recv, (int s, void* b, size_t n, int f), (s, b, n, f), 0)
WRAP(ssize_t, __recv_chk, (int s, void* b, size_t n, size_t bl, int f), (s, b, n, bl, f), 0)
WRAP(ssize_t, send, (int s, const void* b, size_t n, int f), (s, b, n, f), 0)
WRAP(ssize_t, read, (int d, void* b, size_t n), (d, b, n), 0)
WRAP(ssize_t, __read_chk, (int d, void* b, size_t n, size_t bl), (d, b, n, bl), 0)
WRAP(ssize_t, write, (int d, const void* b, size_t n), (d, b, n), 0)
WRAP(ssize_t, readv, (int d, const struct iovec* v, int n), (d, v, n), 0)
WRAP(ssize_t, writev, (int d, const struct iovec* v, int n), (d, v, n), 0)

// syscall() is variadic; every Linux syscall takes at most six register-sized arguments, and
// passing six where fewer were given is what glibc's own syscall() does with them.
long syscall(long number, ...) {
    static long (*next)(long, ...);
    if (!next) next = (long (*)(long, ...))real("syscall");
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    enter();
    long r = next(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    long sent = number == SYS_sendmmsg ? r : (number == SYS_sendto || number == SYS_sendmsg) && r >= 0;
    leave(sent);
    return r;
}

__attribute__((constructor)) static void start(void) {
    const char* path = getenv("RRDNS_USERTIME_FILE");
    if (path) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            void* p = mmap(NULL, kFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (p != MAP_FAILED) g_records = p;
            close(fd);
        }
    }
    pthread_atfork(NULL, NULL, forked_child);
}
