/*
 * C reference for UNIX domain sockets between two processes (parent and a forked child), over one
 * socketpair. BENCH_SOCKET_TYPE chooses the type: "stream" (SOCK_STREAM, the default) or
 * "seqpacket" (SOCK_SEQPACKET: every write is a record, every read takes one).
 *
 *   unix_socket stream SIZE COUNT     the child writes COUNT messages of SIZE bytes; the parent reads
 *                                     into a 64 KiB buffer until it has every byte
 *   unix_socket pingpong SIZE COUNT   the parent sends SIZE bytes, the child echoes them, COUNT times
 *
 * Prints one JSON line (see bench.h). As in pipe.c, the timed part starts when the parent tells the
 * child to go (a pipe, kept apart from the socket measured).
 */
#include "bench.h"
#include <sys/socket.h>

enum { READ_BUFFER = 65536 };

static int socket_type(void) {
    const char *type = getenv("BENCH_SOCKET_TYPE");
    if (type == NULL || strcmp(type, "stream") == 0) return SOCK_STREAM;
    if (strcmp(type, "seqpacket") == 0) return SOCK_SEQPACKET;
    fprintf(stderr, "BENCH_SOCKET_TYPE must be stream or seqpacket, not '%s'\n", type);
    exit(2);
}

static void make_socketpair(int fds[2]) {
    if (socketpair(AF_UNIX, socket_type(), 0, fds) < 0) die("socketpair");
}

static void make_pipe(int fds[2]) {
    if (pipe(fds) < 0) die("pipe");
}

static void stream(long size, long count) {
    int data[2], go[2], result[2];
    make_socketpair(data);
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
    int channel[2], result[2];
    make_socketpair(channel);
    make_pipe(result);
    char *buffer = calloc(1, (size_t)size);
    double *samples = malloc(sizeof(double) * (size_t)count);
    if (buffer == NULL || samples == NULL) die("malloc");

    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        close(channel[0]);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) {
            read_full(channel[1], buffer, size);
            write_all(channel[1], buffer, size);
        }
        double used = cpu_seconds() - cpu_start;
        write_all(result[1], (const char *)&used, sizeof used);
        _exit(0);
    }
    close(channel[1]);
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        double sent = now_seconds();
        write_all(channel[0], buffer, size);
        read_full(channel[0], buffer, size);
        samples[i] = now_seconds() - sent;
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    report_pingpong(size, samples, count, seconds, host_cpu, child_cpu_from(result[0], child));
}

int main(int argc, char **argv) {
    return run_mode(argc, argv, stream, pingpong);
}
