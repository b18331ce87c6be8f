/*
 * C reference: ping-pong of SIZE bytes through shared memory between a parent and a forked child,
 * where each side sleeps in the kernel (futex wait) until the other hands it the turn (futex wake).
 * No spinning: every round trip costs two sleeps and two wake-ups, the price of an idle waiter that
 * uses no CPU.
 *
 *   futex_pingpong SIZE COUNT
 */
#include "bench.h"
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PARENTS_TURN = 0, CHILDS_TURN = 1, DONE_HEADER = 64 };

struct shared {
    _Atomic uint32_t turn;
    double child_cpu;
    char message[];
};

/* Not FUTEX_PRIVATE_FLAG: the word is shared between two processes. */
static void futex_wait(_Atomic uint32_t *word, uint32_t expected) {
    syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word) {
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void wait_for_turn(_Atomic uint32_t *turn, uint32_t mine) {
    uint32_t now;
    while ((now = atomic_load_explicit(turn, memory_order_acquire)) != mine) futex_wait(turn, now);
}

static void hand_over(_Atomic uint32_t *turn, uint32_t theirs) {
    atomic_store_explicit(turn, theirs, memory_order_release);
    futex_wake(turn);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SIZE COUNT\n", argv[0]);
        return 2;
    }
    long size = parse_count(argv[1], "SIZE"), count = parse_count(argv[2], "COUNT");
    pin_side(0); /* the child, forked later, moves itself to its own CPU */
    struct shared *shared = mmap(NULL, DONE_HEADER + (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) die("mmap");
    char *local = calloc(1, (size_t)size);
    double *samples = malloc(sizeof(double) * (size_t)count);
    if (local == NULL || samples == NULL) die("malloc");

    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) {
            wait_for_turn(&shared->turn, CHILDS_TURN);
            memcpy(local, shared->message, (size_t)size);
            memcpy(shared->message, local, (size_t)size);
            hand_over(&shared->turn, PARENTS_TURN);
        }
        shared->child_cpu = cpu_seconds() - cpu_start;
        _exit(0);
    }
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        double sent = now_seconds();
        memcpy(shared->message, local, (size_t)size);
        hand_over(&shared->turn, CHILDS_TURN);
        wait_for_turn(&shared->turn, PARENTS_TURN);
        memcpy(local, shared->message, (size_t)size);
        samples[i] = now_seconds() - sent;
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    wait_child(child);
    report_pingpong(size, samples, count, seconds, host_cpu, shared->child_cpu);
    return 0;
}
