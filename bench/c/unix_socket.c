/*
 * C reference for UNIX domain sockets between two processes (parent and a forked child), over one
 * socketpair. BENCH_SOCKET_TYPE chooses the type: "stream" (SOCK_STREAM, the default) or
 * "seqpacket" (SOCK_SEQPACKET: every write is a record, every read takes one).
 *
 *   unix_socket stream SIZE COUNT     the child writes COUNT messages of SIZE bytes; the parent reads
 *                                     into a 64 KiB buffer until it has every byte
 *   unix_socket pingpong SIZE COUNT   the parent sends SIZE bytes, the child echoes them, COUNT times
 *
 * Prints one JSON line (see bench.h); the measures themselves are in fd_pair.h, shared with pipe.c.
 */
#include "fd_pair.h"
#include <sys/socket.h>

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

static void stream(long size, long count) {
    stream_through(size, count, make_socketpair);
}

/* One socketpair, both ways: each side reads and writes its own end. */
static struct duplex one_socketpair(void) {
    int fds[2];
    make_socketpair(fds);
    return (struct duplex){ .parent_in = fds[0], .parent_out = fds[0], .child_in = fds[1], .child_out = fds[1] };
}

static void pingpong(long size, long count) {
    pingpong_through(size, count, one_socketpair);
}

int main(int argc, char **argv) {
    return run_mode(argc, argv, stream, pingpong);
}
