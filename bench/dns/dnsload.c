// dnsload: a small DNS load generator and a fast fake upstream, for scripts/bench.
//
//   dnsload query SERVER PORT [--name NAME | --names PREFIX COUNT] [--window N]
//                 [--duration SECONDS] [--type N]
//       Keeps N queries in flight over one UDP socket (default 1) for SECONDS (default 3),
//       after a 0.5 s warm-up that is not counted. With --names, each query asks PREFIX<k>
//       for a random k in 1..COUNT. Prints one line:
//         sent=… answered=… qps=… p50_us=… p90_us=… p99_us=… max_us=… timeouts=… errors=… total=…
//       errors counts answers with a response code other than NOERROR or without an answer;
//       total counts every answer, warm-up included (for CPU time per query).
//   dnsload upstream ADDRESS PORT
//       Answers every query on UDP ADDRESS:PORT with one A record, 198.51.100.7, TTL 30,
//       until killed: the upstream of the forwarding benchmark, never the bottleneck.
//
// Latency is measured from just before send() to just after recv() of the matching id,
// with CLOCK_MONOTONIC; a query unanswered for 1 s counts as a timeout and is replaced.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

// Writes NAME (dotted) as wire labels at out; returns the length, or 0 if it does not fit.
static size_t put_name(uint8_t *out, size_t room, const char *name) {
    size_t n = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t len = dot ? (size_t)(dot - name) : strlen(name);
        if (len == 0 || len > 63 || n + 1 + len + 1 > room) return 0;
        out[n++] = (uint8_t)len;
        memcpy(out + n, name, len);
        n += len;
        name += len + (dot ? 1 : 0);
    }
    out[n++] = 0;
    return n;
}

static size_t build_query(uint8_t *buf, uint16_t id, const char *name, uint16_t type) {
    memset(buf, 0, 12);
    buf[0] = id >> 8; buf[1] = id & 0xff;
    buf[2] = 0x01;              // RD
    buf[5] = 1;                 // QDCOUNT
    size_t n = put_name(buf + 12, 300, name);
    if (!n) { fprintf(stderr, "dnsload: bad name %s\n", name); exit(2); }
    n += 12;
    buf[n++] = type >> 8; buf[n++] = type & 0xff;
    buf[n++] = 0; buf[n++] = 1; // IN
    return n;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int run_query(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: dnsload query SERVER PORT [options]\n"); return 2; }
    const char *server = argv[2];
    int port = atoi(argv[3]);
    const char *name = "web", *prefix = NULL;
    int count = 0, window = 1;
    double duration = 3;
    uint16_t type = 1;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--names") && i + 2 < argc) { prefix = argv[++i]; count = atoi(argv[++i]); }
        else if (!strcmp(argv[i], "--window") && i + 1 < argc) window = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--duration") && i + 1 < argc) duration = atof(argv[++i]);
        else if (!strcmp(argv[i], "--type") && i + 1 < argc) type = (uint16_t)atoi(argv[++i]);
        else { fprintf(stderr, "dnsload: unknown option %s\n", argv[i]); return 2; }
    }
    if (window < 1 || window > 1024) { fprintf(stderr, "dnsload: window 1..1024\n"); return 2; }

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, server, &sa.sin_addr) != 1) { fprintf(stderr, "dnsload: bad address %s\n", server); return 2; }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");

    static uint64_t sent_at[65536];
    static uint8_t in_flight[65536];
    size_t cap = 1 << 22, samples_n = 0;
    uint32_t *samples = malloc(cap * sizeof *samples);
    if (!samples) die("malloc");
    uint64_t sent = 0, answered = 0, timeouts = 0, errors = 0, total = 0;
    uint16_t next_id = 1, oldest = 1;
    uint8_t buf[4096];
    char qname[300];
    srand(42);

    uint64_t start = now_ns(), measure_from = start + 500000000ull;
    uint64_t end = measure_from + (uint64_t)(duration * 1e9);
    int outstanding = 0;
    for (;;) {
        uint64_t t = now_ns();
        if (t >= end) break;
        while (outstanding < window) {
            uint16_t id = next_id++;
            if (in_flight[id]) continue;
            if (prefix) snprintf(qname, sizeof qname, "%s%d", prefix, 1 + rand() % count);
            size_t n = build_query(buf, id, prefix ? qname : name, type);
            sent_at[id] = now_ns();
            if (send(fd, buf, n, 0) < 0) { if (errno == ENOBUFS || errno == EAGAIN) break; die("send"); }
            in_flight[id] = 1;
            outstanding++;
            if (sent_at[id] >= measure_from) sent++;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n >= 12) {
                uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
                if (in_flight[id]) {
                    uint64_t done = now_ns();
                    in_flight[id] = 0;
                    outstanding--;
                    total++;
                    if (sent_at[id] >= measure_from && done < end) {
                        answered++;
                        if ((buf[3] & 0x0f) != 0 || (buf[6] == 0 && buf[7] == 0)) errors++;
                        if (samples_n < cap) samples[samples_n++] = (uint32_t)((done - sent_at[id]) / 1000);
                    }
                }
            }
        }
        // Queries unanswered for 1 s are given up (and replaced by the loop above). Ids are
        // sent in order, so the oldest in flight is the first set flag from `oldest` on.
        t = now_ns();
        while (oldest != next_id && !in_flight[oldest]) oldest++;
        while (oldest != next_id && in_flight[oldest] && t - sent_at[oldest] > 1000000000ull) {
            in_flight[oldest] = 0;
            outstanding--;
            if (sent_at[oldest] >= measure_from) timeouts++;
            oldest++;
            while (oldest != next_id && !in_flight[oldest]) oldest++;
        }
    }
    qsort(samples, samples_n, sizeof *samples, cmp_u32);
#define PCT(p) (samples_n ? samples[(size_t)((samples_n - 1) * (p) / 100.0)] : 0)
    printf("sent=%llu answered=%llu qps=%.0f p50_us=%u p90_us=%u p99_us=%u max_us=%u timeouts=%llu errors=%llu total=%llu\n",
           (unsigned long long)sent, (unsigned long long)answered, answered / duration, PCT(50), PCT(90), PCT(99),
           samples_n ? samples[samples_n - 1] : 0, (unsigned long long)timeouts, (unsigned long long)errors,
           (unsigned long long)total);
    return 0;
}

static int run_upstream(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: dnsload upstream ADDRESS PORT\n"); return 2; }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) { fprintf(stderr, "dnsload: bad address %s\n", argv[2]); return 2; }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    printf("ready\n");
    fflush(stdout);
    uint8_t buf[4096];
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf - 16, 0, (struct sockaddr *)&peer, &len);
        if (n < 12) continue;
        // Skip the question name to find where the answer goes.
        size_t q = 12;
        while (q < (size_t)n && buf[q] != 0 && buf[q] < 64) q += 1 + buf[q];
        if (q + 5 > (size_t)n) continue;
        size_t end = q + 5;
        buf[2] = 0x81; buf[3] = 0x80;          // QR RD RA, NOERROR
        buf[6] = 0; buf[7] = 1;                // ANCOUNT 1
        buf[8] = buf[9] = buf[10] = buf[11] = 0;
        static const uint8_t answer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 198, 51, 100, 7};
        memcpy(buf + end, answer, sizeof answer);
        sendto(fd, buf, end + sizeof answer, 0, (struct sockaddr *)&peer, len);
    }
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "query")) return run_query(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "upstream")) return run_upstream(argc, argv);
    fprintf(stderr, "usage: dnsload query SERVER PORT [options] | dnsload upstream ADDRESS PORT\n");
    return 2;
}
