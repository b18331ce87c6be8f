/*
 * A C peer of @linux-ipc/core's ring (packages/core/RING.md, format 2), for the bench's TypeScript ⇄ C
 * rows: it attaches the ring(s) the bench laid out in a System V segment and plays one side, so
 * the cost of the TypeScript side shows alone. The header struct is RING.md's own C block (the
 * bench writes it to ring_header.h before compiling), and the rules are RING.md's: each side keeps a
 * cached copy of the other's position, spins a while, then sleeps on the futex word with its
 * waiters flag up, and wakes the other side when its flag is up.
 *
 *   ring_peer consume SHMID SIZE COUNT        consumer of the ring at 0: COUNT messages of SIZE bytes,
 *                                             each copied out; prints {"end": s, "cpu": s}
 *   ring_peer produce SHMID SIZE COUNT        producer into the ring at 0: COUNT messages, each copied
 *                                             in, then closes; prints {"start": s, "cpu": s}
 *   ring_peer echo SHMID COUNT UP_OFFSET      consumer of the ring at 0, producer into the ring at
 *                                             UP_OFFSET: copies each message from one to the other
 *
 * It prints "ready" once attached. Times are CLOCK_MONOTONIC seconds, which the bench reads too.
 */
#include "bench.h"
#include "ring_header.h"
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RING_MAGIC 0x676e6952u
#define RING_PAD 0xffffffffu
enum { SIDE_NONE = 0, SIDE_ATTACHED = 1, SIDE_CLOSED = 2, SIDE_CLAIMING = 3, SPINS = 1 << 16 };

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define CAS(p, expected, desired) ({ uint32_t e_ = (expected); __atomic_compare_exchange_n((p), &e_, (desired), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); })

#if defined(__x86_64__)
#define RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define RELAX() __asm__ volatile("yield")
#else
#define RELAX() ((void)0)
#endif

static long futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout) {
    return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

/* After storing a position: wake the other side if it raised its flag. */
static void notify(uint32_t *waiters, uint32_t *seq) {
    if (LOAD(waiters) != 0 && __atomic_exchange_n(waiters, 0, __ATOMIC_SEQ_CST) != 0) {
        __atomic_fetch_add(seq, 1, __ATOMIC_SEQ_CST);
        futex(seq, FUTEX_WAKE, INT_MAX, NULL);
    }
}

/* Waits until *position is no longer `seen`: spins, then sleeps in 100 ms slices with the flag up. */
static uint32_t wait_move(uint32_t *position, uint32_t seen, uint32_t *waiters, uint32_t *seq) {
    for (unsigned i = 0; i < SPINS; i++) {
        uint32_t now = LOAD(position);
        if (now != seen) return now;
        RELAX();
    }
    for (;;) {
        uint32_t s = LOAD(seq);
        STORE(waiters, 1);
        uint32_t now = LOAD(position);
        if (now != seen) return now;
        struct timespec slice = {0, 100 * 1000 * 1000};
        futex(seq, FUTEX_WAIT, s, &slice);
        now = LOAD(position);
        if (now != seen) return now;
    }
}

static struct ring_header *attach(void *memory, long offset) {
    struct ring_header *h = (struct ring_header *)((char *)memory + offset);
    if (LOAD(&h->magic) != RING_MAGIC || h->version != 2 || h->data_offset != sizeof(struct ring_header)) {
        fprintf(stderr, "no ring of format 2 at offset %ld\n", offset);
        exit(1);
    }
    return h;
}

static uint8_t *data_of(struct ring_header *h) { return (uint8_t *)h + h->data_offset; }

struct reader { struct ring_header *h; uint32_t head, tail; };
struct writer { struct ring_header *h; uint32_t head, tail; };

static struct reader consumer_of(struct ring_header *h) {
    if (!CAS(&h->consumer_state, SIDE_NONE, SIDE_CLAIMING)) { fprintf(stderr, "the ring has a consumer\n"); exit(1); }
    h->consumer_pid = getpid();
    h->consumer_start_time = 0;
    STORE(&h->consumer_state, SIDE_ATTACHED);
    struct reader r = {h, LOAD(&h->head), 0};
    r.tail = r.head;
    return r;
}

static struct writer producer_of(struct ring_header *h) {
    if (!CAS(&h->slots[0].state, SIDE_NONE, SIDE_CLAIMING)) { fprintf(stderr, "producer slot 0 is taken\n"); exit(1); }
    h->slots[0].pid = getpid();
    h->slots[0].start_time = 0;
    STORE(&h->slots[0].state, SIDE_ATTACHED);
    struct writer w = {h, LOAD(&h->head), LOAD(&h->tail)};
    return w;
}

/* The next message: its start in the data area and its length; the tail is reloaded only when the ring looks empty. */
static uint8_t *next_message(struct reader *r, uint32_t *length) {
    struct ring_header *h = r->h;
    uint32_t mask = h->capacity - 1;
    for (;;) {
        if (r->head == r->tail) {
            r->tail = LOAD(&h->tail);
            if (r->head == r->tail) r->tail = wait_move(&h->tail, r->head, &h->data_waiters, &h->data_seq);
        }
        uint32_t position = r->head & mask;
        memcpy(length, data_of(h) + position, 4);
        if (*length != RING_PAD) return data_of(h) + position + 8;
        r->head += h->capacity - position;
    }
}

static void release_message(struct reader *r, uint32_t length) {
    r->head += 8 + ((length + 7) & ~7u);
    STORE(&r->h->head, r->head);
    notify(&r->h->space_waiters, &r->h->space_seq);
}

/* Room for a message of `length` bytes (a pad first where it would cross the end); the head is reloaded only when the ring looks full. */
static uint8_t *place(struct writer *w, uint32_t length) {
    struct ring_header *h = w->h;
    uint32_t capacity = h->capacity, need = 8 + ((length + 7) & ~7u);
    for (;;) {
        uint32_t position = w->tail & (capacity - 1), contiguous = capacity - position;
        uint32_t wanted = need > contiguous ? contiguous : need;
        if (capacity - (w->tail - w->head) < wanted) {
            w->head = LOAD(&h->head);
            if (capacity - (w->tail - w->head) < wanted) {
                if (LOAD(&h->consumer_state) >= SIDE_CLOSED) { fprintf(stderr, "the consumer stopped\n"); exit(3); }
                w->head = wait_move(&h->head, w->head, &h->space_waiters, &h->space_seq);
            }
            continue;
        }
        if (need > contiguous) {
            uint32_t pad = RING_PAD;
            memcpy(data_of(h) + position, &pad, 4);
            w->tail += contiguous;
            STORE(&h->tail, w->tail); /* published now: a wait for room must not hold back a pad */
            notify(&h->data_waiters, &h->data_seq);
            continue;
        }
        uint32_t zero = 0;
        memcpy(data_of(h) + position, &length, 4);
        memcpy(data_of(h) + position + 4, &zero, 4);
        return data_of(h) + position + 8;
    }
}

static void publish(struct writer *w, uint32_t length) {
    w->tail += 8 + ((length + 7) & ~7u);
    STORE(&w->h->tail, w->tail);
    notify(&w->h->data_waiters, &w->h->data_seq);
}

static void ready(void) {
    printf("ready\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: ring_peer consume|produce SHMID SIZE COUNT | echo SHMID COUNT UP_OFFSET\n");
        return 2;
    }
    pin_side(1);
    void *memory = shmat(atoi(argv[2]), NULL, 0);
    if (memory == (void *)-1) die("shmat");
    if (strcmp(argv[1], "echo") == 0) {
        long count = parse_count(argv[3], "COUNT");
        long up_offset = argc > 4 ? parse_count(argv[4], "UP_OFFSET") : 0;
        struct reader r = consumer_of(attach(memory, 0));
        struct writer w = producer_of(attach(memory, up_offset));
        ready();
        double cpu = cpu_seconds();
        for (long i = 0; i < count; i++) {
            uint32_t length;
            uint8_t *in = next_message(&r, &length);
            memcpy(place(&w, length), in, length);
            publish(&w, length);
            release_message(&r, length);
        }
        printf("{\"cpu\":%.6f}\n", cpu_seconds() - cpu);
        return 0;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: ring_peer consume|produce SHMID SIZE COUNT\n");
        return 2;
    }
    uint32_t size = (uint32_t)parse_count(argv[3], "SIZE");
    long count = parse_count(argv[4], "COUNT");
    uint8_t *local = malloc(size);
    if (local == NULL) die("malloc");
    memset(local, 'c', size);
    struct ring_header *h = attach(memory, 0);
    if (strcmp(argv[1], "consume") == 0) {
        struct reader r = consumer_of(h);
        ready();
        double cpu = cpu_seconds();
        for (long i = 0; i < count; i++) {
            uint32_t length;
            uint8_t *in = next_message(&r, &length);
            if (length != size) { fprintf(stderr, "a message of %u bytes where %u were due\n", length, size); return 1; }
            memcpy(local, in, length);
            release_message(&r, length);
        }
        double end = now_seconds();
        STORE(&h->consumer_state, SIDE_CLOSED);
        notify(&h->space_waiters, &h->space_seq);
        printf("{\"end\":%.9f,\"cpu\":%.6f}\n", end, cpu_seconds() - cpu);
        return 0;
    }
    if (strcmp(argv[1], "produce") == 0) {
        struct writer w = producer_of(h);
        ready();
        double cpu = cpu_seconds();
        double start = now_seconds();
        for (long i = 0; i < count; i++) {
            memcpy(place(&w, size), local, size);
            publish(&w, size);
        }
        STORE(&h->slots[0].state, SIDE_CLOSED);
        __atomic_fetch_add(&h->closed_producers, 1, __ATOMIC_SEQ_CST);
        notify(&h->data_waiters, &h->data_seq);
        printf("{\"start\":%.9f,\"cpu\":%.6f}\n", start, cpu_seconds() - cpu);
        return 0;
    }
    fprintf(stderr, "unknown mode '%s'\n", argv[1]);
    return 2;
}
