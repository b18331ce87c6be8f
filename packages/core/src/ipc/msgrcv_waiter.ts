/**
 * Waits, without blocking the event loop and without a thread of libuv's pool, until a System V
 * message queue holds a message of a given type. A queue is not a descriptor and msgrcv(2) has no
 * timed form, so each wait in flight gets a msgrcv-waiter thread of its own (a worker_threads Worker
 * running msgrcv_waiter_thread.ts; idle ones are reused), up to MAX_MSGRCV_THREADS per JavaScript
 * thread; past that, waits look again on a timer, from 1 ms up to RETRY_MAX_MS apart (timeouts.ts). Why this
 * design: WAITING.md.
 *
 * The thread never takes a message with text: it reports that one is there, and the caller takes it
 * with msgrcv(IPC_NOWAIT) on its own thread (see the thread's comment). So an abort or a timeout,
 * which settle the promise at once, can lose nothing; the thread is interrupted with `wakeSignal()`,
 * and may be given the next wait at once.
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { toAddress } from "../ffi/libc.ts";
import { Errno, errnoError, isSystemError } from "../libc/errno.ts";
import { futexWake } from "../libc/linux/futex.ts";
import { installNoopHandler, pthread_kill, SIGRTMAX } from "../libc/signal.ts";
import { IPC_NOWAIT } from "../libc/sys/ipc.ts";
import { MSGBUF_HEADER_SIZE, MSG_EXCEPT, msgbufType, msgrcv } from "../libc/sys/msg.ts";
import { abortReason, retryWithBackoff } from "./timeouts.ts";

/** The most msgrcv-waiter threads one JavaScript thread starts. */
export const MAX_MSGRCV_THREADS = 16;
/** How often a cancelled wait's thread is signalled again until it answers (a signal may come just before its msgrcv). */
const KICK_MS = 5;

/** The signal that interrupts a waiter thread's msgrcv: SIGRTMAX − 2, given a handler that does nothing. */
export function wakeSignal(): number {
  return SIGRTMAX() - 2;
}

/** What a msgrcv-waiter thread is given in `workerData`. */
export interface MsgrcvWaiterThreadData {
  port: MessagePort;
  /** Int32 words (the job wanted, the doorbell, busy), then at byte 16 the thread's pthread_t (see the thread). */
  state: SharedArrayBuffer;
  wakeSignal: number;
}

/** One wait for a thread: its id, the queue's id, the type, the flags (only MSG_EXCEPT counts). */
export type MsgrcvJob = [jobId: number, msqid: number, msgtyp: number, flags: number];
/**
 * How a thread's job ended: "ready" (a message with text is there), "taken" (a message without
 * text was taken: its type is in `type`), "cancelled", or "failed" (`errno` is the error code).
 */
export interface MsgrcvReport {
  jobId: number;
  outcome: "ready" | "taken" | "cancelled" | "failed";
  type?: number;
  errno?: string;
}

/** What a wait resolves with: a message is there to take, or one without text was taken (its type). */
export type MessageArrival = { taken: false } | { taken: true; type: number };

const JOB = 0;
const DOORBELL = 1;
const BUSY = 2;

// See word_waiter.ts: in the workspace the thread runs the build's copy.
const threadUrl = new URL(import.meta.url.endsWith(".ts") ? "../../dist/ipc/msgrcv_waiter_thread.js" : "./msgrcv_waiter_thread.js", import.meta.url);

/**
 * Resolves once queue `msqid` holds a message that msgrcv with `msgtyp` and `flags` (MSG_EXCEPT)
 * would take, or with the message without text it took; false after `timeoutMs`. Rejects with the
 * signal's reason on abort, or with msgrcv's error (EIDRM when the queue is removed meanwhile). The
 * caller has already looked once with IPC_NOWAIT.
 */
export function messageArrival(msqid: number, msgtyp: number, flags: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<MessageArrival | false> {
  const thread = threads.find((candidate) => candidate.idle) ?? (threads.length < MAX_MSGRCV_THREADS ? startThread() : null);
  if (thread === null) return pollArrival(msqid, msgtyp, flags, options);
  return thread.run(msqid, msgtyp, flags & MSG_EXCEPT, options);
}

const threads: MsgrcvThread[] = [];
let nextJobId = 1;

function startThread(): MsgrcvThread {
  installNoopHandler(wakeSignal());
  const thread = new MsgrcvThread();
  threads.push(thread);
  if (threads.length === 1) process.once("exit", () => {
    for (const each of threads) each.stop();
  });
  return thread;
}

const probe = new Uint8Array(MSGBUF_HEADER_SIZE);

function pollArrival(msqid: number, msgtyp: number, flags: number, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<MessageArrival | false> {
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
  return retryWithBackoff(look, options).then((arrival) => arrival ?? false);
}

/**
 * One msgrcv-waiter thread, seen from the thread that started it. It takes a new job as soon as the
 * last one is settled: a cancelled job ends on the thread shortly after (see the thread's comment).
 */
class MsgrcvThread {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #shared = new SharedArrayBuffer(24);
  readonly #state = new Int32Array(this.#shared, 0, 3);
  readonly #pthread = new BigUint64Array(this.#shared, 16, 1);
  readonly #doorbellAddress = toAddress(this.#state) + BigInt(DOORBELL * 4);
  /** How to settle the job not yet settled, if any. */
  #settle: ((report: MsgrcvReport) => void) | null = null;
  /** Jobs cancelled here whose end the thread has not reported yet: the thread is signalled until it does. */
  readonly #cancelled = new Set<number>();
  #kicks: ReturnType<typeof setInterval> | undefined;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    const data: MsgrcvWaiterThreadData = { port: port2, state: this.#shared, wakeSignal: wakeSignal() };
    this.#worker = new Worker(threadUrl, { workerData: data, transferList: [port2], stdout: false, stderr: false });
    this.#worker.unref();
    this.#worker.on("error", (error) => {
      threads.splice(threads.indexOf(this), 1);
      clearInterval(this.#kicks);
      this.#settle?.({ jobId: 0, outcome: "failed", errno: error.message });
    });
    this.#port = port1;
    this.#port.on("message", (report: MsgrcvReport) => {
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

  run(msqid: number, msgtyp: number, flags: number, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<MessageArrival | false> {
    const jobId = nextJobId++;
    Atomics.store(this.#state, JOB, jobId);
    this.#post({ job: [jobId, msqid, msgtyp, flags] satisfies MsgrcvJob });
    this.#port.ref();
    const { signal, timeoutMs } = options;
    return new Promise<MessageArrival | false>((resolve, reject) => {
      const settle = (outcome: { arrival: MessageArrival | false } | { error: Error }): void => {
        this.#settle = null;
        this.#port.unref();
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if ("error" in outcome) reject(outcome.error);
        else resolve(outcome.arrival);
      };
      // Settles now unless the thread has already found a message (then its report is on its way).
      const cancel = (outcome: { arrival: false } | { error: Error }): void => {
        if (Atomics.compareExchange(this.#state, JOB, jobId, 0) !== jobId) return;
        this.#cancelled.add(jobId);
        settle(outcome);
        this.#kick();
      };
      const onAbort = (): void => cancel({ error: abortReason(signal!) });
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => cancel({ arrival: false }), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#settle = (report) => {
        if (report.outcome === "ready") settle({ arrival: { taken: false } });
        else if (report.outcome === "taken") settle({ arrival: { taken: true, type: report.type! } });
        else if (report.outcome === "failed") settle({ error: failure(report.errno!, msqid) });
      };
    });
  }

  /** Interrupts the thread's msgrcv, again every KICK_MS until it has reported every cancelled job. */
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

  /** Tells the thread to end, interrupting the wait it may be in (called on exit, when no timer runs). */
  stop(): void {
    Atomics.store(this.#state, JOB, 0);
    this.#post({ stop: true });
    const thread = this.#pthread[0]!;
    if (thread === 0n) return;
    // Until it leaves msgrcv: a signal that comes just before the call is not enough.
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 20 && Atomics.load(this.#state, BUSY) === 1; i++) {
      pthread_kill(thread, wakeSignal());
      Atomics.wait(pause, 0, 0, 1);
    }
  }

  #post(message: object): void {
    this.#port.postMessage(message);
    Atomics.add(this.#state, DOORBELL, 1);
    futexWake(this.#doorbellAddress, 1);
  }
}

function failure(code: string, msqid: number): Error {
  const errno = (Errno as Record<string, number>)[code];
  return errno === undefined ? new Error(`msgrcv on a waiter thread failed: ${code}`) : errnoError("msgrcv", { path: `id ${msqid}` }, errno);
}
