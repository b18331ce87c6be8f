import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { existsSync, readFileSync } from "node:fs";
import { FutexWord, FutexMutex, futexWaitAsync, int32View, MUTEX_WAITERS } from "./futex_mutex.ts";
import { futexWait, futexWake } from "../libc/linux/futex.ts";
import { SharedMemorySegment } from "./shared_memory.ts";
import { SemaphoreSet } from "./semaphore_set.ts";
import { UnnamedSemaphore } from "./posix_semaphore.ts";
import { Ring } from "./ring.ts";
import { IPC_PRIVATE } from "../libc/sys/ipc.ts";
import { mmap } from "./mapping.ts";
import { MAP_SHARED, MAP_ANONYMOUS, PROT_READ, PROT_WRITE } from "../libc/sys/mman.ts";
import { WaitTimeoutError } from "./timeouts.ts";
import { startProgram, unusedIpcKey, type RunningProgram, stopLeftoverPrograms } from "@linux-ipc/testing/vitest";
import { removeObjectsAt } from "../../fixtures/remove-at-key.ts";
import { futexWaitvWords, waitUntilBlocked, type KernelWait } from "./procfs.ts";

const fixture = (name: string): string => fileURLToPath(new URL(`../../dist-fixtures/${name}.js`, import.meta.url));

const segments: SharedMemorySegment[] = [];
/** Keys a program created objects under: removed after each test in case the program died without its cleanup. */
const programKeys: number[] = [];
afterEach(async () => {
  // Programs first: a segment is removed only once nothing can be using it.
  await stopLeftoverPrograms(0);
  for (const segment of segments.splice(0)) segment.remove();
  for (const key of programKeys.splice(0)) removeObjectsAt(key);
});

function sharedSegment(): { spec: string; memory: ReturnType<SharedMemorySegment["attach"]> } {
  const segment = SharedMemorySegment.create(IPC_PRIVATE, 4096);
  segments.push(segment);
  return { spec: `shm:${segment.id}`, memory: segment.attach() };
}

const start = (script: string, args: string[]): RunningProgram => startProgram(fixture(script), args);

function anonymous(): ReturnType<typeof mmap> {
  return mmap(4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
}

describe("Atomics on a koffi view of shared memory", () => {
  it("supports every operation except wait, and notify wakes nobody: the view is not a SharedArrayBuffer", () => {
    using memory = anonymous();
    const words = int32View(memory, 0, 4);
    expect(words.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Atomics.add(words, 0, 5)).toBe(0);
    expect(Atomics.sub(words, 0, 2)).toBe(5);
    expect(Atomics.compareExchange(words, 0, 3, 10)).toBe(3);
    expect(Atomics.exchange(words, 0, 7)).toBe(10);
    expect(Atomics.or(words, 0, 8)).toBe(7);
    expect(Atomics.and(words, 0, 12)).toBe(15);
    expect(Atomics.xor(words, 0, 1)).toBe(12);
    Atomics.store(words, 0, 42);
    expect(Atomics.load(words, 0)).toBe(42);
    expect(new DataView(memory.bytes.buffer).getInt32(0, true)).toBe(42);
    expect(() => Atomics.wait(words, 0, 42, 0)).toThrow(TypeError);
    expect(Atomics.notify(words, 0, 1)).toBe(0);
  });

  it("makes Atomics.add atomic between processes: two processes add 1,000,000 each and none is lost", async () => {
    const { spec, memory } = sharedSegment();
    const words = int32View(memory, 0, 2);
    const first = start("atomic-counter", [spec, "1000000", "2"]);
    const second = start("atomic-counter", [spec, "1000000", "2"]);
    expect((await first.exited).stdout).toBe("done\n");
    expect((await second.exited).stdout).toBe("done\n");
    expect(Atomics.load(words, 0)).toBe(2_000_000);
  });
});

describe("futex wait and wake", () => {
  it("returns not-equal at once when the word already differs, and timed-out after the timeout", async () => {
    using memory = anonymous();
    const word = new FutexWord(memory, 8);
    word.store(1);
    expect(word.wait(0)).toBe("not-equal");
    expect(word.wait(1, 5)).toBe("timed-out");
    expect(await word.waitAsync(1, { timeoutMs: 5 })).toBe("timed-out");
    expect(await word.waitAsync(0)).toBe("not-equal");
    expect(futexWait(word.address, 0)).toBe("not-equal");
    expect(word.wake()).toBe(0);
    expect(() => new FutexWord(memory, 6)).toThrow(/multiple of 4/);
    expect(() => new FutexWord(memory, 4096)).toThrow(/do not fit/);
  });

  it("keeps the event loop running during an async wait, and a wake from this process ends it", async () => {
    using memory = anonymous();
    const word = new FutexWord(memory, 0);
    const waiting = word.waitAsync(0);
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (++ticks < 3) return;
        clearInterval(timer);
        resolve();
      }, 1);
    });
    word.store(1);
    word.wake();
    expect(await waiting).toMatch(/woken|not-equal/);
  });

  it("stops an async wait when its AbortSignal aborts", async () => {
    using memory = anonymous();
    const controller = new AbortController();
    const waiting = futexWaitAsync(memory.address, 0, () => 0, { signal: controller.signal });
    controller.abort(new Error("stop waiting"));
    await expect(waiting).rejects.toThrow("stop waiting");
  });

  for (const mode of ["sync", "async"]) {
    it(`wakes a process sleeping in the kernel (${mode} wait) from another process`, async () => {
      const { spec, memory } = sharedSegment();
      const word = new FutexWord(memory, 0);
      const waiter = start("futex-waiter", [spec, mode]);
      const address = BigInt((await waiter.waitForLine(/^waiting/)).split(" ")[1]!);
      if (mode === "sync") await waitUntilBlocked(waiter.pid, ["futex"], { firstArgument: (argument) => argument === address });
      else await waitUntilBlocked(waiter.pid, ["futex_waitv"], { anyThread: true, match: (wait) => futexWaitvWords(wait).includes(address) });
      word.store(7);
      expect(futexWake(word.address, 1)).toBe(1);
      expect((await waiter.exited).stdout).toContain("woken 7");
    });
  }
});

describe("FutexMutex", () => {
  it("excludes between processes: 2 x 50,000 unprotected increments under the lock all count", async () => {
    const { spec, memory } = sharedSegment();
    const first = start("mutex-worker", [spec, "50000"]);
    const second = start("mutex-worker", [spec, "50000", "async"]);
    expect((await first.exited).stdout).toBe("done\n");
    expect((await second.exited).stdout).toBe("done\n");
    expect(int32View(memory, 0, 2)[1]).toBe(100_000);
    expect(new FutexMutex(memory, 0).owner).toBe(0);
  });

  it("is taken over from an owner that died holding it, and says so", async () => {
    const { spec, memory } = sharedSegment();
    const holder = start("mutex-worker", [spec, "1", "hold"]);
    await holder.waitForLine("locked");
    const mutex = new FutexMutex(memory, 0);
    expect(mutex.owner).toBe(holder.pid);
    expect(mutex.tryLock()).toBe(false);
    expect(() => mutex.lock({ timeoutMs: 5 })).toThrow(WaitTimeoutError);
    holder.kill("SIGKILL");
    await holder.exited;
    expect(await mutex.lockAsync()).toBe("owner-died");
    expect(mutex.owner).toBe(process.pid);
    expect(mutex.word.load() & MUTEX_WAITERS).not.toBe(0);
    mutex.unlock();
    expect(mutex.lock()).toBe("locked");
    mutex.unlock();
  });
});

describe("SIGINT during an async wait", () => {
  // The word-waiter thread sleeps in futex_waitv with the word among its words; a System V wait
  // sleeps in semtimedop on the set, on a blocking-call waiter thread.
  const sleepsOn = (line: string) => {
    const address = BigInt(line.split(" ")[1]!);
    return (wait: KernelWait) => futexWaitvWords(wait).some((word) => word >= address && word < address + 32n);
  };
  const cases: { kind: string; syscall: string; target: (line: string) => (wait: KernelWait) => boolean }[] = [
    { kind: "futex", syscall: "futex_waitv", target: sleepsOn },
    { kind: "ring", syscall: "futex_waitv", target: sleepsOn },
    { kind: "named", syscall: "futex_waitv", target: sleepsOn },
    { kind: "unnamed", syscall: "futex_waitv", target: sleepsOn },
    { kind: "sysv", syscall: "semtimedop", target: (line) => (wait) => wait.firstArgument === BigInt(line.split(" ")[2]!) },
  ];
  for (const { kind, syscall, target } of cases) {
    it(`still runs the program's cleanup (${kind} wait on a waiter thread)`, async () => {
      const key = unusedIpcKey();
      programKeys.push(key);
      const program = start("sigint-wait", [kind, String(key)]);
      const line = await program.waitForLine(/^waiting/);
      await waitUntilBlocked(program.pid, [syscall], { anyThread: true, match: target(line) });
      program.kill("SIGINT");
      const result = await program.exited;
      expect(result.stdout).toContain("cleanup ran");
      expect(result.signal).toBe("SIGINT");
      expect(() => SharedMemorySegment.open(key)).toThrow(/ENOENT/);
      expect(() => SemaphoreSet.open(key)).toThrow(/ENOENT/);
      expect(existsSync(`/dev/shm/sem.ipc-test-${key.toString(16)}`)).toBe(false);
    });
  }
});

describe("EINTR during a sync wait", () => {
  const SIGUSR2_BIT = 1n << 11n;
  /** Whether a SIGUSR2 sent to the process is still pending (not yet delivered to a thread). */
  const pending = (pid: number): boolean => {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("ShdPnd:"))!;
    return (BigInt(`0x${line.split(/\s+/)[1]}`) & SIGUSR2_BIT) !== 0n;
  };

  for (const kind of ["futex", "sysv", "unnamed", "ring"]) {
    it(`goes on waiting after a signal handler interrupts it (${kind})`, async () => {
      const { spec, memory } = sharedSegment();
      const set = SemaphoreSet.create(unusedIpcKey(), 1, 0);
      try {
        let release: () => void;
        if (kind === "sysv") {
          release = () => set.release(0, 1, { undo: false });
        } else if (kind === "futex") {
          const word = new FutexWord(memory, 0);
          release = () => {
            word.store(1);
            word.wake();
          };
        } else if (kind === "unnamed") {
          const semaphore = UnnamedSemaphore.init(memory, 64, 0);
          release = () => semaphore.post();
        } else {
          const writer = Ring.create(memory, { offset: 512, capacity: 1024 }).writer();
          release = () => writer.send(new Uint8Array(3));
        }
        const waiter = start("eintr-wait", [kind, kind === "sysv" ? String(set.id) : spec]);
        await waiter.waitForLine("waiting");
        // A sync wait sleeps on the main thread; its idle state would be epoll_wait, never these calls.
        const blocked = async (): Promise<void> => void (await waitUntilBlocked(waiter.pid, [kind === "sysv" ? "semtimedop" : "futex"]));
        await blocked();
        waiter.kill("SIGUSR2");
        while (pending(waiter.pid)) await new Promise((resolve) => setTimeout(resolve, 1));
        await blocked();
        release();
        const result = await waiter.exited;
        expect(result.stderr).toBe("");
        expect(result.stdout).toBe("waiting\ndone\nhandled 1\n");
      } finally {
        set.remove();
      }
    });
  }
});
