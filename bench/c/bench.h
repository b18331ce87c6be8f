/*
 * Shared by the C references of the benchmark suite: a monotonic clock, CPU time from getrusage,
 * whole reads and writes, the wait for the forked child,
 * the nearest-rank percentile the TypeScript side uses too, and the one-line JSON report every
 * reference prints on stdout for src/c.ts to parse.
 */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Where each side runs: BENCH_CPUS="A,B" pins the parent (side 0) to CPU A and the child (side 1) to
 * CPU B, as the bench pins its own processes. Unset or empty: the scheduler decides.
 */
static inline void pin_side(int side) {
    const char *cpus = getenv("BENCH_CPUS");
    if (cpus == NULL || *cpus == '\0') return;
    int first = -1, second = -1;
    if (sscanf(cpus, "%d,%d", &first, &second) != 2 || first < 0 || second < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(side == 0 ? first : second, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) perror("sched_setaffinity");
}

static inline double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User plus system CPU seconds this process has used so far. */
static inline double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

static inline void die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(1);
}

static inline long parse_count(const char *text, const char *what) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 0);
    if (errno != 0 || *end != '\0' || value <= 0) {
        fprintf(stderr, "%s must be a positive integer, not '%s'\n", what, text);
        exit(2);
    }
    return value;
}

/* Writes all of `data` (write(2) may take less). */
static inline void write_all(int fd, const char *data, long length) {
    while (length > 0) {
        ssize_t n = write(fd, data, (size_t)length);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("write");
        }
        data += n;
        length -= n;
    }
}

/* Reads exactly `length` bytes: several reads on a pipe or stream socket, one record on a seqpacket socket. */
static inline void read_full(int fd, char *data, long length) {
    while (length > 0) {
        ssize_t n = read(fd, data, (size_t)length);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("read");
        }
        if (n == 0) {
            fprintf(stderr, "read: unexpected end of file\n");
            exit(1);
        }
        data += n;
        length -= n;
    }
}

/* Waits for the forked child, and ends this process if it failed. */
static inline void wait_child(pid_t child) {
    int status;
    if (waitpid(child, &status, 0) < 0) die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the child side failed\n");
        exit(1);
    }
}

/* The child's CPU seconds, sent back as one double on `result_fd`, once the child has ended well. */
static inline double child_cpu_from(int result_fd, pid_t child) {
    double peer_cpu;
    read_full(result_fd, (char *)&peer_cpu, sizeof peer_cpu);
    wait_child(child);
    return peer_cpu;
}

/*
 * main() of a reference with two modes: `stream|pingpong SIZE COUNT`. Pins the parent (side 0);
 * the child, forked later by the mode, moves itself to its own CPU.
 */
static inline int run_mode(int argc, char **argv, void (*stream)(long, long), void (*pingpong)(long, long)) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s stream|pingpong SIZE COUNT\n", argv[0]);
        return 2;
    }
    long size = parse_count(argv[2], "SIZE"), count = parse_count(argv[3], "COUNT");
    pin_side(0);
    if (strcmp(argv[1], "stream") == 0) stream(size, count);
    else if (strcmp(argv[1], "pingpong") == 0) pingpong(size, count);
    else {
        fprintf(stderr, "unknown mode '%s'\n", argv[1]);
        return 2;
    }
    return 0;
}

static inline int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p of all samples at or below it. */
static inline double percentile(const double *sorted, long n, double p) {
    long rank = (long)ceil(p * (double)n);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

/* One streaming trial: `bytes` moved in `seconds`; CPU seconds of the receiving and sending sides. */
static inline void report_stream(long size, long count, double seconds, double host_cpu, double peer_cpu) {
    printf("{\"size\":%ld,\"count\":%ld,\"bytes\":%ld,\"seconds\":%.9f,\"hostCpu\":%.6f,\"peerCpu\":%.6f}\n",
           size, count, size * count, seconds, host_cpu, peer_cpu);
}

/* One ping-pong trial: per-round-trip samples in seconds (sorted here). */
static inline void report_pingpong(long size, double *samples, long count, double seconds, double host_cpu, double peer_cpu) {
    qsort(samples, (size_t)count, sizeof(double), compare_doubles);
    printf("{\"size\":%ld,\"count\":%ld,\"seconds\":%.9f,\"median\":%.9f,\"p99\":%.9f,\"p999\":%.9f,\"hostCpu\":%.6f,\"peerCpu\":%.6f}\n",
           size, count, seconds, percentile(samples, count, 0.5), percentile(samples, count, 0.99), percentile(samples, count, 0.999), host_cpu, peer_cpu);
}

#endif
