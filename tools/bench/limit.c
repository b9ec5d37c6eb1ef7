// limit -- the "physical limit" anchor: a UDP DNS responder for one core that does no DNS work.
// From the shared bench harness (../shared/bench/limit.c), unchanged otherwise.
//
// It answers every query with a minimal valid response built in place: QR=1, AA=1, RCODE=0,
// the question kept, ANCOUNT=NSCOUNT=ARCOUNT=0 (a NODATA-shaped reply, no zone, no lookup, no
// EDNS). What is left is the cost of the loopback UDP path itself: recvmmsg + sendmmsg in batches
// of up to 64 on one non-blocking socket, poll() only when there is nothing to read. No real
// server can answer faster on the same core with the same syscalls; bench/limit.sh measures it
// beside knot, nsd and gdnsd.
//
// Build: gcc -O2 -Wall -o limit limit.c
// Usage: limit -p PORT [-s 127.0.0.1] [-b batch (64)]
// Runs in the foreground; on SIGTERM/SIGINT it prints what it answered to stderr and exits.
// Malformed queries get FORMERR (header only), opcodes other than QUERY get NOTIMP, responses
// (QR=1) are dropped.
#define _GNU_SOURCE  // sendmmsg, recvmmsg
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAXBATCH = 256, PKT = 1232 };

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

// Turn the query in p[0..len) into a response in place; returns its length, 0 to drop it.
static size_t respond(unsigned char *p, size_t len) {
    if (len < 12 || (p[2] & 0x80)) return 0;           // too short for a header, or a response
    unsigned opcode = (p[2] >> 3) & 0x0f;
    p[2] = (unsigned char)((p[2] & 0x79) | 0x84);       // QR=1, AA=1, TC=0; opcode and RD kept
    p[3] &= 0x10;                                       // RA=0, Z=0, AD=0, CD kept, RCODE=0
    memset(p + 6, 0, 6);                                // ANCOUNT = NSCOUNT = ARCOUNT = 0
    if (opcode != 0) { p[3] |= 4; p[4] = p[5] = 0; return 12; }   // NOTIMP, no question
    if (p[4] != 0 || p[5] != 1) goto formerr;           // exactly one question
    size_t off = 12;
    while (off < len && p[off] != 0) {                  // QNAME: plain labels (no compression)
        if (p[off] > 63) goto formerr;
        off += 1 + p[off];
    }
    if (off + 5 > len) goto formerr;                    // root label + QTYPE + QCLASS
    return off + 5;                                     // anything after the question is dropped
formerr:
    p[3] |= 1;
    p[4] = p[5] = 0;
    return 12;
}

int main(int argc, char **argv) {
    const char *addr = "127.0.0.1";
    int port = 0, batch = 64, c;
    while ((c = getopt(argc, argv, "s:p:b:")) != -1) {
        switch (c) {
        case 's': addr = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        default: fprintf(stderr, "usage: %s -p PORT [-s ADDR] [-b BATCH]\n", argv[0]); return 2;
        }
    }
    if (port <= 0 || port > 65535 || batch < 1 || batch > MAXBATCH) { fprintf(stderr, "bad arguments\n"); return 2; }

    struct sigaction sa_sig = {.sa_handler = on_signal};   // no SA_RESTART: poll() returns EINTR
    sigaction(SIGTERM, &sa_sig, NULL);
    sigaction(SIGINT, &sa_sig, NULL);

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("socket/bind"); return 1;
    }
    int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);

    static unsigned char pkt[MAXBATCH][PKT];
    static struct sockaddr_in peer[MAXBATCH];
    static struct mmsghdr msg[MAXBATCH], out[MAXBATCH];
    static struct iovec iov[MAXBATCH], oiov[MAXBATCH];
    for (int i = 0; i < batch; i++) {
        iov[i] = (struct iovec){pkt[i], PKT};
        msg[i].msg_hdr = (struct msghdr){.msg_name = &peer[i], .msg_iov = &iov[i], .msg_iovlen = 1};
        out[i].msg_hdr = (struct msghdr){.msg_iov = &oiov[i], .msg_iovlen = 1};
    }

    unsigned long answered = 0, dropped = 0, polls = 0, batches = 0, sends = 0;
    for (int i = 0; i < batch; i++) msg[i].msg_hdr.msg_namelen = sizeof peer[i];
    while (!stop) {
        int n = recvmmsg(fd, msg, (unsigned)batch, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { perror("recvmmsg"); return 1; }
            struct pollfd pfd = {fd, POLLIN, 0};
            poll(&pfd, 1, -1);   // idle: sleep until a query arrives (or a signal)
            polls++;
            continue;
        }
        batches++;
        int m = 0;               // build the replies; drop what must not be answered
        for (int i = 0; i < n; i++) {
            size_t len = respond(pkt[i], msg[i].msg_len);
            if (len == 0) { dropped++; continue; }
            oiov[m] = (struct iovec){pkt[i], len};
            out[m].msg_hdr.msg_name = &peer[i];
            out[m].msg_hdr.msg_namelen = msg[i].msg_hdr.msg_namelen;
            m++;
        }
        for (int i = 0; i < n; i++) msg[i].msg_hdr.msg_namelen = sizeof peer[i];   // for the next recvmmsg
        for (int off = 0; off < m;) {
            int s = sendmmsg(fd, out + off, (unsigned)(m - off), 0);
            sends++;
            if (s > 0) { off += s; answered += (unsigned long)s; continue; }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {   // send buffer full: wait for room
                struct pollfd pfd = {fd, POLLOUT, 0};
                poll(&pfd, 1, 10);
            } else if (errno != EINTR) {                     // this datagram cannot go out: skip it
                off++; dropped++;
            }
        }
    }
    fprintf(stderr, "limit: answered %lu dropped %lu; %lu recvmmsg batches (%.1f queries each), %lu sendmmsg, %lu idle polls\n",
            answered, dropped, batches, batches ? (double)(answered + dropped) / batches : 0.0, sends, polls);
    return 0;
}
