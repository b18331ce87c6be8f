/*
 * C reference for pipes between two processes (parent and a forked child).
 *
 *   pipe stream SIZE COUNT     the child writes COUNT messages of SIZE bytes; the parent reads the
 *                              byte stream into a 64 KiB buffer until it has them all
 *   pipe pingpong SIZE COUNT   the parent sends SIZE bytes, the child echoes them, COUNT times
 *
 * Prints one JSON line (see bench.h). The timed part starts when the parent tells the child to go,
 * so fork and process start-up are not measured, as on the TypeScript side.
 */
#include "bench.h"

enum { READ_BUFFER = 65536 };

static void make_pipe(int fds[2]) {
    if (pipe(fds) < 0) die("pipe");
}

static void stream(long size, long count) {
    int data[2], go[2], result[2];
    make_pipe(data);
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

static void pingpong(long size, long count) {
    int ping[2], pong[2], result[2];
    make_pipe(ping);
    make_pipe(pong);
    make_pipe(result);
    char *buffer = calloc(1, (size_t)size);
    double *samples = malloc(sizeof(double) * (size_t)count);
    if (buffer == NULL || samples == NULL) die("malloc");

    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) {
            read_full(ping[0], buffer, size);
            write_all(pong[1], buffer, size);
        }
        double used = cpu_seconds() - cpu_start;
        write_all(result[1], (const char *)&used, sizeof used);
        _exit(0);
    }
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        double sent = now_seconds();
        write_all(ping[1], buffer, size);
        read_full(pong[0], buffer, size);
        samples[i] = now_seconds() - sent;
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    report_pingpong(size, samples, count, seconds, host_cpu, child_cpu_from(result[0], child));
}

int main(int argc, char **argv) {
    return run_mode(argc, argv, stream, pingpong);
}
