// udpblast -- a minimal closed-loop UDP DNS load generator (sendmmsg/recvmmsg, one socket).
// From the shared bench harness (../shared/bench/udpblast.c); here -l also takes fractions.
//
// Why: on a 2-core machine dnsperf on its one core tops out near the speed of knotd/nsd on
// theirs, so its qps says more about dnsperf than about the server. udpblast spends far less
// per query (no per-query bookkeeping, batched syscalls), to show where the server itself stops.
// It measures throughput only: use dnsperf for latency.
//
// Build: cc -O2 -Wall -o udpblast udpblast.c
// Usage: udpblast -p PORT [-s 127.0.0.1] [-d queries.txt] [-l seconds] [-q outstanding]
//                 [-b batch] [-r] [-e] [-E code:hex] [-D]
//   -r sets RD (dnsperf always does; resolvers talking to authoritatives do not), -e adds EDNS0,
//   -E adds EDNS0 with that option in every query, as dnsperf's -E does (e.g. the EDNS Client
//   Subnet 10.1.0.0/24: -E 8:000118000a0100), -D adds EDNS0 with the DNSSEC OK bit, as dnsperf's
//   -D does.
#define _GNU_SOURCE  // sendmmsg, recvmmsg
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// RPKT: answers to DO=1 queries (RRSIGs, NSEC proofs) may fill the 1232 bytes the OPT offers.
enum { MAXQ = 4096, MAXBATCH = 256, PKT = 512, RPKT = 1232 };

static unsigned char queries[MAXQ][PKT];
static size_t qlen[MAXQ];
static int nq;
static unsigned char option[256];   // -E: CODE, LENGTH, DATA as they go into the OPT record
static size_t option_len;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int qtype_of(const char *t) {
    static const struct { const char *name; int code; } types[] = {
        {"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28}, {"ANY", 255}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(t, types[i].name) == 0) return types[i].code;
    return -1;
}

// encode "name type" into queries[nq]; returns 0 on success
static int add_query(const char *name, const char *type, int rd, int edns, int dnssec_ok) {
    unsigned char *p = queries[nq];
    int code = qtype_of(type);
    if (code < 0 || nq >= MAXQ) return -1;
    memset(p, 0, 12);
    p[2] = rd ? 0x01 : 0x00;
    p[5] = 1;                         // QDCOUNT
    p[11] = edns ? 1 : 0;             // ARCOUNT
    size_t off = 12;
    const char *s = name;
    while (*s) {                      // labels
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (len == 0 || len > 63 || off + len + 1 > PKT - 32) return -1;
        p[off++] = (unsigned char)len;
        memcpy(p + off, s, len);
        off += len;
        s += len + (dot ? 1 : 0);
    }
    p[off++] = 0;
    p[off++] = (unsigned char)(code >> 8); p[off++] = (unsigned char)code;
    p[off++] = 0; p[off++] = 1;       // class IN
    if (edns) {                       // OPT: root, type 41, udp 1232, flags (-D: DO), -E's option
        static const unsigned char opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
        if (off + sizeof opt + option_len > PKT) return -1;
        memcpy(p + off, opt, sizeof opt);
        if (dnssec_ok) p[off + 7] = 0x80;   // the TTL's flags field, high bit (RFC 3225)
        off += sizeof opt;
        p[off - 2] = (unsigned char)(option_len >> 8); p[off - 1] = (unsigned char)option_len;
        memcpy(p + off, option, option_len);
        off += option_len;
    }
    qlen[nq++] = off;
    return 0;
}

// -E CODE:HEX -> option[]; 0 on success
static int parse_option(const char *arg) {
    char *colon;
    long code = strtol(arg, &colon, 10);
    size_t hex = *colon == ':' ? strlen(colon + 1) : 1;
    if (colon == arg || *colon != ':' || code < 0 || code > 65535 || hex % 2 || hex / 2 > sizeof option - 4) return -1;
    option[0] = (unsigned char)(code >> 8); option[1] = (unsigned char)code;
    option[2] = (unsigned char)((hex / 2) >> 8); option[3] = (unsigned char)(hex / 2);
    for (size_t i = 0; i < hex / 2; i++) {
        unsigned v;
        const char *h = colon + 1 + 2 * i;
        if (!isxdigit((unsigned char)h[0]) || !isxdigit((unsigned char)h[1]) || sscanf(h, "%2x", &v) != 1) return -1;
        option[4 + i] = (unsigned char)v;
    }
    option_len = 4 + hex / 2;
    return 0;
}

int main(int argc, char **argv) {
    const char *server = "127.0.0.1", *file = "queries.txt";
    double seconds = 10;
    int port = 0, window = 200, batch = 32, rd = 0, edns = 0, dnssec_ok = 0, c;
    while ((c = getopt(argc, argv, "s:p:d:l:q:b:reE:D")) != -1) {
        switch (c) {
        case 's': server = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'd': file = optarg; break;
        case 'l': seconds = atof(optarg); break;  // fractions allowed (tools/bench --quick)
        case 'q': window = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'r': rd = 1; break;
        case 'e': edns = 1; break;
        case 'E': edns = 1; if (parse_option(optarg) != 0) { fprintf(stderr, "-E: want CODE:HEX\n"); return 2; } break;
        case 'D': edns = 1; dnssec_ok = 1; break;
        default: fprintf(stderr, "usage: %s -p PORT [-s ADDR] [-d FILE] [-l SEC] [-q OUTSTANDING] [-b BATCH] [-r] [-e] [-E CODE:HEX] [-D]\n", argv[0]); return 2;
        }
    }
    if (port <= 0 || window < 1 || batch < 1 || batch > MAXBATCH) { fprintf(stderr, "bad arguments\n"); return 2; }

    FILE *f = fopen(file, "r");
    if (!f) { perror(file); return 1; }
    char line[512], name[256], type[16];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%255s %15s", name, type) == 2 && name[0] != '#' && add_query(name, type, rd, edns, dnssec_ok) != 0) {
            fprintf(stderr, "cannot encode: %s", line); return 1;
        }
    fclose(f);
    if (nq == 0) { fprintf(stderr, "no queries in %s\n", file); return 1; }

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, server, &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("socket/connect"); return 1;
    }
    int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);

    static unsigned char rbuf[MAXBATCH][RPKT];
    struct mmsghdr smsg[MAXBATCH], rmsg[MAXBATCH];
    struct iovec siov[MAXBATCH], riov[MAXBATCH];
    memset(rmsg, 0, sizeof rmsg);
    for (int i = 0; i < MAXBATCH; i++) {
        riov[i] = (struct iovec){rbuf[i], RPKT};
        rmsg[i].msg_hdr.msg_iov = &riov[i];
        rmsg[i].msg_hdr.msg_iovlen = 1;
    }

    unsigned long sent = 0, received = 0, lost = 0, rcode[16] = {0};
    long inflight = 0;
    uint16_t id = 0;
    double start = now(), end = start + seconds, last_rx = start;
    while (now() < end) {
        int n = 0;
        while (n < batch && inflight + n < window) {
            int k = (int)(sent + n) % nq;
            queries[k][0] = (unsigned char)(id >> 8); queries[k][1] = (unsigned char)id; id++;
            siov[n] = (struct iovec){queries[k], qlen[k]};
            memset(&smsg[n], 0, sizeof smsg[n]);
            smsg[n].msg_hdr.msg_iov = &siov[n];
            smsg[n].msg_hdr.msg_iovlen = 1;
            n++;
        }
        if (n > 0) {
            int s = sendmmsg(fd, smsg, n, 0);
            if (s > 0) { sent += s; inflight += s; }
        }
        int r = recvmmsg(fd, rmsg, MAXBATCH, MSG_DONTWAIT, NULL);
        if (r > 0) {
            for (int i = 0; i < r; i++) rcode[rbuf[i][3] & 0x0f]++;
            received += r; inflight -= r; last_rx = now();
            if (inflight < 0) inflight = 0;   // late answers to queries already written off
        } else if (inflight >= window) {
            struct pollfd pfd = {fd, POLLIN, 0};
            if (poll(&pfd, 1, 1) == 0 && now() - last_rx > 0.1) { lost += inflight; inflight = 0; last_rx = now(); }
        }
    }
    double elapsed = now() - start;
    printf("sent %lu received %lu lost %lu elapsed %.3f s qps %.0f (NOERROR %lu NXDOMAIN %lu other %lu)\n",
           sent, received, lost, elapsed, received / elapsed, rcode[0], rcode[3], received - rcode[0] - rcode[3]);
    return 0;
}
