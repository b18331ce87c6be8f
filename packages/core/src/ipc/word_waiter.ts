/**
 * Waiting for a 32-bit word of shared memory to change (a futex word, the value of a POSIX
 * semaphore, a ring's sequence word) without blocking the event loop and without holding a thread of
 * libuv's pool. Each JavaScript thread that waits gets word-waiter threads of its own (worker_threads
 * Workers running word_waiter_thread.ts, started on the first wait): each sleeps in futex_waitv(2) on
 * up to 127 words plus a control word, and posts the words that were woken back to this thread's
 * event loop. Why this design: WAITING.md.
 *
 * A process that never waits asynchronously on a word starts no thread. Waits on the same word with
 * the same expected value share one slot. Timeouts and aborts are timers and listeners on this
 * thread: they take effect as soon as the event loop runs them, and remove the word from the waiter
 * thread.
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { toAddress, type Address } from "../ffi/libc.ts";
import { checkInteger } from "../ffi/checks.ts";
import { FUTEX_WAITV_MAX, futexWaitOnce, futexWake } from "../libc/linux/futex.ts";
import { errnoError, Errno } from "../libc/errno.ts";
import { abortReason, startTimer } from "./timeouts.ts";

/** What a waiter thread is given in `workerData`. */
export interface WordWaiterThreadData {
  /** The port messages come and go through. */
  port: MessagePort;
  /**
   * Two Int32 words: the control word, which the starting thread increments (then wakes) after
   * posting a message, and the applied word, where the thread stores the control value it has read
   * the messages up to (then notifies).
   */
  control: SharedArrayBuffer;
}

/** A word a waiter thread sleeps on. */
export type WatchedWord = [id: number, address: Address, expected: number, isPrivate: boolean];

/** Why a waiter thread reported a word: woken, holding another value already, or not mapped (EFAULT). */
export type WordOutcome = "woken" | "not-equal" | "fault";

/**
 * How long a waiter thread other than the first may have no word to sleep on before it ends (each is
 * a Worker of about 10 MiB; the first stays, so a program that waits now and then starts none anew).
 */
export const IDLE_THREAD_MS = 10_000;

/**
 * The longest a waiter thread sleeps in one call. When a Worker that started waiter threads is
 * terminated, Node ends their JavaScript at its next step but waits for them, and a thread asleep in
 * the kernel takes no step: its exit listener, which wakes them, does not always run first.
 */
export const TERMINATION_CHECK_MS = 200;

/** Where the control word and the applied word are in the shared control buffer. */
export const CONTROL = 0;
export const APPLIED = 1;

/** The words one waiter thread sleeps on: the control word takes the first slot of each futex_waitv call. */
export const WORDS_PER_THREAD = FUTEX_WAITV_MAX - 1;

/** Options of `waitForWord`. */
export interface WordWaitOptions {
  /** Resolves "timed-out" after this many milliseconds (default: no limit). */
  timeoutMs?: number;
  /** Rejects with the signal's reason (or an AbortError) as soon as it aborts. */
  signal?: AbortSignal;
  /**
   * The word is woken with FUTEX_PRIVATE_FLAG (by this process only: a process-private `sem_t`, for
   * example). Default false: words in memory shared between processes.
   */
  private?: boolean;
}

/** How a word wait ended: woken (perhaps spuriously), the word no longer held the value, or the time ran out. */
export type WordWaitResult = "woken" | "not-equal" | "timed-out";

/**
 * Waits, without blocking the event loop, until the word at `address` is woken by FUTEX_WAKE (from
 * this process or any other, C included) or no longer holds `expected`, as FUTEX_WAIT would. Callers
 * recheck their condition after it resolves, as after any futex wait. The memory must stay mapped
 * until the promise settles (abort the wait before unmapping); a word found unmapped rejects with
 * EFAULT.
 */
export function waitForWord(address: Address, expected: number, options: WordWaitOptions = {}): Promise<WordWaitResult> {
  checkInteger(expected, "expected", -0x8000_0000, 0xffff_ffff);
  const { signal, timeoutMs } = options;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (timeoutMs !== undefined && timeoutMs !== Infinity) {
    if (!(timeoutMs >= 0)) return Promise.reject(new RangeError(`timeoutMs must be 0 or more (got ${timeoutMs})`));
    // Asking the kernel once is both the exact answer and cheaper than a trip to the waiter thread.
    if (timeoutMs === 0) return Promise.resolve(futexWaitOnce(address, expected, 0) === "not-equal" ? "not-equal" : "timed-out");
  }
  return new Promise((resolve, reject) => {
    const listener: Listener = { settle: () => {}, cancelTimer: () => {} };
    const watch = watchWord(address, expected >>> 0, options.private === true);
    const onAbort = (): void => listener.settle({ error: abortReason(signal!) });
    listener.settle = (outcome) => {
      listener.cancelTimer();
      signal?.removeEventListener("abort", onAbort);
      watch.listeners.delete(listener);
      if (watch.listeners.size === 0) unwatch(watch);
      if ("error" in outcome) reject(outcome.error);
      else resolve(outcome.result);
    };
    watch.listeners.add(listener);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined && timeoutMs !== Infinity) {
      listener.cancelTimer = startTimer(timeoutMs, () => listener.settle({ result: "timed-out" }));
    }
  });
}

type Settlement = { result: WordWaitResult } | { error: Error };

interface Listener {
  settle(outcome: Settlement): void;
  cancelTimer(): void;
}

/** One watched word (address, expected value, private flag) and the waits on it. */
interface Watch {
  readonly id: number;
  readonly key: string;
  readonly address: Address;
  readonly thread: WaiterThread;
  readonly listeners: Set<Listener>;
}

const watchesByKey = new Map<string, Watch>();
const watchesById = new Map<number, Watch>();
const threads: WaiterThread[] = [];
let nextId = 1;

// In the workspace, core runs from its TypeScript sources (vitest, Node 24's type stripping), while a
// Worker on Node 20 can only start JavaScript: the thread then runs the build's copy.
const threadUrl = new URL(import.meta.url.endsWith(".ts") ? "../../dist/ipc/word_waiter_thread.js" : "./word_waiter_thread.js", import.meta.url);

function watchWord(address: Address, expected: number, isPrivate: boolean): Watch {
  const key = `${address}:${expected}:${isPrivate ? "p" : "s"}`;
  const existing = watchesByKey.get(key);
  if (existing !== undefined) return existing;
  const thread = threads.find((candidate) => candidate.watchCount < WORDS_PER_THREAD) ?? startThread();
  const watch: Watch = { id: nextId++, key, address, thread, listeners: new Set() };
  watchesByKey.set(key, watch);
  watchesById.set(watch.id, watch);
  thread.add([watch.id, address, expected, isPrivate]);
  return watch;
}

function unwatch(watch: Watch): void {
  if (watchesById.get(watch.id) !== watch) return;
  forget(watch);
  watch.thread.remove(watch.id);
}

/**
 * Before memory is unmapped or detached: ends every pending wait on a word in
 * [address, address + length) with `error`, and returns once the waiter threads have dropped those
 * words. A thread never sleeps on a released range afterwards, where a new mapping could land and it
 * would swallow wakes meant for other sleepers.
 */
export function releaseWordWaits(address: Address, length: number, error: () => Error): void {
  const end = address + BigInt(length);
  for (const watch of [...watchesById.values()]) {
    if (watch.address < address || watch.address >= end) continue;
    unwatch(watch);
    const settlement: Settlement = { error: error() };
    for (const listener of [...watch.listeners]) listener.settle(settlement);
  }
  for (const thread of threads) {
    thread.flush();
    thread.awaitApplied(1000);
  }
}

function forget(watch: Watch): void {
  watchesById.delete(watch.id);
  watchesByKey.delete(watch.key);
  watch.thread.watchCount--;
  watch.thread.updateRef();
}

function fire(id: number, outcome: WordOutcome): void {
  const watch = watchesById.get(id);
  if (watch === undefined) return;
  forget(watch);
  const settlement: Settlement = outcome === "fault" ? { error: errnoError("futex_waitv", { path: `word at 0x${watch.address.toString(16)}` }, Errno.EFAULT) } : { result: outcome };
  for (const listener of [...watch.listeners]) listener.settle(settlement);
}

function startThread(): WaiterThread {
  const thread = new WaiterThread();
  threads.push(thread);
  if (!stopAtExit)
    process.once("exit", () => {
      for (const each of threads) each.stop();
    });
  stopAtExit = true;
  return thread;
}

let stopAtExit = false;

/** One word-waiter thread, seen from the thread that started it. */
class WaiterThread {
  watchCount = 0;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #control = new Int32Array(new SharedArrayBuffer(8));
  readonly #controlAddress = toAddress(this.#control);
  #added: WatchedWord[] = [];
  #removed: number[] = [];
  #flushQueued = false;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    const data: WordWaiterThreadData = { port: port2, control: this.#control.buffer as SharedArrayBuffer };
    this.#worker = new Worker(threadUrl, { workerData: data, transferList: [port2], stdout: false, stderr: false });
    this.#worker.unref();
    this.#worker.on("error", (error) => this.#fail(error));
    this.#port = port1;
    this.#port.on("message", (message: { fired: [number, WordOutcome][] }) => {
      for (const [id, outcome] of message.fired) fire(id, outcome);
    });
    this.#port.unref();
  }

  add(word: WatchedWord): void {
    this.watchCount++;
    this.updateRef();
    this.#added.push(word);
    this.#queueFlush();
  }

  remove(id: number): void {
    this.#removed.push(id);
    this.#queueFlush();
  }

  /** A pending wait keeps the process alive, as any pending I/O does; an idle thread does not. */
  updateRef(): void {
    if (this.watchCount > 0) {
      this.#port.ref();
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      return;
    }
    this.#port.unref();
    if (this.#idleTimer === undefined && threads[0] !== this) {
      this.#idleTimer = setTimeout(() => this.#retire(), IDLE_THREAD_MS);
      this.#idleTimer.unref();
    }
  }

  #retire(): void {
    this.#idleTimer = undefined;
    if (this.watchCount > 0 || !threads.includes(this)) return;
    threads.splice(threads.indexOf(this), 1);
    this.flush();
    this.stop();
  }

  stop(): void {
    this.#port.postMessage({ stop: true });
    this.#wake();
  }

  // Changes made in one turn of the event loop (a thousand waits started in a loop) reach the thread
  // as one message and one wake.
  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  flush(): void {
    if (!this.#flushQueued) return;
    this.#flushQueued = false;
    this.#port.postMessage({ add: this.#added, remove: this.#removed });
    this.#added = [];
    this.#removed = [];
    this.#wake();
  }

  /**
   * Blocks until the thread has read every message posted so far (it does so before it sleeps
   * again), or `timeoutMs` passed (a thread that died reads nothing). Waits on the starting thread
   * with Atomics.wait: only memory release calls it, and the thread answers within microseconds.
   */
  awaitApplied(timeoutMs: number): void {
    const posted = Atomics.load(this.#control, CONTROL);
    const end = performance.now() + timeoutMs;
    for (;;) {
      const applied = Atomics.load(this.#control, APPLIED);
      if (((applied - posted) | 0) >= 0) return;
      const left = end - performance.now();
      if (left <= 0) return;
      Atomics.wait(this.#control, APPLIED, applied, left);
    }
  }

  #wake(): void {
    Atomics.add(this.#control, CONTROL, 1);
    futexWake(this.#controlAddress, 1);
  }

  #fail(error: Error): void {
    threads.splice(threads.indexOf(this), 1);
    for (const watch of [...watchesById.values()]) {
      if (watch.thread !== this) continue;
      forget(watch);
      for (const listener of [...watch.listeners]) listener.settle({ error: new Error(`the word-waiter thread failed: ${error.message}`, { cause: error }) });
    }
  }
}
