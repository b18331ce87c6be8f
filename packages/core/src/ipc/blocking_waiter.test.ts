/**
 * The blocking-call waiter threads (blocking_waiter.ts) as a pool: semaphore waits and queue
 * receives share its threads, and the threads but the first end once unused for IDLE_THREAD_MS.
 * This file has the pool of its test worker to itself, so the threads seen are the ones it started.
 */
import { afterEach, describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { MessageQueue } from "./message_queue.ts";
import { kernelWait } from "./procfs.ts";
import { SemaphoreSet } from "./semaphore_set.ts";
import { sleep } from "./timeouts.ts";
import { IDLE_THREAD_MS } from "./word_waiter.ts";
import { unusedIpcKey } from "@linux-ipc/testing/vitest";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function queue(): MessageQueue {
  const created = MessageQueue.create(unusedIpcKey());
  cleanups.push(() => created.remove());
  return created;
}

function semaphoreSet(): SemaphoreSet {
  const set = SemaphoreSet.create(unusedIpcKey(), 1, 0);
  cleanups.push(() => set.remove());
  return set;
}

/** The threads of this process asleep in `syscall` on the System V object `id`. */
function threadsIn(syscall: string, id: number): number[] {
  return readdirSync("/proc/self/task")
    .map(Number)
    .filter((tid) => {
      const wait = kernelWait(process.pid, tid);
      return wait !== null && wait.state === "S" && wait.syscall === syscall && wait.firstArgument === BigInt(id);
    });
}

/** Polls /proc until `found()` gives a value, or fails saying what was awaited. */
async function until<T>(what: string, found: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = found();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(5);
  }
}

describe("blocking-call waiter threads", () => {
  it("serve semaphore waits and queue receives from one pool: the thread a semaphore wait used takes the next receive", async () => {
    const set = semaphoreSet();
    const messages = queue();
    const acquired = set.acquireAsync(0, 1);
    const [semaphoreThread] = await until("a waiter thread sleeps in semtimedop on the set", () => {
      const found = threadsIn("semtimedop", set.id);
      return found.length === 1 ? found : undefined;
    });
    set.release(0, 1);
    await acquired;

    const received = messages.receiveAsync({ type: 4 });
    const [queueThread] = await until("a waiter thread sleeps in msgrcv on the queue", () => {
      const found = threadsIn("msgrcv", messages.id);
      return found.length === 1 ? found : undefined;
    });
    expect(queueThread).toBe(semaphoreThread);
    messages.send("pooled", { type: 4 });
    const message = await received;
    expect(new TextDecoder().decode(message.bytes)).toBe("pooled");
    expect(message.type).toBe(4);
  });

  it(
    `end, but for the first, after ${IDLE_THREAD_MS / 1000} s unused`,
    async () => {
      const messages = queue();
      const abort = new AbortController();
      const receives = [1, 2, 3].map((type) => messages.receiveAsync({ type, signal: abort.signal }).catch((error: unknown) => error));
      const started = await until("three waiter threads sleep in msgrcv on the queue", () => {
        const found = threadsIn("msgrcv", messages.id);
        return found.length === 3 ? found : undefined;
      });
      abort.abort();
      for (const outcome of await Promise.all(receives)) expect(outcome).toMatchObject({ name: "AbortError" });

      const alive = (): number[] => started.filter((tid) => readdirSync("/proc/self/task").includes(String(tid)));
      const left = await until("two of the three waiter threads have ended", () => (alive().length === 1 ? alive() : undefined), IDLE_THREAD_MS + 20_000);
      // The one left is the pool's first thread: a new wait still finds it, with no thread started.
      const received = messages.receiveAsync({ type: 9 });
      const [serving] = await until("a waiter thread sleeps in msgrcv on the queue again", () => {
        const found = threadsIn("msgrcv", messages.id);
        return found.length === 1 ? found : undefined;
      });
      expect(serving).toBe(left[0]);
      messages.send("still here", { type: 9 });
      expect((await received).type).toBe(9);
    },
    IDLE_THREAD_MS + 60_000,
  );
});
