/*
 * C reference for POSIX message queues between two processes (parent and a forked child): one
 * queue each way, "down" (parent -> child) and "up" (child -> parent), 10 messages of 8192 bytes at
 * most each (the kernel's defaults), blocking mq_send / mq_receive.
 *
 *   posix_mq stream SIZE COUNT     the child sends COUNT messages of SIZE bytes; the parent receives
 *   posix_mq pingpong SIZE COUNT   the parent sends SIZE bytes, the child echoes them, COUNT times
 *
 * Both queues are unlinked as soon as they are open: the forked child inherits the descriptors, and
 * the kernel frees the queues when both processes have closed them, however they end. Prints one
 * JSON line (see bench.h); the timed part starts when the parent tells the child to go.
 */
#include "bench.h"
#include <fcntl.h>
#include <mqueue.h>

enum { MESSAGE_SIZE = 8192 };

static mqd_t down_queue, up_queue;

static mqd_t make_queue(const char *direction) {
    char name[64];
    snprintf(name, sizeof name, "/ipc-bench-c-%d-%s", (int)getpid(), direction);
    struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = MESSAGE_SIZE };
    mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (q == (mqd_t)-1) die("mq_open");
    if (mq_unlink(name) < 0) die("mq_unlink");
    return q;
}

static void make_queues(void) {
    down_queue = make_queue("down");
    up_queue = make_queue("up");
}

static void send_message(mqd_t q, const char *bytes, long size) {
    while (mq_send(q, bytes, (size_t)size, 0) < 0) {
        if (errno != EINTR) die("mq_send");
    }
}

static long receive_message(mqd_t q, char *buffer) {
    for (;;) {
        ssize_t n = mq_receive(q, buffer, MESSAGE_SIZE, NULL);
        if (n >= 0) return (long)n;
        if (errno != EINTR) die("mq_receive");
    }
}

/* The child's CPU seconds travel back as one more message on the up queue. */
static double finish_child(pid_t child, char *buffer) {
    double peer_cpu;
    receive_message(up_queue, buffer);
    memcpy(&peer_cpu, buffer, sizeof peer_cpu);
    wait_child(child);
    return peer_cpu;
}

static void report_child_cpu(double used) {
    send_message(up_queue, (const char *)&used, sizeof used);
    _exit(0);
}

static void stream(long size, long count) {
    static char buffer[MESSAGE_SIZE];
    make_queues();
    memset(buffer, 'x', (size_t)size);
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        receive_message(down_queue, buffer);
        memset(buffer, 'x', (size_t)size);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) send_message(up_queue, buffer, size);
        report_child_cpu(cpu_seconds() - cpu_start);
    }
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    send_message(down_queue, "g", 1);
    for (long i = 0; i < count; i++) {
        if (receive_message(up_queue, buffer) != size) {
            fprintf(stderr, "mq_receive: a message of the wrong size\n");
            exit(1);
        }
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    report_stream(size, count, seconds, host_cpu, finish_child(child, buffer));
}

static void pingpong(long size, long count) {
    static char buffer[MESSAGE_SIZE];
    make_queues();
    double *samples = malloc(sizeof(double) * (size_t)count);
    if (samples == NULL) die("malloc");
    memset(buffer, 'p', (size_t)size);
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) {
            long n = receive_message(down_queue, buffer);
            send_message(up_queue, buffer, n);
        }
        report_child_cpu(cpu_seconds() - cpu_start);
    }
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        double sent = now_seconds();
        send_message(down_queue, buffer, size);
        receive_message(up_queue, buffer);
        samples[i] = now_seconds() - sent;
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    report_pingpong(size, samples, count, seconds, host_cpu, finish_child(child, buffer));
}

int main(int argc, char **argv) {
    return run_mode(argc, argv, stream, pingpong);
}
