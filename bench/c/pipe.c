/*
 * C reference for pipes between two processes (parent and a forked child).
 *
 *   pipe stream SIZE COUNT     the child writes COUNT messages of SIZE bytes; the parent reads the
 *                              byte stream into a 64 KiB buffer until it has them all
 *   pipe pingpong SIZE COUNT   the parent sends SIZE bytes, the child echoes them, COUNT times
 *
 * Prints one JSON line (see bench.h); the measures themselves are in fd_pair.h.
 */
#include "fd_pair.h"

static void stream(long size, long count) {
    stream_through(size, count, make_pipe);
}

/* Two pipes: ping down to the child, pong back. */
static struct duplex two_pipes(void) {
    int ping[2], pong[2];
    make_pipe(ping);
    make_pipe(pong);
    return (struct duplex){ .parent_in = pong[0], .parent_out = ping[1], .child_in = ping[0], .child_out = pong[1] };
}

static void pingpong(long size, long count) {
    pingpong_through(size, count, two_pipes);
}

int main(int argc, char **argv) {
    return run_mode(argc, argv, stream, pingpong);
}
