import { afterAll, afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SemaphoreSet, semtimedopAsync } from "./semaphore_set.ts";
import { Sembuf, SemidDs, Semun, semget, semctl, semop, semtimedop, GETVAL, SETVAL, SEM_UNDO, SEMVMX } from "../libc/sys/sem.ts";
import { IPC_CREAT, IPC_EXCL, IPC_NOWAIT, formatKey } from "../libc/sys/ipc.ts";
import { SharedMemorySegment } from "./shared_memory.ts";
import { WaitTimeoutError } from "./timeouts.ts";
import { compileC, cSkipReason, removeCompiled, startProgram, unusedIpcKey, type RunningProgram, stopLeftoverPrograms } from "@linux-ipc/testing/vitest";
import { waitUntilBlocked } from "./procfs.ts";

const fixture = (name: string): string => fileURLToPath(new URL(`../../dist-fixtures/${name}.js`, import.meta.url));

const sets: SemaphoreSet[] = [];
afterEach(async () => {
  // Programs first: a segment is removed only once nothing can be using it.
  await stopLeftoverPrograms(0);
  for (const set of sets.splice(0)) set.remove();
});
afterAll(removeCompiled);

function createSet(nsems: number, initial: number | number[] = 0, mode = 0o600): SemaphoreSet {
  const set = SemaphoreSet.create(unusedIpcKey(), nsems, initial, mode);
  sets.push(set);
  return set;
}

const start = (script: string, args: string[]): RunningProgram => startProgram(fixture(script), args);

function ipcsLine(key: number): string | undefined {
  return execFileSync("ipcs", ["-s"], { encoding: "utf8" })
    .split("\n")
    .find((line) => line.startsWith(formatKey(key)))
    ?.trim();
}

describe("SemaphoreSet", () => {
  it("creates exclusively with initial values, shows in ipcs -s, and is removed (idempotently)", () => {
    const set = createSet(3, [1, 0, 7], 0o640);
    expect(ipcsLine(set.key)?.split(/\s+/)).toEqual([formatKey(set.key), String(set.id), expect.any(String), "640", "3"]);
    expect(set.getAll()).toEqual([1, 0, 7]);
    expect(set.size).toBe(3);
    expect(set.stat().sem_otime).toBeGreaterThan(0);
    expect(() => SemaphoreSet.create(set.key, 1)).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "semget" }));
    expect(SemaphoreSet.open(set.key).id).toBe(set.id);
    expect(SemaphoreSet.fromId(set.id).key).toBe(set.key);
    expect(() => SemaphoreSet.open(set.key, 4)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    set.remove();
    set.remove();
    expect(ipcsLine(set.key)).toBeUndefined();
    expect(() => SemaphoreSet.open(set.key)).toThrow(`ENOENT: no such file or directory, semget 'key ${formatKey(set.key)}'`);
    expect(() => SemaphoreSet.create(unusedIpcKey(), 1, SEMVMX + 1)).toThrow(/0 to 32767/);
  });

  it("passes semctl's variadic fourth argument through: SETVAL/GETVAL, SETALL/GETALL, IPC_SET", () => {
    const set = createSet(2);
    expect(semctl(set.id, 1, SETVAL, 12345)).toBe(0);
    expect(semctl(set.id, 1, GETVAL)).toBe(12345);
    set.setValue(0, 3);
    expect(set.getValue(0)).toBe(3);
    set.setAll([4, 5]);
    expect(set.getAll()).toEqual([4, 5]);
    set.setMode(0o644);
    expect(set.stat().sem_perm.mode & 0o777).toBe(0o644);
    expect(() => semctl(set.id, 5, GETVAL)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "semctl" }));
  });

  it("waits on an open until the creator has initialised the set (sem_otime is set)", () => {
    const key = unusedIpcKey();
    const raw = SemaphoreSet.fromId(semget(key, 1, IPC_CREAT | IPC_EXCL | 0o600));
    sets.push(raw);
    expect(() => SemaphoreSet.open(key, 1, { initTimeoutMs: 10 })).toThrow(/created but never initialised/);
    semop(raw.id, [{ num: 0, op: 1 }]);
    expect(SemaphoreSet.open(key, 1).getValue()).toBe(1);
  });

  it("acquires, releases, tries without blocking, and times out", async () => {
    const set = createSet(1, 2);
    set.acquire();
    expect(set.tryAcquire()).toBe(true);
    expect(set.tryAcquire()).toBe(false);
    expect(() => set.acquire(0, 1, { timeoutMs: 5 })).toThrow(WaitTimeoutError);
    await expect(set.acquireAsync(0, 1, { timeoutMs: 5 })).rejects.toThrow(WaitTimeoutError);
    expect(semtimedop(set.id, [{ num: 0, op: -1 }], 1)).toBe(false);
    expect(semop(set.id, [{ num: 0, op: -1, flags: IPC_NOWAIT }])).toBe(false);
    expect(await semtimedopAsync(set.id, [{ num: 0, op: -1, flags: IPC_NOWAIT }])).toBe(false);
    set.release(0, 2);
    expect(set.lastPid()).toBe(process.pid);
    {
      using held = set.lock();
      expect(set.getValue()).toBe(1);
      held.release();
      expect(set.getValue()).toBe(2);
    }
    expect(set.getValue()).toBe(2);
    {
      using _held = await set.lockAsync();
      expect(set.getValue()).toBe(1);
    }
    expect(set.getValue()).toBe(2);
    const controller = new AbortController();
    set.setValue(0, 0);
    const waiting = set.acquireAsync(0, 1, { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toThrow(/aborted/);
  });

  it("takes a free semaphore in acquireAsync's first step, with one semop and no trip through the thread pool", async () => {
    const set = createSet(2, [0, 2]);
    // Four waits on the empty semaphore 0 hold libuv's four pool threads, so anything queued to the
    // pool now waits behind them.
    const blocked = [1, 2, 3, 4].map(() => set.acquireAsync(0, 1, { undo: false }));
    const taking = set.acquireAsync(1);
    // An async function runs synchronously up to its first await: the unit is already taken here.
    expect(set.getValue(1)).toBe(1);
    await taking;
    set.release(0, 4, { undo: false });
    await Promise.all(blocked);
    expect(set.getValue(0)).toBe(0);
  });

  it("SEM_UNDO gives back what a process killed with SIGKILL held; without it the unit stays taken", async () => {
    const set = createSet(1, 2);
    const withUndo = start("sem-holder", [String(set.id), "undo", "async"]);
    await withUndo.waitForLine("acquired");
    const withoutUndo = start("sem-holder", [String(set.id), "no-undo"]);
    await withoutUndo.waitForLine("acquired");
    expect(set.getValue()).toBe(0);
    withUndo.kill("SIGKILL");
    withoutUndo.kill("SIGKILL");
    await withUndo.exited;
    await withoutUndo.exited;
    expect(set.getValue()).toBe(1);
    expect(SEM_UNDO).toBe(0x1000);
  });

  it("wakes a process waiting in semtimedop when this one releases, and GETNCNT counts it", async () => {
    const set = createSet(1, 0);
    const waiter = start("sem-holder", [String(set.id), "undo", "async"]);
    await waitUntilBlocked(waiter.pid, ["semtimedop"], { anyThread: true, firstArgument: (argument) => argument === BigInt(set.id) });
    expect(set.waitingCount()).toBe(1);
    set.release();
    await waiter.waitForLine("acquired");
    expect(set.waitingCount()).toBe(0);
  });

  it("fails a waiter with EIDRM when the set is removed under it", async () => {
    const set = createSet(1, 0);
    const waiting = set.acquireAsync();
    await waitUntilBlocked(process.pid, ["semtimedop"], { anyThread: true, firstArgument: (argument) => argument === BigInt(set.id) });
    set.remove();
    await expect(waiting).rejects.toThrow(expect.objectContaining({ code: "EIDRM", errno: 43, syscall: "semtimedop" }));
    await expect(waiting).rejects.toThrow(/identifier removed/);
  });

  it("keeps a semaphore set and a segment with the same key apart", () => {
    const set = createSet(1);
    const segment = SharedMemorySegment.create(set.key, 64);
    try {
      expect(SharedMemorySegment.open(set.key).id).toBe(segment.id);
      expect(SemaphoreSet.open(set.key).id).toBe(set.id);
    } finally {
      segment.remove();
    }
  });
});

describe.skipIf(cSkipReason() !== null)("layouts against the C compiler", () => {
  it("struct sembuf, union semun and struct semid_ds match", () => {
    const source = `
#include <stdio.h>
#include <stddef.h>
#include <sys/sem.h>
union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; };
int main(void) {
  printf("sembuf %zu %zu %zu %zu\\n", sizeof(struct sembuf), offsetof(struct sembuf, sem_num), offsetof(struct sembuf, sem_op), offsetof(struct sembuf, sem_flg));
  printf("semun %zu %zu %zu %zu %zu\\n", sizeof(union semun), offsetof(union semun, val), offsetof(union semun, buf), offsetof(union semun, array), offsetof(union semun, __buf));
  printf("semid_ds %zu %zu %zu %zu %zu\\n", sizeof(struct semid_ds), offsetof(struct semid_ds, sem_perm), offsetof(struct semid_ds, sem_otime), offsetof(struct semid_ds, sem_ctime), offsetof(struct semid_ds, sem_nsems));
  printf("flags %d\\n", SEM_UNDO);
  return 0;
}`;
    const lines = execFileSync(compileC("sem-layout", source), { encoding: "utf8" }).trim().split("\n");
    const o = SemidDs.offsets;
    expect(lines).toEqual([
      `sembuf ${Sembuf.size} ${Sembuf.offsets.sem_num} ${Sembuf.offsets.sem_op} ${Sembuf.offsets.sem_flg}`,
      `semun ${Semun.size} ${Semun.offsets.val} ${Semun.offsets.buf} ${Semun.offsets.array} ${Semun.offsets.__buf}`,
      `semid_ds ${SemidDs.size} ${o.sem_perm} ${o.sem_otime} ${o.sem_ctime} ${o.sem_nsems}`,
      `flags ${SEM_UNDO}`,
    ]);
  });
});

describe("semaphore arguments outside the C types", () => {
  const outOfRange = (name: string) => expect.objectContaining({ name: "RangeError", code: "ERR_OUT_OF_RANGE", message: expect.stringContaining(`"${name}"`) });

  it("refuses counts and semaphore numbers that would wrap at 16 bits, leaving the values alone", () => {
    const set = createSet(2, 5);
    // Wrapped, 40000 as a short is -25536: the acquire became a release of 25536.
    expect(() => set.tryAcquire(0, 40000)).toThrow(outOfRange("count"));
    // 32768 as a short is -32768: the release blocked; 65536 is 0: a wait for zero.
    expect(() => set.release(0, 32768)).toThrow(outOfRange("count"));
    expect(() => set.release(0, 65536)).toThrow(outOfRange("count"));
    expect(() => set.release(0, 1.5)).toThrow(outOfRange("count"));
    // Semaphore 65536 as an unsigned short is semaphore 0.
    expect(() => set.release(65536, 1)).toThrow(outOfRange("num"));
    expect(() => set.op([{ num: 0, op: 40000, flags: IPC_NOWAIT }])).toThrow(outOfRange("op"));
    expect(() => semop(set.id, [{ num: -1, op: 1 }])).toThrow(/The value of "num" is out of range. It must be an integer >= 0 and <= 65535. Received -1/);
    expect(set.getAll()).toEqual([5, 5]);
    // The edges still work: the largest acquire a short holds, on a value of SEMVMX.
    set.setValue(1, SEMVMX);
    expect(set.tryAcquire(1, SEMVMX)).toBe(true);
    expect(set.getValue(1)).toBe(0);
  });

  it("refuses values SETVAL and SETALL cannot store, and sizes a set cannot have", () => {
    const set = createSet(2, 1);
    expect(() => set.setValue(0, 65537)).toThrow(outOfRange("value"));
    expect(() => set.setValue(0, -1)).toThrow(outOfRange("value"));
    expect(() => set.setAll([1, 65537])).toThrow(outOfRange("values[1]"));
    expect(() => semctl(set.id, 2 ** 32, GETVAL)).toThrow(outOfRange("num"));
    expect(set.getAll()).toEqual([1, 1]);
    expect(() => SemaphoreSet.create(unusedIpcKey(), 65537)).toThrow(outOfRange("nsems"));
    expect(() => semget(unusedIpcKey(), 1.5, IPC_CREAT | IPC_EXCL | 0o600)).toThrow(outOfRange("nsems"));
    // A key of 2^40 truncated to an int is 0, IPC_PRIVATE: a new private set instead of a shared one.
    expect(() => semget(2 ** 40, 1, IPC_CREAT | 0o600)).toThrow(/The value of "key" is out of range. It must be an integer >= -2147483648 and <= 4294967295. Received 1_099_511_627_776/);
  });
});
