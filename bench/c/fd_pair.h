/*
 * The two measures of a descriptor channel between a parent and its forked child, shared by the
 * pipe and UNIX socket references: they differ only in the descriptors they make. The timed part
 * starts when the parent tells the child to go (over a pipe kept apart from the channel measured),
 * so fork and process start-up are not measured, as on the TypeScript side.
 */
#ifndef FD_PAIR_H
#define FD_PAIR_H

#include "bench.h"

enum { READ_BUFFER = 65536 };

static inline void make_pipe(int fds[2]) {
    if (pipe(fds) < 0) die("pipe");
}

/* The parent's and the child's ends of a two-way channel: the same descriptor both ways on a socket. */
struct duplex {
    int parent_in, parent_out, child_in, child_out;
};

static inline void close_ends(int in, int out) {
    close(in);
    if (out != in) close(out);
}

/*
 * `stream SIZE COUNT` over the one-way channel make_channel gives ([0] read, [1] written): the child
 * writes COUNT messages of SIZE bytes; the parent reads the byte stream into a 64 KiB buffer (one
 * record a read on a seqpacket socket) until it has them all.
 */
static inline void stream_through(long size, long count, void (*make_channel)(int fds[2])) {
    int data[2], go[2], result[2];
    make_channel(data);
    make_pipe(go);
    make_pipe(result);
    char *buffer = malloc(size > READ_BUFFER ? (size_t)size : READ_BUFFER);
    if (buffer == NULL) die("malloc");
    memset(buffer, 'x', (size_t)size);

    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        close(data[0]);
        char signal;
        read_full(go[0], &signal, 1);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) write_all(data[1], buffer, size);
        double used = cpu_seconds() - cpu_start;
        write_all(result[1], (const char *)&used, sizeof used);
        _exit(0);
    }
    close(data[1]);
    long total = size * count, received = 0;
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    write_all(go[1], "g", 1);
    while (received < total) {
        ssize_t n = read(data[0], buffer, READ_BUFFER);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("read");
        if (n == 0) {
            fprintf(stderr, "read: end of file after %ld of %ld bytes\n", received, total);
            exit(1);
        }
        received += n;
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    report_stream(size, count, seconds, host_cpu, child_cpu_from(result[0], child));
}

/* `pingpong SIZE COUNT` over the channel make_duplex gives: the parent sends SIZE bytes, the child echoes them, COUNT times. */
static inline void pingpong_through(long size, long count, struct duplex (*make_duplex)(void)) {
    struct duplex channel = make_duplex();
    int result[2];
    make_pipe(result);
    char *buffer = calloc(1, (size_t)size);
    double *samples = malloc(sizeof(double) * (size_t)count);
    if (buffer == NULL || samples == NULL) die("malloc");

    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        close_ends(channel.parent_in, channel.parent_out);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) {
            read_full(channel.child_in, buffer, size);
            write_all(channel.child_out, buffer, size);
        }
        double used = cpu_seconds() - cpu_start;
        write_all(result[1], (const char *)&used, sizeof used);
        _exit(0);
    }
    close_ends(channel.child_in, channel.child_out);
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        double sent = now_seconds();
        write_all(channel.parent_out, buffer, size);
        read_full(channel.parent_in, buffer, size);
        samples[i] = now_seconds() - sent;
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    report_pingpong(size, samples, count, seconds, host_cpu, child_cpu_from(result[0], child));
}

#endif
