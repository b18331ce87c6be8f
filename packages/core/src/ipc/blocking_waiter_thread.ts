/**
 * The body of one blocking-call waiter thread (see blocking_waiter.ts): one job at a time, it
 * makes a blocking System V call for the thread that started it.
 * - semtimedop, with no time limit: the operations themselves. If the wait was cancelled while they went through, they are
 *   reverted here; the starting thread has already settled its promise.
 * - msgrcv: it waits until the queue holds a message of the type asked, without taking it. It
 *   sleeps in msgrcv(2) with room for no text and without MSG_NOERROR: the kernel then wakes it with
 *   E2BIG and leaves the message queued, for the starting thread to take with one
 *   msgrcv(IPC_NOWAIT). Only a message with no text at all fits; the thread takes it and hands it
 *   over, or sends it back if the wait was cancelled meanwhile.
 *
 * Neither call has a timeout this thread could use (semtimedop has, msgrcv has not), so the thread
 * is interrupted by a signal of its own, whose handler does nothing: the call fails with EINTR,
 * since the kernel never restarts System V IPC calls (signal(7)). The starting thread sends it
 * (pthread_kill) to cancel a job, and a POSIX timer sends it every SLICE_MS while a job runs.
 *
 * Shared with the starting thread: the job word (the id of the job wanted, set there; 0 once that
 * thread cancels it; minus the id once this thread has claimed it, so a cancel comes too late), the
 * doorbell word, the busy word (1 while a job runs here), and this thread's pthread_t, written once
 * at start. Messages in: `{ job: BlockingJob }` or `{ stop: true }`; out: one BlockingReport per job.
 */
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { toAddress } from "../ffi/libc.ts";
import { isSystemError } from "../libc/errno.ts";
import { futexWaitOnce } from "../libc/linux/futex.ts";
import { gettid, pthread_self, pthread_sigmask, sigaddset, sigemptyset, sigeventForThread, SIG_UNBLOCK } from "../libc/signal.ts";
import { IPC_NOWAIT } from "../libc/sys/ipc.ts";
import { MSGBUF_HEADER_SIZE, msgbufType, msgrcv, msgsnd } from "../libc/sys/msg.ts";
import { semop, semtimedop } from "../libc/sys/sem.ts";
import { CLOCK_MONOTONIC, timer_create, timer_settime } from "../libc/time.ts";
import { BUSY, DOORBELL, JOB, PTHREAD_OFFSET, type BlockingCall, type BlockingJob, type BlockingReport, type BlockingWaiterThreadData } from "./blocking_waiter.ts";

// How long this thread sleeps at most, in its call or waiting for a job: terminating the Worker
// that started it waits for it to run JavaScript again, and that Worker's exit listener, which would
// stop it, does not always run first.
const SLICE_MS = 100;

const { port, state: stateBuffer, wakeSignal } = workerData as BlockingWaiterThreadData;
const state = new Int32Array(stateBuffer, 0, 3);
new BigUint64Array(stateBuffer, PTHREAD_OFFSET, 1)[0] = pthread_self();
const doorbellAddress = toAddress(state) + BigInt(DOORBELL * 4);
const empty = new Uint8Array(MSGBUF_HEADER_SIZE);

const wake = sigemptyset();
sigaddset(wake, wakeSignal);
pthread_sigmask(SIG_UNBLOCK, wake);
const slices = timer_create(CLOCK_MONOTONIC, sigeventForThread(wakeSignal, gettid()));

for (;;) {
  const job = nextJob();
  if (job === null) break;
  Atomics.store(state, BUSY, 1);
  timer_settime(slices, SLICE_MS, SLICE_MS);
  const report = perform(job);
  timer_settime(slices, 0);
  Atomics.store(state, BUSY, 0);
  port.postMessage(report);
}
port.close();

/** Sleeps on the doorbell word until a job (or stop) arrives. */
function nextJob(): BlockingJob | null {
  for (;;) {
    const rung = Atomics.load(state, DOORBELL);
    const message = receiveMessageOnPort(port);
    if (message !== undefined) {
      const { job, stop } = message.message as { job?: BlockingJob; stop?: boolean };
      if (stop) return null;
      if (job !== undefined) return job;
    } else {
      futexWaitOnce(doorbellAddress, rung, SLICE_MS);
    }
  }
}

function perform([jobId, call]: BlockingJob): BlockingReport {
  try {
    for (;;) {
      if (Atomics.load(state, JOB) !== jobId) return { jobId, outcome: "cancelled" };
      try {
        return call.call === "semtimedop" ? performSemop(jobId, call) : performMsgrcv(jobId, call);
      } catch (error) {
        if (!isSystemError(error, "EINTR")) throw error;
      }
    }
  } catch (error) {
    return { jobId, outcome: "failed", errno: (error as { code?: string }).code ?? String(error) };
  }
}

function performSemop(jobId: number, { semid, ops }: BlockingCall & { call: "semtimedop" }): BlockingReport {
  semtimedop(semid, ops);
  if (claim(jobId)) return { jobId, outcome: "done" };
  // Cancelled while the operations went through: give back what they took.
  semop(
    semid,
    ops.filter((op) => op.op !== 0).map((op) => ({ ...op, op: -op.op, flags: (op.flags ?? 0) | IPC_NOWAIT })),
  );
  return { jobId, outcome: "cancelled" };
}

function performMsgrcv(jobId: number, { msqid, msgtyp, flags }: BlockingCall & { call: "msgrcv" }): BlockingReport {
  try {
    msgrcv(msqid, empty, 0, msgtyp, flags);
  } catch (error) {
    if (!isSystemError(error, "E2BIG")) throw error;
    return { jobId, outcome: claim(jobId) ? "done" : "cancelled" };
  }
  // A message without text fitted, and was taken.
  if (claim(jobId)) return { jobId, outcome: "taken", type: msgbufType(empty) };
  putBack(msqid);
  return { jobId, outcome: "cancelled" };
}

/** Marks the job done unless the starting thread has cancelled it first. */
function claim(jobId: number): boolean {
  return Atomics.compareExchange(state, JOB, jobId, -jobId) === jobId;
}

/** Sends back the message without text taken for a wait that was cancelled meanwhile. */
function putBack(msqid: number): void {
  for (;;) {
    try {
      msgsnd(msqid, empty, 0);
      return;
    } catch (error) {
      if (!isSystemError(error, "EINTR")) throw error;
    }
  }
}
