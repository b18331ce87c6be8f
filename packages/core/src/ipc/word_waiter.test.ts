/**
 * The event-loop-native waits as a whole (word_waiter.ts, blocking_waiter.ts): many waits at once in
 * another process, resolved by posts from this one or from C; aborts that leave the objects as they
 * were; cleanup on SIGINT while a thousand waits are pending; waits inside a worker_threads Worker.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { FutexWord } from "./futex_mutex.ts";
import { UnnamedSemaphore } from "./posix_semaphore.ts";
import { Ring, RING_OFFSETS } from "./ring.ts";
import { SemaphoreSet } from "./semaphore_set.ts";
import { SharedMemorySegment } from "./shared_memory.ts";
import { futexWaitvWords, kernelWait } from "./procfs.ts";
import { waitForWord } from "./word_waiter.ts";
import { sleep } from "./timeouts.ts";
import { manyWaitsLayout } from "../../fixtures/many-waits-layout.ts";
import { removeObjectsAt } from "../../fixtures/remove-at-key.ts";
import { compileC, cSkipReason, removeCompiled, startProgram, stopLeftoverPrograms, unusedIpcKey, type RunningProgram } from "@linux-ipc/testing/vitest";

const fixture = (name: string): string => fileURLToPath(new URL(`../../dist-fixtures/${name}.js`, import.meta.url));
const DATA_SEQ_OFFSET = BigInt(RING_OFFSETS.dataSeq);

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await stopLeftoverPrograms(0);
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});
afterAll(removeCompiled);

function segment(size = 4096): SharedMemorySegment {
  const created = SharedMemorySegment.create(unusedIpcKey(), size);
  cleanups.push(() => created.remove());
  return created;
}

function semaphoreSet(nsems: number): SemaphoreSet {
  const set = SemaphoreSet.create(unusedIpcKey(), nsems, 0);
  cleanups.push(() => set.remove());
  return set;
}

/** The words every thread of `pid` sleeping in futex_waitv waits on, and the threads in semtimedop on `semid`. */
function sleepers(pid: number, semid?: number): { words: Set<bigint>; semtimedop: number } {
  const words = new Set<bigint>();
  let semtimedop = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    const wait = kernelWait(pid, tid);
    if (wait === null || wait.state !== "S") continue;
    for (const word of futexWaitvWords(wait)) words.add(word);
    if (wait.syscall === "semtimedop" && wait.firstArgument === BigInt(semid ?? -1)) semtimedop++;
  }
  return { words, semtimedop };
}

/** Polls /proc until `ready()` holds (the kernel state the test waits for), or fails saying what was awaited. */
async function until(what: string, ready: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(5);
  }
}

describe("a thousand pending waits in another process", () => {
  const COUNT = 1000;
  const SYSV = 19;
  const layout = manyWaitsLayout(COUNT, SYSV);

  async function startAndArm(): Promise<{ program: RunningProgram; key: number }> {
    const key = unusedIpcKey();
    cleanups.push(() => removeObjectsAt(key));
    const program = startProgram(fixture("many-waits"), [String(key), String(COUNT), String(SYSV)]);
    const base = BigInt((await program.waitForLine(/^waiting/)).split(" ")[1]!);
    const expected: bigint[] = [];
    for (let i = 0; i < layout.perKind; i++) {
      expected.push(base + BigInt(layout.wordOffset(i)), base + BigInt(layout.semaphoreOffset(i)), base + BigInt(layout.ringOffset(i)) + DATA_SEQ_OFFSET);
    }
    const semid = SemaphoreSet.open(key).id;
    await until(`the program's waiter threads sleep on all ${expected.length} words and some System V operation sleeps`, () => {
      const now = sleepers(program.pid, semid);
      return now.semtimedop > 0 && expected.every((word) => now.words.has(word));
    });
    return { program, key };
  }

  it("resolves them all when their objects are posted from here: none lost, none early", async () => {
    const { program, key } = await startAndArm();
    const memory = SharedMemorySegment.open(key).attach();
    cleanups.push(() => memory.detach());
    for (let i = 0; i < layout.perKind; i++) {
      const word = new FutexWord(memory, layout.wordOffset(i));
      word.store(1);
      word.wake();
      UnnamedSemaphore.at(memory, layout.semaphoreOffset(i)).post();
      using writer = Ring.attach(memory, layout.ringOffset(i)).writer();
      writer.send(Uint8Array.of(i & 0xff, 0, 0, 0));
    }
    const set = SemaphoreSet.open(key);
    for (let num = 0; num < SYSV; num++) set.release(num, 1, { undo: false });
    const result = await program.exited;
    expect(result.stdout).not.toContain("early");
    expect(result.stdout).toContain(`resolved ${layout.perKind * 3 + SYSV}\n`);
    expect(result.code).toBe(0);
  });

  it("runs the program's SIGINT cleanup while they are pending, leaving nothing in ipcs", async () => {
    const { program, key } = await startAndArm();
    program.kill("SIGINT");
    const result = await program.exited;
    expect(result.stdout).toContain("cleanup ran");
    expect(result.signal).toBe("SIGINT");
    expect(() => SharedMemorySegment.open(key)).toThrow(/ENOENT/);
    expect(() => SemaphoreSet.open(key)).toThrow(/ENOENT/);
  });
});

describe("an abort", () => {
  it("rejects a System V wait and leaves the semaphore as it was, even if posted while the thread still sleeps", async () => {
    const set = semaphoreSet(1);
    const controller = new AbortController();
    const waiting = set.acquireAsync(0, 1, { undo: false, signal: controller.signal });
    await until("a blocking-call waiter thread sleeps on the set", () => sleepers(process.pid, set.id).semtimedop === 1);
    controller.abort(new Error("not any more"));
    await expect(waiting).rejects.toThrow("not any more");
    set.release(0, 1, { undo: false });
    // The thread may take the unit before it sees the abort; it then gives it back.
    await until("the posted unit is in the semaphore and no thread sleeps on the set", () => set.getValue(0) === 1 && sleepers(process.pid, set.id).semtimedop === 0);
    expect(await set.acquireAsync(0, 1, { undo: false, timeoutMs: 0 })).toBeUndefined();
  });

  it("rejects a POSIX semaphore wait and counts it out of glibc's waiters", async () => {
    using memory = segment().attach();
    const semaphore = UnnamedSemaphore.init(memory, 0, 0);
    const controller = new AbortController();
    const waiting = semaphore.waitAsync({ signal: controller.signal });
    await until("a word-waiter thread sleeps on the semaphore", () => sleepers(process.pid).words.has(memory.address));
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
    const data = new BigUint64Array(memory.bytes.buffer, memory.bytes.byteOffset, 1);
    expect(data[0]).toBe(0n);
    semaphore.post();
    expect(semaphore.value).toBe(1);
    await until("no thread sleeps on the semaphore any more", () => !sleepers(process.pid).words.has(memory.address));
  });

  it("rejects a futex wait and a ring wait, and their words leave the waiter thread", async () => {
    using memory = segment().attach();
    const word = new FutexWord(memory, 0);
    const reader = Ring.create(memory, { offset: 512, capacity: 1024 }).reader({ spinMicros: 0 });
    const controller = new AbortController();
    const waits = [word.waitAsync(0, { signal: controller.signal }), reader.peekAsync({ signal: controller.signal })];
    const ringWord = memory.address + 512n + DATA_SEQ_OFFSET;
    await until("both words are armed", () => {
      const { words } = sleepers(process.pid);
      return words.has(word.address) && words.has(ringWord);
    });
    controller.abort();
    for (const wait of waits) await expect(wait).rejects.toMatchObject({ name: "AbortError" });
    await until("neither word is armed", () => {
      const { words } = sleepers(process.pid);
      return !words.has(word.address) && !words.has(ringWord);
    });
  });

  it("comes with the release of the memory: the waits on its words reject, and no thread sleeps on them afterwards", async () => {
    const memory = segment().attach();
    const word = new FutexWord(memory, 0);
    const waiting = word.waitAsync(0);
    await until("the word is armed", () => sleepers(process.pid).words.has(word.address));
    memory.detach();
    // Checked right after detach returns: the waiter thread has already dropped the word.
    expect(sleepers(process.pid).words.has(word.address)).toBe(false);
    await expect(waiting).rejects.toMatchObject({ code: "ERR_IPC_MEMORY_RELEASED" });
  });

  it("and a timeout of 0 answer without a trip to a thread", async () => {
    using memory = segment().attach();
    expect(await waitForWord(memory.address, 0, { timeoutMs: 0 })).toBe("timed-out");
    expect(await waitForWord(memory.address, 5, { timeoutMs: 0 })).toBe("not-equal");
    const controller = new AbortController();
    controller.abort();
    await expect(waitForWord(memory.address, 0, { signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("a timeout", () => {
  it("longer than Node's timers reach (2^31 ms) does not end the wait early", async () => {
    using memory = segment().attach();
    const set = semaphoreSet(1);
    const word = new FutexWord(memory, 0);
    const waits = [word.waitAsync(0, { timeoutMs: 2 ** 32 }), set.acquireAsync(0, 1, { undo: false, timeoutMs: 2 ** 32 })];
    await until("both waits sleep", () => {
      const now = sleepers(process.pid, set.id);
      return now.words.has(word.address) && now.semtimedop === 1;
    });
    word.store(1);
    word.wake();
    set.release(0, 1, { undo: false });
    expect(await waits[0]).toBe("woken");
    expect(await waits[1]).toBeUndefined();
  });
});

describe.skipIf(cSkipReason() !== null)("with C peers", () => {
  it("a C process's FUTEX_WAKE, sem_post and semop resolve the waits sleeping here", async () => {
    const shm = segment();
    using memory = shm.attach();
    const set = semaphoreSet(1);
    const word = new FutexWord(memory, 0);
    const semaphore = UnnamedSemaphore.init(memory, 64, 0);
    const waits = [word.waitAsync(0), semaphore.waitAsync(), set.acquireAsync(0, 1, { undo: false })];
    await until("the three waits sleep in the kernel", () => {
      const now = sleepers(process.pid, set.id);
      return now.words.has(word.address) && now.words.has(semaphore.pointer) && now.semtimedop === 1;
    });
    const poster = compileC(
      "waiter-poster",
      `#include <linux/futex.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char *base = shmat(atoi(argv[1]), NULL, 0);
  if (base == (void *) -1) return 2;
  __atomic_store_n((int *) base, 1, __ATOMIC_SEQ_CST);
  if (syscall(SYS_futex, base, FUTEX_WAKE, 1, NULL, NULL, 0) != 1) return 3;
  if (sem_post((sem_t *) (base + 64)) != 0) return 4;
  struct sembuf up = { 0, 1, 0 };
  if (semop(atoi(argv[2]), &up, 1) != 0) return 5;
  return 0;
}`,
      ["-pthread"],
    );
    execFileSync(poster, [String(shm.id), String(set.id)]);
    await Promise.all(waits);
    expect(word.load()).toBe(1);
    expect(semaphore.value).toBe(0);
    expect(set.getValue(0)).toBe(0);
  });
});

describe("inside a worker_threads Worker", () => {
  it("loads core and resolves its async waits (futex word, POSIX and System V semaphores)", async () => {
    const shm = segment();
    using memory = shm.attach();
    const set = semaphoreSet(1);
    // execArgv: [] drops the source condition vitest runs under, so the Worker loads the compiled core.
    const worker = new Worker(fixture("worker-waits"), { workerData: { shmid: shm.id, semid: set.id }, execArgv: [] });
    cleanups.push(() => void worker.terminate());
    // Listened for now: the Worker may end before the test reads its "done".
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    const next = (): Promise<string> =>
      new Promise((resolve, reject) => {
        worker.once("message", (message: string) => resolve(message));
        worker.once("error", reject);
      });
    const waiting = await next();
    expect(waiting).toMatch(/^waiting 0x/);
    const theirs = BigInt(waiting.split(" ")[1]!);
    const ended = next();
    await until("the worker's three waits sleep in the kernel", () => {
      const now = sleepers(process.pid, set.id);
      return now.words.has(theirs) && now.words.has(theirs + 64n) && now.semtimedop === 1;
    });
    const word = new FutexWord(memory, 0);
    word.store(1);
    word.wake();
    UnnamedSemaphore.at(memory, 64).post();
    set.release(0, 1, { undo: false });
    expect(await ended).toBe("done");
    expect(await exited).toBe(0);
  });

  it("can be terminated while its waits are pending (its waiter threads end too)", async () => {
    const shm = segment();
    const set = semaphoreSet(1);
    const threadsBefore = readdirSync("/proc/self/task").length;
    const worker = new Worker(fixture("worker-waits"), { workerData: { shmid: shm.id, semid: set.id }, execArgv: [] });
    const waiting: string = await new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    const theirs = BigInt(waiting.split(" ")[1]!);
    await until("the worker's waits sleep in the kernel", () => {
      const now = sleepers(process.pid, set.id);
      return now.words.has(theirs) && now.semtimedop === 1;
    });
    expect(await worker.terminate()).toBe(1);
    await until("the Worker's threads are gone", () => readdirSync("/proc/self/task").length <= threadsBefore);
  });
});
