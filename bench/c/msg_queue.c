/*
 * C reference for System V message queues between two processes (parent and a forked child), over
 * one queue: type 1 carries messages parent -> child, type 2 child -> parent.
 *
 *   msg_queue stream SIZE COUNT     the child sends COUNT messages of SIZE bytes; the parent
 *                                   receives them
 *   msg_queue pingpong SIZE COUNT   the parent sends SIZE bytes, the child echoes them, COUNT times
 *
 * SIZE is at most /proc/sys/kernel/msgmax (8192 by default). The queue is private (IPC_PRIVATE) and
 * removed at exit, however the program exits. Prints one JSON line (see bench.h); the timed part
 * starts when the parent tells the child to go (a message of type 3).
 */
#include "bench.h"
#include <sys/ipc.h>
#include <sys/msg.h>

enum { DOWN = 1, UP = 2, GO = 3, RESULT = 4, MAX_TEXT = 65536 };

struct message {
    long mtype;
    char mtext[MAX_TEXT];
};

static int queue = -1;
static pid_t owner;

static void remove_queue(void) {
    if (queue >= 0 && getpid() == owner) msgctl(queue, IPC_RMID, NULL);
}

static void make_queue(void) {
    owner = getpid();
    queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (queue < 0) die("msgget");
    atexit(remove_queue);
}

static void send_message(struct message *m, long type, long size) {
    m->mtype = type;
    while (msgsnd(queue, m, (size_t)size, 0) < 0) {
        if (errno != EINTR) die("msgsnd");
    }
}

static long receive_message(struct message *m, long type) {
    for (;;) {
        ssize_t n = msgrcv(queue, m, MAX_TEXT, type, 0);
        if (n >= 0) return (long)n;
        if (errno != EINTR) die("msgrcv");
    }
}

/* The child's CPU seconds travel back as the text of a RESULT message. */
static double finish_child(pid_t child, struct message *m) {
    double peer_cpu;
    receive_message(m, RESULT);
    memcpy(&peer_cpu, m->mtext, sizeof peer_cpu);
    wait_child(child);
    return peer_cpu;
}

static void report_child_cpu(struct message *m, double used) {
    memcpy(m->mtext, &used, sizeof used);
    send_message(m, RESULT, sizeof used);
    _exit(0);
}

static void stream(long size, long count) {
    static struct message m;
    make_queue();
    memset(m.mtext, 'x', (size_t)size);
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        receive_message(&m, GO);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) send_message(&m, UP, size);
        report_child_cpu(&m, cpu_seconds() - cpu_start);
    }
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    send_message(&m, GO, 0);
    for (long i = 0; i < count; i++) {
        if (receive_message(&m, UP) != size) {
            fprintf(stderr, "msgrcv: a message of the wrong size\n");
            exit(1);
        }
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    report_stream(size, count, seconds, host_cpu, finish_child(child, &m));
}

static void pingpong(long size, long count) {
    static struct message m;
    make_queue();
    double *samples = malloc(sizeof(double) * (size_t)count);
    if (samples == NULL) die("malloc");
    memset(m.mtext, 'p', (size_t)size);
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) {
            long n = receive_message(&m, DOWN);
            send_message(&m, UP, n);
        }
        report_child_cpu(&m, cpu_seconds() - cpu_start);
    }
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        double sent = now_seconds();
        send_message(&m, DOWN, size);
        receive_message(&m, UP);
        samples[i] = now_seconds() - sent;
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    report_pingpong(size, samples, count, seconds, host_cpu, finish_child(child, &m));
}

int main(int argc, char **argv) {
    return run_mode(argc, argv, stream, pingpong);
}
