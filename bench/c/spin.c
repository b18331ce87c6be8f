/*
 * C reference for shared memory without the kernel: two processes (a parent and a forked child)
 * that wait for each other by spinning on atomic words in one MAP_SHARED mapping. This is the floor
 * a shared-memory ring can reach from any language on this machine.
 *
 *   spin pingpong SIZE COUNT   the parent copies SIZE bytes in and hands the turn over; the child
 *                              copies them out, copies its answer in and hands the turn back
 *   spin stream SIZE COUNT     single-producer single-consumer ring of RING_BYTES: the child copies
 *                              COUNT messages of SIZE bytes in, the parent copies each out
 *
 * A waiter spins with the CPU's pause hint and yields the core after a while, so a side that shares
 * a core with the other (2 cores, other load) still lets it run.
 */
#include "bench.h"
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CACHE_LINE = 64, SPINS_BEFORE_YIELD = 1024 };
#define RING_BYTES ((uint64_t)1 << 20)

struct control {
    _Alignas(CACHE_LINE) _Atomic uint64_t head; /* bytes the producer has written */
    _Alignas(CACHE_LINE) _Atomic uint64_t tail; /* bytes the consumer has taken */
    _Alignas(CACHE_LINE) _Atomic uint32_t turn; /* ping-pong: whose turn it is; stream: go */
    double child_cpu;
    _Alignas(CACHE_LINE) char data[];
};

static inline void relax(unsigned *spins) {
    if (++*spins < SPINS_BEFORE_YIELD) {
        __builtin_ia32_pause();
    } else {
        *spins = 0;
        sched_yield();
    }
}

static void wait_until_equal(_Atomic uint32_t *word, uint32_t wanted) {
    unsigned spins = 0;
    while (atomic_load_explicit(word, memory_order_acquire) != wanted) relax(&spins);
}

static struct control *map_shared(size_t data_bytes) {
    struct control *shared = mmap(NULL, sizeof(struct control) + data_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) die("mmap");
    return shared;
}

static void pingpong(long size, long count) {
    struct control *shared = map_shared((size_t)size);
    char *local = calloc(1, (size_t)size);
    double *samples = malloc(sizeof(double) * (size_t)count);
    if (local == NULL || samples == NULL) die("malloc");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        double cpu_start = cpu_seconds();
        for (long i = 0; i < count; i++) {
            wait_until_equal(&shared->turn, 1);
            memcpy(local, shared->data, (size_t)size);
            memcpy(shared->data, local, (size_t)size);
            atomic_store_explicit(&shared->turn, 0, memory_order_release);
        }
        shared->child_cpu = cpu_seconds() - cpu_start;
        _exit(0);
    }
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        double sent = now_seconds();
        memcpy(shared->data, local, (size_t)size);
        atomic_store_explicit(&shared->turn, 1, memory_order_release);
        wait_until_equal(&shared->turn, 0);
        memcpy(local, shared->data, (size_t)size);
        samples[i] = now_seconds() - sent;
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    wait_child(child);
    report_pingpong(size, samples, count, seconds, host_cpu, shared->child_cpu);
}

/* Copies `length` bytes between the ring and `local`, wrapping at the end of the ring. */
static void ring_copy(char *ring, uint64_t position, char *local, size_t length, int into_ring) {
    size_t offset = (size_t)(position & (RING_BYTES - 1));
    size_t first = length < RING_BYTES - offset ? length : RING_BYTES - offset;
    if (into_ring) {
        memcpy(ring + offset, local, first);
        memcpy(ring, local + first, length - first);
    } else {
        memcpy(local, ring + offset, first);
        memcpy(local + first, ring, length - first);
    }
}

static void stream(long size, long count) {
    if ((uint64_t)size > RING_BYTES) {
        fprintf(stderr, "SIZE must be at most %llu\n", (unsigned long long)RING_BYTES);
        exit(2);
    }
    struct control *shared = map_shared(RING_BYTES);
    char *local = malloc((size_t)size);
    if (local == NULL) die("malloc");
    memset(local, 'x', (size_t)size);
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin_side(1);
        wait_until_equal(&shared->turn, 1);
        double cpu_start = cpu_seconds();
        uint64_t head = 0;
        for (long i = 0; i < count; i++) {
            unsigned spins = 0;
            while (RING_BYTES - (head - atomic_load_explicit(&shared->tail, memory_order_acquire)) < (uint64_t)size) relax(&spins);
            ring_copy(shared->data, head, local, (size_t)size, 1);
            head += (uint64_t)size;
            atomic_store_explicit(&shared->head, head, memory_order_release);
        }
        shared->child_cpu = cpu_seconds() - cpu_start;
        _exit(0);
    }
    double cpu_start = cpu_seconds();
    double start = now_seconds();
    atomic_store_explicit(&shared->turn, 1, memory_order_release);
    uint64_t tail = 0;
    for (long i = 0; i < count; i++) {
        unsigned spins = 0;
        while (atomic_load_explicit(&shared->head, memory_order_acquire) - tail < (uint64_t)size) relax(&spins);
        ring_copy(shared->data, tail, local, (size_t)size, 0);
        tail += (uint64_t)size;
        atomic_store_explicit(&shared->tail, tail, memory_order_release);
    }
    double seconds = now_seconds() - start;
    double host_cpu = cpu_seconds() - cpu_start;
    wait_child(child);
    report_stream(size, count, seconds, host_cpu, shared->child_cpu);
}

int main(int argc, char **argv) {
    return run_mode(argc, argv, stream, pingpong);
}
