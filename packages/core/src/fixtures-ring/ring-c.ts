/**
 * C peers of the ring, written from RING.md alone: the header struct, the futex waits and wakes, the
 * producer lock, and the test messages of memory.ts. The tests compile them with compileC.
 */
import { readFileSync } from "node:fs";

/** The structs exactly as RING.md's C block declares them, so the spec and the tests cannot drift apart. */
const specStructs = (() => {
  const spec = readFileSync(new URL("../../RING.md", import.meta.url), "utf8");
  const block = /```c\n(struct ring_slot[\s\S]*?)```/.exec(spec)?.[1];
  if (!block) throw new Error("RING.md has no C block declaring struct ring_slot and struct ring_header");
  return block;
})();

export const ringHeaderC = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RING_MAGIC 0x676e6952u
#define RING_PAD 0xffffffffu
#define MUTEX_WAITERS 0x80000000u
enum { SIDE_NONE = 0, SIDE_ATTACHED = 1, SIDE_CLOSED = 2, SIDE_CLAIMING = 3 };

${specStructs}
_Static_assert(sizeof(struct ring_header) == 512, "the header is 512 bytes");

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define CAS(p, expected, desired) ({ uint32_t e_ = (expected); __atomic_compare_exchange_n((p), &e_, (desired), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); })

static long futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout) {
  return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

/* After changing what a sleeper watches: wake it if it raised its flag. */
static void ring_notify(uint32_t *waiters, uint32_t *seq) {
  if (LOAD(waiters) != 0 && __atomic_exchange_n(waiters, 0, __ATOMIC_SEQ_CST) != 0) {
    __atomic_fetch_add(seq, 1, __ATOMIC_SEQ_CST);
    futex(seq, FUTEX_WAKE, INT_MAX, NULL);
  }
}

/* Sleeps (at most 100 ms) unless *watched moved from seen, or *closed reached limit. */
static void ring_sleep(uint32_t *waiters, uint32_t *seq, uint32_t *watched, uint32_t seen, uint32_t *closed, uint32_t limit) {
  for (int i = 0; i < 2000; i++) if (LOAD(watched) != seen || (closed && LOAD(closed) >= limit)) return;
  uint32_t s = LOAD(seq);
  STORE(waiters, 1);
  if (LOAD(watched) != seen || (closed && LOAD(closed) >= limit)) return;
  struct timespec slice = { 0, 100 * 1000 * 1000 };
  futex(seq, FUTEX_WAIT, s, &slice);
}

static struct ring_header *ring_attach(const char *shmid) {
  void *memory = shmat(atoi(shmid), NULL, 0);
  if (memory == (void *) -1) { perror("shmat"); exit(1); }
  struct ring_header *h = memory;
  if (LOAD(&h->magic) != RING_MAGIC || h->version != 1 || h->data_offset != 512) { fprintf(stderr, "not a ring\n"); exit(1); }
  return h;
}

static uint8_t *ring_data(struct ring_header *h) { return (uint8_t *) h + h->data_offset; }

static void mutex_lock(uint32_t *word) {
  uint32_t me = (uint32_t) getpid();
  if (CAS(word, 0, me)) return;
  for (;;) {
    if (CAS(word, 0, me | MUTEX_WAITERS)) return;
    uint32_t seen = LOAD(word);
    if (seen == 0) continue;
    if (!(seen & MUTEX_WAITERS)) {
      if (!CAS(word, seen, seen | MUTEX_WAITERS)) continue;
      seen |= MUTEX_WAITERS;
    }
    struct timespec slice = { 0, 100 * 1000 * 1000 };
    futex(word, FUTEX_WAIT, seen, &slice);
  }
}

static void mutex_unlock(uint32_t *word) {
  if (__atomic_exchange_n(word, 0, __ATOMIC_SEQ_CST) & MUTEX_WAITERS) futex(word, FUTEX_WAKE, 1, NULL);
}

/* The test messages of memory.ts. */
static uint32_t message_length(uint32_t seq, uint32_t stream, uint32_t max_size) {
  return 8 + (uint32_t) (((uint64_t) seq * 7919 + stream * 13) % (max_size - 7));
}
static void fill_message(uint8_t *p, uint32_t length, uint32_t seq, uint32_t stream) {
  memcpy(p, &seq, 4);
  memcpy(p + 4, &stream, 4);
  for (uint32_t j = 8; j < length; j++) p[j] = (uint8_t) (seq * 31 + j + stream);
}
`;

/** Consumes until every producer has closed; prints "received N streams S errors E". */
export const ringConsumerC = `${ringHeaderC}
int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: consumer SHMID MAXSIZE\\n"); return 2; }
  struct ring_header *h = ring_attach(argv[1]);
  uint32_t max_size = (uint32_t) atoi(argv[2]);
  if (!CAS(&h->consumer_state, SIDE_NONE, SIDE_CLAIMING)) { fprintf(stderr, "the ring has a consumer\\n"); return 1; }
  h->consumer_pid = getpid();
  h->consumer_start_time = 0;
  STORE(&h->consumer_state, SIDE_ATTACHED);
  printf("attached\\n");
  fflush(stdout);
  uint8_t *data = ring_data(h);
  uint32_t mask = h->capacity - 1, head = LOAD(&h->head);
  uint32_t next[16] = { 0 };
  unsigned long received = 0, errors = 0, streams = 0;
  for (;;) {
    uint32_t tail = LOAD(&h->tail);
    if (tail == head) {
      if (LOAD(&h->closed_producers) >= h->producers && LOAD(&h->tail) == head) break;
      ring_sleep(&h->data_waiters, &h->data_seq, &h->tail, tail, &h->closed_producers, h->producers);
      continue;
    }
    uint32_t position = head & mask, length;
    memcpy(&length, data + position, 4);
    if (length == RING_PAD) {
      head += h->capacity - position;
    } else {
      uint8_t *p = data + position + 8;
      uint32_t seq, stream;
      memcpy(&seq, p, 4);
      memcpy(&stream, p + 4, 4);
      int bad = stream >= 16 || length != message_length(seq, stream, max_size) || seq != next[stream];
      for (uint32_t j = 8; !bad && j < length; j++) bad = p[j] != (uint8_t) (seq * 31 + j + stream);
      if (bad) errors++;
      if (stream < 16) {
        if (next[stream] == 0 && seq == 0) streams++;
        next[stream] = seq + 1;
      }
      received++;
      head += 8 + ((length + 7) & ~7u);
    }
    STORE(&h->head, head);
    ring_notify(&h->space_waiters, &h->space_seq);
  }
  STORE(&h->consumer_state, SIDE_CLOSED);
  ring_notify(&h->space_waiters, &h->space_seq);
  printf("received %lu streams %lu errors %lu\\n", received, streams, errors);
  return errors == 0 ? 0 : 1;
}
`;

/** Writes COUNT messages of STREAM (taking the producer lock when the ring has several producers), then closes. */
export const ringProducerC = `${ringHeaderC}
int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: producer SHMID COUNT MAXSIZE STREAM\\n"); return 2; }
  struct ring_header *h = ring_attach(argv[1]);
  uint32_t count = (uint32_t) atoi(argv[2]), max_size = (uint32_t) atoi(argv[3]), stream = (uint32_t) atoi(argv[4]);
  int slot = -1;
  for (uint32_t i = 0; i < h->producers && slot < 0; i++) {
    if (CAS(&h->slots[i].state, SIDE_NONE, SIDE_CLAIMING)) slot = (int) i;
  }
  if (slot < 0) { fprintf(stderr, "no free producer slot\\n"); return 1; }
  h->slots[slot].pid = getpid();
  h->slots[slot].start_time = 0;
  STORE(&h->slots[slot].state, SIDE_ATTACHED);
  printf("attached\\n");
  fflush(stdout);
  int shared = h->producers > 1;
  uint8_t *data = ring_data(h);
  uint32_t capacity = h->capacity, mask = capacity - 1;
  for (uint32_t seq = 0; seq < count; seq++) {
    uint32_t length = message_length(seq, stream, max_size), need = 8 + ((length + 7) & ~7u);
    if (shared) mutex_lock(&h->producer_lock);
    for (;;) {
      if (LOAD(&h->consumer_state) == SIDE_CLOSED) { fprintf(stderr, "the consumer closed the ring\\n"); return 3; }
      uint32_t tail = LOAD(&h->tail), head = LOAD(&h->head);
      uint32_t position = tail & mask, contiguous = capacity - position, free = capacity - (tail - head);
      uint32_t wanted = need > contiguous ? contiguous : need;
      if (free < wanted) {
        ring_sleep(&h->space_waiters, &h->space_seq, &h->head, head, NULL, 0);
        continue;
      }
      if (need > contiguous) {
        uint32_t pad = RING_PAD;
        memcpy(data + position, &pad, 4);
        STORE(&h->tail, tail + contiguous);
        ring_notify(&h->data_waiters, &h->data_seq);
        continue;
      }
      uint32_t zero = 0;
      memcpy(data + position, &length, 4);
      memcpy(data + position + 4, &zero, 4);
      fill_message(data + position + 8, length, seq, stream);
      STORE(&h->tail, tail + need);
      ring_notify(&h->data_waiters, &h->data_seq);
      break;
    }
    if (shared) mutex_unlock(&h->producer_lock);
  }
  STORE(&h->slots[slot].state, SIDE_CLOSED);
  __atomic_fetch_add(&h->closed_producers, 1, __ATOMIC_SEQ_CST);
  ring_notify(&h->data_waiters, &h->data_seq);
  printf("done\\n");
  return 0;
}
`;

/** Prints sizeof and the offset of each header field of RING.md's struct, for the layout check. */
export const ringLayoutC = `${ringHeaderC}
int main(void) {
  struct ring_header h;
  printf("size %zu\\n", sizeof h);
#define FIELD(name, member) printf("%s %zu\\n", name, offsetof(struct ring_header, member))
  FIELD("magic", magic); FIELD("version", version); FIELD("capacity", capacity); FIELD("dataOffset", data_offset);
  FIELD("producers", producers); FIELD("tail", tail); FIELD("dataWaiters", data_waiters); FIELD("dataSeq", data_seq);
  FIELD("producerLock", producer_lock); FIELD("closedProducers", closed_producers); FIELD("head", head);
  FIELD("spaceWaiters", space_waiters); FIELD("spaceSeq", space_seq); FIELD("consumerState", consumer_state);
  FIELD("consumerPid", consumer_pid); FIELD("consumerStartTime", consumer_start_time); FIELD("slots", slots);
  printf("slot %zu\\n", sizeof h.slots[0]);
  return 0;
}
`;
