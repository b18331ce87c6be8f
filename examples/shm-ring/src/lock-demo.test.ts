import { afterAll, afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { compileC, cSkipReason, removeCompiled, runProgram, startCommand, startProgram, unusedIpcKey, type RunningProgram, compiledProgram } from "@linux-ipc/testing/vitest";
import { childPids, formatKey, isProcessAlive, processExit, SharedMemorySegment, SemaphoreSet } from "@linux-ipc/core";
import { until } from "./test-support.ts";
import { SEGMENT_SIZE } from "./lock-buffer.ts";

const lockDemo = compiledProgram(import.meta.url, "lock-demo");
const lockPeer = compiledProgram(import.meta.url, "lock-peer");

const programs: RunningProgram[] = [];
afterEach(async () => {
  for (const program of programs.splice(0)) {
    program.kill("SIGKILL");
    await program.exited.catch(() => {});
  }
});
afterAll(removeCompiled);

function leftAt(key: number): string[] {
  const hex = formatKey(key);
  return execFileSync("ipcs", ["-m", "-s"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.startsWith(hex));
}

/** lock-peer written in C from lock-buffer.ts: the same turns, hashes and semaphore lock. */
const lockPeerC = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { WRITER, ROUND, LENGTH, ANSWERS, HASH, DONE_A, DONE_B };
#define BODY 32
#define BODY_MAX 60000
#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

static uint32_t message_hash(const uint8_t *m, uint32_t length) {
  uint32_t hash = 0x811c9dc5u;
  for (int i = 0; i < 16; i++) hash = (hash ^ m[i]) * 0x01000193u;
  if (length > BODY_MAX) length = BODY_MAX;
  for (uint32_t i = 0; i < length; i++) hash = (hash ^ m[BODY + i]) * 0x01000193u;
  return hash;
}

static void lock_op(int semid, short op) {
  struct sembuf b = { 0, op, SEM_UNDO };
  while (semop(semid, &b, 1) == -1) {
    if (errno != EINTR) { perror("semop"); exit(1); }
  }
}

static long futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout) {
  return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: lock-peer KEY A|B ROUNDS\n"); return 2; }
  key_t key = (key_t) strtol(argv[1], NULL, 0);
  int me = argv[2][0] == 'A' ? 1 : 2, rounds = atoi(argv[3]);
  int shmid = shmget(key, 65536, 0), semid = semget(key, 1, 0);
  if (shmid == -1 || semid == -1) { perror("shmget/semget"); return 1; }
  uint8_t *memory = shmat(shmid, NULL, 0);
  if (memory == (void *) -1) { perror("shmat"); return 1; }
  uint32_t *w = (uint32_t *) memory;
  uint8_t message[BODY + BODY_MAX];
  uint32_t *received = (uint32_t *) message;
  int64_t my_last = -1;
  unsigned checked = 0, corrupt = 0;
  int turns = me == 1 ? rounds + 1 : rounds;
#define MY_TURN(writer) (me == 1 ? (writer) != 1 : (writer) == 1)
  for (int turn = 0; turn < turns;) {
    for (int spin = 0;; spin++) {
      uint32_t writer = LOAD(&w[WRITER]);
      if (MY_TURN(writer)) break;
      if (LOAD(&w[me == 1 ? DONE_B : DONE_A])) goto finished;
      if (spin >= 2000) {
        struct timespec nap = { 0, 20 * 1000 * 1000 };
        futex(&w[WRITER], FUTEX_WAIT, writer, &nap);
      }
    }
    lock_op(semid, -1);
    if (!MY_TURN(w[WRITER])) { lock_op(semid, 1); continue; }
    uint32_t answer = 0;
    if (w[WRITER] != 0) {
      checked++;
      memcpy(message, memory, sizeof message);
      answer = message_hash(message, received[LENGTH]);
      if (answer != received[HASH] || (my_last >= 0 && received[ANSWERS] != (uint32_t) my_last)) corrupt++;
    }
    if (me == 2 || turn < rounds) {
      w[WRITER] = me;
      futex(&w[WRITER], FUTEX_WAKE, 1, NULL);
      w[ROUND] = turn;
      uint32_t length = 1 + rand() % BODY_MAX;
      w[LENGTH] = length;
      w[ANSWERS] = answer;
      uint8_t fill = (uint8_t) rand();
      for (uint32_t i = 0; i < length; i++) memory[BODY + i] = (uint8_t) (fill + i * 7);
      my_last = message_hash(memory, length);
      w[HASH] = (uint32_t) my_last;
    }
    lock_op(semid, 1);
    turn++;
  }
finished:
  STORE(&w[me == 1 ? DONE_A : DONE_B], 1);
  futex(&w[WRITER], FUTEX_WAKE, 1, NULL);
  printf("lock-peer %c (C): %d rounds, %u replies checked, %u corrupt\n", me == 1 ? 'A' : 'B', rounds, checked, corrupt);
  return 0;
}
`;

describe("lock-demo", () => {
  it("with the semaphore lock: 2 x 10,000 replies checked, none corrupt, nothing left behind", async () => {
    const key = unusedIpcKey();
    const result = await runProgram(lockDemo, ["--key", String(key)]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\[A\] lock-peer A: 10000 rounds, 10000 replies checked, 0 corrupt$/m);
    expect(result.stdout).toMatch(/^\[B\] lock-peer B: 10000 rounds, 10000 replies checked, 0 corrupt$/m);
    expect(result.stdout).toContain("lock-demo: 20000 replies checked with the semaphore lock, 0 corrupt\n");
    expect(leftAt(key)).toEqual([]);
    // Two processes taking turns by spinning slow down several-fold when other work shares the CPUs.
  }, 120_000);

  it("--unlocked: the sides read replies still being written, and count them corrupt", async () => {
    const key = unusedIpcKey();
    const result = await runProgram(lockDemo, ["--key", String(key), "--unlocked"]);
    expect(result.code).toBe(0);
    const corrupt = Number(/lock-demo: \d+ replies checked without a lock, (\d+) corrupt/.exec(result.stdout)?.[1]);
    console.log(`unlocked: ${corrupt} corrupt replies`);
    expect(corrupt).toBeGreaterThan(0);
    expect(leftAt(key)).toEqual([]);
  });
});

describe.skipIf(cSkipReason() !== null)("lock-peer in C and in TypeScript", () => {
  it("share the System V semaphore lock: 10,000 rounds each way, none corrupt", async () => {
    const key = unusedIpcKey();
    const segment = SharedMemorySegment.create(key, SEGMENT_SIZE);
    const lock = SemaphoreSet.create(key, 1, 1);
    try {
      const c = startCommand(compileC("lock-peer", lockPeerC), [String(key), "A", "10000"]);
      programs.push(c);
      const ts = startProgram(lockPeer, ["--key", String(key), "--side", "B", "--rounds", "10000"]);
      programs.push(ts);
      expect(await ts.exited).toMatchObject({ code: 0, stdout: "lock-peer B: 10000 rounds, 10000 replies checked, 0 corrupt\n" });
      expect(await c.exited).toMatchObject({ code: 0, stdout: "lock-peer A (C): 10000 rounds, 10000 replies checked, 0 corrupt\n" });
    } finally {
      segment.remove();
      lock.remove();
    }
  }, 120_000);
});

describe("lock-demo killed with SIGKILL", () => {
  it("its sides end with it, and a restart replaces the segment and semaphore it left, naming them", async () => {
    const key = unusedIpcKey();
    const demo = startProgram(lockDemo, ["--key", String(key), "--rounds", "100000000", "--mode", "0640"]);
    programs.push(demo);
    const sides = await until(() => {
      const pids = childPids(demo.pid);
      return pids.length === 2 ? pids : undefined;
    }, "lock-demo to start both sides");
    const [segmentLine = "", setLine = ""] = leftAt(key);
    expect(segmentLine.split(/\s+/)[3]).toBe("640");
    expect(setLine.split(/\s+/)[3]).toBe("640");
    const shmid = Number(segmentLine.split(/\s+/)[1]);
    const semid = Number(setLine.split(/\s+/)[1]);
    try {
      demo.kill("SIGKILL");
      await Promise.all(sides.map((pid) => processExit(pid, { timeoutMs: 10_000, what: "a side of the killed lock-demo" })));
    } finally {
      for (const pid of sides) if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
    }
    expect(leftAt(key)).toHaveLength(2);
    const again = await runProgram(lockDemo, ["--key", String(key), "--rounds", "10"]);
    expect(again.code).toBe(0);
    expect(again.stderr.split("\n")).toEqual([
      `lock-demo: removed a leftover segment ${formatKey(key)} (shmid ${shmid}) of pid ${demo.pid}, which is gone (ipcrm -m ${shmid})`,
      expect.stringMatching(new RegExp(`^lock-demo: removed a leftover semaphore set ${formatKey(key)} \\(semid ${semid}\\) of pid [\\d, ]+, which (is|are) gone \\(ipcrm -s ${semid}\\)$`)),
      "",
    ]);
    expect(leftAt(key)).toEqual([]);
  });
});
