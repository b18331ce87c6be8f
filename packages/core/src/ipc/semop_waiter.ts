/**
 * System V semaphore operations that wait without blocking the event loop and without holding a
 * thread of libuv's pool. A System V semaphore is neither a futex word nor a descriptor, and one
 * semtimedop(2) cannot wait on several sets, so each operation in flight gets a semop-waiter thread
 * of its own (a worker_threads Worker running semop_waiter_thread.ts; idle ones are reused, and end
 * after IDLE_THREAD_MS unused, but for the first). Up to
 * MAX_SEMOP_THREADS run per JavaScript thread; past that, further operations retry without blocking
 * on a timer, from 1 ms up to RETRY_MAX_MS apart (timeouts.ts). Why this design: WAITING.md.
 *
 * An abort or a timeout settles the promise at once. The thread notices within SEMOP_SLICE_MS; if
 * the operations went through in that window, it reverts them, so a cancelled wait leaves the
 * semaphores as they were (another process may have seen the value change and change back).
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { toAddress } from "../ffi/libc.ts";
import { Errno, errnoError } from "../libc/errno.ts";
import { futexWake } from "../libc/linux/futex.ts";
import { IPC_NOWAIT } from "../libc/sys/ipc.ts";
import { semop, type SemOp } from "../libc/sys/sem.ts";
import { abortReason, retryWithBackoff, startTimer } from "./timeouts.ts";
import { IDLE_THREAD_MS } from "./word_waiter.ts";

/** How long a semop-waiter thread sleeps before it looks whether its operation was cancelled. */
export const SEMOP_SLICE_MS = 50;
/** The most semop-waiter threads one JavaScript thread starts. */
export const MAX_SEMOP_THREADS = 16;

/** What a semop-waiter thread is given in `workerData`. */
export interface SemopWaiterThreadData {
  port: MessagePort;
  /** Two Int32 words: the job state and the doorbell (see semop_waiter_thread.ts). */
  state: SharedArrayBuffer;
  sliceMs: number;
}

/** One operation for a thread: its id, the set's id, the operations. */
export type SemopJob = [jobId: number, semid: number, ops: SemOp[]];
/** How a thread's job ended. */
export type SemopOutcome = "done" | "cancelled" | "failed";
/** What a thread posts when a job ends: `errno` is the error code when it failed. */
export interface SemopReport {
  jobId: number;
  outcome: SemopOutcome;
  errno?: string;
}

/** Index of the job word in a thread's state buffer, and its values (see semop_waiter_thread.ts). */
export const JOB = 0;
/** Index of the doorbell word, bumped and woken after each message to the thread. */
export const DOORBELL = 1;
export const IDLE = 0;
export const RUNNING = 1;
export const DONE = 2;
export const CANCELLED = 3;

// See word_waiter.ts: in the workspace the thread runs the build's copy.
const threadUrl = new URL(import.meta.url.endsWith(".ts") ? "../../dist/ipc/semop_waiter_thread.js" : "./semop_waiter_thread.js", import.meta.url);

/**
 * Performs `ops` on set `semid` atomically once they can all be done, without blocking the event
 * loop: resolves true when done, false after `timeoutMs`; rejects with the signal's reason on abort,
 * or with the errno error semtimedop gave (EIDRM when the set is removed meanwhile, EINVAL…). The
 * caller has already tried them once with IPC_NOWAIT.
 */
export function semopWhenPossible(semid: number, ops: readonly SemOp[], options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
  const thread = threads.find((candidate) => candidate.idle) ?? (threads.length < MAX_SEMOP_THREADS ? startThread() : null);
  if (thread === null) return pollSemop(semid, ops, options);
  return thread.run(semid, ops.map((op) => ({ ...op })), options);
}

const threads: SemopThread[] = [];
let nextJobId = 1;

function startThread(): SemopThread {
  const thread = new SemopThread();
  threads.push(thread);
  if (!stopAtExit) process.once("exit", () => {
    for (const each of threads) each.stop();
  });
  stopAtExit = true;
  return thread;
}

let stopAtExit = false;

function pollSemop(semid: number, ops: readonly SemOp[], options: { timeoutMs?: number; signal?: AbortSignal }): Promise<boolean> {
  const nowait = ops.map((op) => ({ ...op, flags: (op.flags ?? 0) | IPC_NOWAIT }));
  return retryWithBackoff(() => semop(semid, nowait) || undefined, options).then((done) => done ?? false);
}

/** One semop-waiter thread, seen from the thread that started it. */
class SemopThread {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #state = new Int32Array(new SharedArrayBuffer(8));
  readonly #doorbellAddress = toAddress(this.#state) + BigInt(DOORBELL * 4);
  /** The job in flight and how to settle it; null once settled (a cancelled job may still run). */
  #settle: ((report: SemopReport) => void) | null = null;
  #jobId = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    const data: SemopWaiterThreadData = { port: port2, state: this.#state.buffer as SharedArrayBuffer, sliceMs: SEMOP_SLICE_MS };
    this.#worker = new Worker(threadUrl, { workerData: data, transferList: [port2], stdout: false, stderr: false });
    this.#worker.unref();
    this.#worker.on("error", (error) => {
      threads.splice(threads.indexOf(this), 1);
      this.#settle?.({ jobId: this.#jobId, outcome: "failed", errno: error.message });
    });
    this.#port = port1;
    this.#port.on("message", (report: SemopReport) => {
      this.#jobId = 0;
      this.#port.unref();
      this.#settle?.(report);
      if (this.idle && threads[0] !== this) {
        this.#idleTimer = setTimeout(() => this.#retire(), IDLE_THREAD_MS);
        this.#idleTimer.unref();
      }
    });
    this.#port.unref();
  }

  /** True when no job is in flight on the thread (a cancelled one still counts until it reports). */
  get idle(): boolean {
    return this.#jobId === 0;
  }

  run(semid: number, ops: SemOp[], options: { timeoutMs?: number; signal?: AbortSignal }): Promise<boolean> {
    clearTimeout(this.#idleTimer);
    const jobId = nextJobId++;
    this.#jobId = jobId;
    Atomics.store(this.#state, JOB, RUNNING);
    this.#post({ job: [jobId, semid, ops] satisfies SemopJob });
    this.#port.ref();
    const { signal, timeoutMs } = options;
    return new Promise<boolean>((resolve, reject) => {
      const settle = (outcome: { done: boolean } | { error: Error }): void => {
        this.#settle = null;
        cancelTimer();
        signal?.removeEventListener("abort", onAbort);
        if ("error" in outcome) reject(outcome.error);
        else resolve(outcome.done);
      };
      // Settles now unless the operations already went through (then their report is on its way).
      const cancel = (outcome: { done: boolean } | { error: Error }): void => {
        if (Atomics.compareExchange(this.#state, JOB, RUNNING, CANCELLED) === RUNNING) settle(outcome);
      };
      const onAbort = (): void => cancel({ error: abortReason(signal!) });
      const cancelTimer = timeoutMs === undefined || timeoutMs === Infinity ? () => {} : startTimer(timeoutMs, () => cancel({ done: false }));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#settle = (report) => {
        if (report.outcome === "done") settle({ done: true });
        else if (report.outcome === "failed") settle({ error: failure(report.errno!, semid) });
      };
    });
  }

  stop(): void {
    Atomics.store(this.#state, JOB, CANCELLED);
    this.#post({ stop: true });
  }

  #retire(): void {
    if (!this.idle || !threads.includes(this)) return;
    threads.splice(threads.indexOf(this), 1);
    this.stop();
  }

  #post(message: object): void {
    this.#port.postMessage(message);
    Atomics.add(this.#state, DOORBELL, 1);
    futexWake(this.#doorbellAddress, 1);
  }
}

function failure(code: string, semid: number): Error {
  const errno = (Errno as Record<string, number>)[code];
  return errno === undefined ? new Error(`semtimedop on a waiter thread failed: ${code}`) : errnoError("semtimedop", { path: `id ${semid}` }, errno);
}
