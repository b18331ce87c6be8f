/**
 * Waits on System V semaphores and message queues without blocking the event loop and without a
 * thread of libuv's pool. Neither is a futex word or a descriptor, one semop(2) waits on one set
 * only, and msgrcv(2) has no timed form, so each wait in flight gets a blocking-call waiter thread
 * of its own (a worker_threads Worker running blocking_waiter_thread.ts), which makes the blocking
 * call. Idle threads are reused, and end after IDLE_THREAD_MS unused, but for the first. Up to
 * MAX_BLOCKING_THREADS run per JavaScript thread; past that, further waits try again without
 * blocking on a timer, from 1 ms up to RETRY_MAX_MS apart (timeouts.ts). Why this design:
 * WAITING.md.
 *
 * An abort or a timeout settles the promise at once. The thread's call is then interrupted with
 * `wakeSignal()` (pthread_kill), sent again every KICK_MS until the thread answers, since a signal
 * that lands just before the call is missed. The thread may be given the next wait at once: the job
 * word holds the id of the job wanted, so it sees the old one cancelled and takes the new one next.
 * A cancelled wait changes nothing: semaphore operations that went through meanwhile are reverted,
 * and a queue's message is never taken by the thread (see the thread's comment).
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { toAddress } from "../ffi/libc.ts";
import { Errno, errnoError, isSystemError } from "../libc/errno.ts";
import { futexWake } from "../libc/linux/futex.ts";
import { installNoopHandler, pthread_kill, SIGRTMAX } from "../libc/signal.ts";
import { IPC_NOWAIT } from "../libc/sys/ipc.ts";
import { MSGBUF_HEADER_SIZE, MSG_EXCEPT, msgbufType, msgrcv } from "../libc/sys/msg.ts";
import { semop, type SemOp } from "../libc/sys/sem.ts";
import { abortReason, retryWithBackoff, startTimer } from "./timeouts.ts";
import { IDLE_THREAD_MS } from "./word_waiter.ts";

/** The most blocking-call waiter threads one JavaScript thread starts (semaphores and queues together). */
export const MAX_BLOCKING_THREADS = 16;
/** How often a cancelled wait's thread is signalled again until it answers. */
const KICK_MS = 5;

/** The signal that interrupts a waiter thread's blocking call: SIGRTMAX − 2, given a handler that does nothing. */
export function wakeSignal(): number {
  return SIGRTMAX() - 2;
}

/** What a blocking-call waiter thread is given in `workerData`. */
export interface BlockingWaiterThreadData {
  port: MessagePort;
  /** Int32 words (JOB, DOORBELL, BUSY), then at byte PTHREAD_OFFSET the thread's pthread_t. */
  state: SharedArrayBuffer;
  wakeSignal: number;
}

/** A blocking call for a thread to make: semtimedop with these operations, or msgrcv watching for this type. */
export type BlockingCall = { call: "semtimedop"; semid: number; ops: SemOp[] } | { call: "msgrcv"; msqid: number; msgtyp: number; flags: number };
/** One job for a thread: its id and its call. */
export type BlockingJob = [jobId: number, call: BlockingCall];
/**
 * How a thread's job ended: "done" (semop: the operations went through; msgrcv: a message with text
 * is there to take), "taken" (msgrcv: a message without text was taken; its type is in `type`),
 * "cancelled", or "failed" (`errno` is the error code).
 */
export interface BlockingReport {
  jobId: number;
  outcome: "done" | "taken" | "cancelled" | "failed";
  type?: number;
  errno?: string;
}

/** Index of the job word: the id of the job wanted; 0 once cancelled here; minus the id once the thread has claimed it. */
export const JOB = 0;
/** Index of the doorbell word, bumped and woken after each message to the thread. */
export const DOORBELL = 1;
/** Index of the busy word: 1 while the thread runs a job. */
export const BUSY = 2;
/** Byte offset of the thread's pthread_t, which it writes once at start. */
export const PTHREAD_OFFSET = 16;

// See word_waiter.ts: in the workspace the thread runs the build's copy.
const threadUrl = new URL(import.meta.url.endsWith(".ts") ? "../../dist/ipc/blocking_waiter_thread.js" : "./blocking_waiter_thread.js", import.meta.url);

type WaitOptions = { timeoutMs?: number; signal?: AbortSignal };

/**
 * Performs `ops` on set `semid` atomically once they can all be done, without blocking the event
 * loop: resolves true when done, false after `timeoutMs`; rejects with the signal's reason on abort,
 * or with the errno error semop gave (EIDRM when the set is removed meanwhile, EINVAL…). The caller
 * has already tried them once with IPC_NOWAIT.
 */
export async function semopWhenPossible(semid: number, ops: readonly SemOp[], options: WaitOptions = {}): Promise<boolean> {
  const thread = pooledThread();
  if (thread === null) {
    const nowait = ops.map((op) => ({ ...op, flags: (op.flags ?? 0) | IPC_NOWAIT }));
    return (await retryWithBackoff(() => semop(semid, nowait) || undefined, options)) ?? false;
  }
  const report = await thread.run({ call: "semtimedop", semid, ops: ops.map((op) => ({ ...op })) }, options);
  return report !== false;
}

/** What a queue wait resolves with: a message is there to take, or one without text was taken (its type). */
export type MessageArrival = { taken: false } | { taken: true; type: number };

const probe = new Uint8Array(MSGBUF_HEADER_SIZE);

/**
 * Resolves once queue `msqid` holds a message that msgrcv with `msgtyp` and `flags` (MSG_EXCEPT)
 * would take, or with the message without text it took; false after `timeoutMs`. Rejects with the
 * signal's reason on abort, or with msgrcv's error (EIDRM when the queue is removed meanwhile). The
 * caller has already looked once with IPC_NOWAIT.
 */
export async function messageArrival(msqid: number, msgtyp: number, flags: number, options: WaitOptions = {}): Promise<MessageArrival | false> {
  const thread = pooledThread();
  if (thread === null) {
    const look = (): MessageArrival | undefined => {
      try {
        msgrcv(msqid, probe, 0, msgtyp, (flags & MSG_EXCEPT) | IPC_NOWAIT);
        return { taken: true, type: msgbufType(probe) };
      } catch (error) {
        if (isSystemError(error, "E2BIG")) return { taken: false };
        if (!isSystemError(error, "ENOMSG")) throw error;
        return undefined;
      }
    };
    return (await retryWithBackoff(look, options)) ?? false;
  }
  const report = await thread.run({ call: "msgrcv", msqid, msgtyp, flags: flags & MSG_EXCEPT }, options);
  if (report === false) return false;
  return report.outcome === "taken" ? { taken: true, type: report.type! } : { taken: false };
}

const threads: BlockingThread[] = [];
let nextJobId = 1;

/** An idle thread, a new one, or null when MAX_BLOCKING_THREADS are busy. */
function pooledThread(): BlockingThread | null {
  const idle = threads.find((candidate) => candidate.idle);
  if (idle !== undefined) return idle;
  if (threads.length === MAX_BLOCKING_THREADS) return null;
  installNoopHandler(wakeSignal());
  const thread = new BlockingThread();
  threads.push(thread);
  if (threads.length === 1) {
    process.once("exit", () => {
      for (const each of threads) each.stopNow();
    });
  }
  return thread;
}

/**
 * One blocking-call waiter thread, seen from the thread that started it. It takes a new job as soon
 * as the last one is settled: a cancelled job ends on the thread shortly after.
 */
class BlockingThread {
  readonly #port: MessagePort;
  readonly #shared = new SharedArrayBuffer(PTHREAD_OFFSET + 8);
  readonly #state = new Int32Array(this.#shared, 0, 3);
  readonly #pthread = new BigUint64Array(this.#shared, PTHREAD_OFFSET, 1);
  readonly #doorbellAddress = toAddress(this.#state) + BigInt(DOORBELL * 4);
  /** How to settle the job not yet settled, if any. */
  #settle: ((report: BlockingReport) => void) | null = null;
  /** Jobs cancelled here whose end the thread has not reported yet: the thread is signalled until it does. */
  readonly #cancelled = new Set<number>();
  #kicks: ReturnType<typeof setInterval> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    const data: BlockingWaiterThreadData = { port: port2, state: this.#shared, wakeSignal: wakeSignal() };
    const worker = new Worker(threadUrl, { workerData: data, transferList: [port2], stdout: false, stderr: false });
    worker.unref();
    worker.on("error", (error) => {
      this.#leavePool();
      clearInterval(this.#kicks);
      this.#settle?.({ jobId: 0, outcome: "failed", errno: error.message });
    });
    this.#port = port1;
    this.#port.on("message", (report: BlockingReport) => {
      if (this.#cancelled.delete(report.jobId)) {
        if (this.#cancelled.size === 0) clearInterval(this.#kicks);
        return;
      }
      this.#settle?.(report);
    });
    this.#port.unref();
  }

  /** True when every job given to the thread is settled (cancelled ones may still be ending there). */
  get idle(): boolean {
    return this.#settle === null;
  }

  /** Resolves with the thread's report when the call succeeded, false at the timeout. */
  run(call: BlockingCall, options: WaitOptions): Promise<BlockingReport | false> {
    clearTimeout(this.#idleTimer);
    const jobId = nextJobId++;
    Atomics.store(this.#state, JOB, jobId);
    this.#post({ job: [jobId, call] satisfies BlockingJob });
    this.#port.ref();
    const { signal, timeoutMs } = options;
    return new Promise<BlockingReport | false>((resolve, reject) => {
      const settle = (outcome: { report: BlockingReport | false } | { error: Error }): void => {
        this.#settle = null;
        this.#port.unref();
        cancelTimer();
        signal?.removeEventListener("abort", onAbort);
        if (threads[0] !== this) {
          this.#idleTimer = setTimeout(() => this.#retire(), IDLE_THREAD_MS);
          this.#idleTimer.unref();
        }
        if ("error" in outcome) reject(outcome.error);
        else resolve(outcome.report);
      };
      // Settles now unless the thread has already claimed the job (then its report is on its way).
      const cancel = (outcome: { report: false } | { error: Error }): void => {
        if (Atomics.compareExchange(this.#state, JOB, jobId, 0) !== jobId) return;
        this.#cancelled.add(jobId);
        settle(outcome);
        this.#kick();
      };
      const onAbort = (): void => cancel({ error: abortReason(signal!) });
      const cancelTimer = timeoutMs === undefined || timeoutMs === Infinity ? () => {} : startTimer(timeoutMs, () => cancel({ report: false }));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#settle = (report) => {
        if (report.outcome === "done" || report.outcome === "taken") settle({ report });
        else if (report.outcome === "failed") settle({ error: failure(report.errno!, call) });
      };
    });
  }

  /** Tells the thread to end, and interrupts its call until it has left it (on exit, when no timer runs). */
  stopNow(): void {
    this.#stop();
    const thread = this.#pthread[0]!;
    if (thread === 0n) return;
    // A signal that comes just before the call is not enough.
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 20 && Atomics.load(this.#state, BUSY) === 1; i++) {
      pthread_kill(thread, wakeSignal());
      Atomics.wait(pause, 0, 0, 1);
    }
  }

  /** Ends an idle thread that is not the first: a cancelled job still ending there is still signalled. */
  #retire(): void {
    if (!this.idle || !threads.includes(this)) return;
    this.#leavePool();
    this.#stop();
  }

  #leavePool(): void {
    const index = threads.indexOf(this);
    if (index !== -1) threads.splice(index, 1);
  }

  #stop(): void {
    Atomics.store(this.#state, JOB, 0);
    this.#post({ stop: true });
  }

  /** Interrupts the thread's call, again every KICK_MS until it has reported every cancelled job. */
  #kick(): void {
    const signalThread = (): void => {
      const thread = this.#pthread[0]!;
      if (thread !== 0n) pthread_kill(thread, wakeSignal());
    };
    signalThread();
    clearInterval(this.#kicks);
    this.#kicks = setInterval(signalThread, KICK_MS);
    this.#kicks.unref();
  }

  #post(message: object): void {
    this.#port.postMessage(message);
    Atomics.add(this.#state, DOORBELL, 1);
    futexWake(this.#doorbellAddress, 1);
  }
}

function failure(code: string, call: BlockingCall): Error {
  const errno = (Errno as Record<string, number>)[code];
  if (errno === undefined) return new Error(`${call.call} on a waiter thread failed: ${code}`);
  return errnoError(call.call, { path: `id ${call.call === "semtimedop" ? call.semid : call.msqid}` }, errno);
}
