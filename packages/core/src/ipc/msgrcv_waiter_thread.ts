/**
 * The body of one msgrcv-waiter thread (see msgrcv_waiter.ts): it waits, one job at a time, until
 * a System V queue holds a message of the type asked, without taking it. It sleeps in msgrcv(2)
 * with room for no text and without MSG_NOERROR: the kernel then wakes it with E2BIG and leaves the
 * message queued, for the starting thread to take with one msgrcv(IPC_NOWAIT). Only a message
 * with no text at all fits; the thread takes it and hands it over, or sends it back if the wait was
 * cancelled meanwhile.
 *
 * msgrcv has no timeout, so a cancelled wait is interrupted by a signal sent to this thread
 * (pthread_kill), whose handler does nothing: msgrcv then fails with EINTR, since the kernel never
 * restarts it (signal(7)).
 *
 * Shared with the starting thread: the job word (the id of the job wanted, set there; 0 once that
 * thread cancels it; minus the id once this thread has found its message, so a cancel comes too
 * late), the doorbell word, the busy word (1 while a job runs here), and this thread's pthread_t,
 * written once at start. The job word lets the starting thread post the next job as soon as it has
 * cancelled one: this thread sees the word change, ends the old job and takes the new one.
 */
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { toAddress } from "../ffi/libc.ts";
import { isSystemError } from "../libc/errno.ts";
import { futexWaitOnce } from "../libc/linux/futex.ts";
import { gettid, pthread_self, pthread_sigmask, sigaddset, sigemptyset, sigeventForThread, SIG_UNBLOCK } from "../libc/signal.ts";
import { CLOCK_MONOTONIC, timer_create, timer_settime } from "../libc/time.ts";
import { MSGBUF_HEADER_SIZE, MSG_EXCEPT, msgbufType, msgrcv, msgsnd } from "../libc/sys/msg.ts";
import type { MsgrcvJob, MsgrcvReport, MsgrcvWaiterThreadData } from "./msgrcv_waiter.ts";

// The same values as in msgrcv_waiter.ts, which this thread must not load (it would start its own threads).
const JOB = 0;
const DOORBELL = 1;
const BUSY = 2;
// How long this thread sleeps at most, in msgrcv or waiting for a job: terminating the Worker that
// started it waits for it to run JavaScript again, and that Worker's exit listener, which would stop
// it, does not always run first.
const SLICE_MS = 100;

const { port, state: stateBuffer, wakeSignal } = workerData as MsgrcvWaiterThreadData;
const state = new Int32Array(stateBuffer, 0, 3);
new BigUint64Array(stateBuffer, 16, 1)[0] = pthread_self();
const doorbellAddress = toAddress(state) + BigInt(DOORBELL * 4);
const empty = new Uint8Array(MSGBUF_HEADER_SIZE);

const wake = sigemptyset();
sigaddset(wake, wakeSignal);
pthread_sigmask(SIG_UNBLOCK, wake);
// msgrcv has no timeout: a timer signals this thread every SLICE_MS while a job runs.
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
function nextJob(): MsgrcvJob | null {
  for (;;) {
    const rung = Atomics.load(state, DOORBELL);
    const message = receiveMessageOnPort(port);
    if (message !== undefined) {
      const { job, stop } = message.message as { job?: MsgrcvJob; stop?: boolean };
      if (stop) return null;
      if (job !== undefined) return job;
    } else {
      futexWaitOnce(doorbellAddress, rung, SLICE_MS);
    }
  }
}

function perform([jobId, msqid, msgtyp, flags]: MsgrcvJob): MsgrcvReport {
  try {
    for (;;) {
      if (Atomics.load(state, JOB) !== jobId) return { jobId, outcome: "cancelled" };
      try {
        msgrcv(msqid, empty, 0, msgtyp, flags & MSG_EXCEPT);
      } catch (error) {
        if (isSystemError(error, "EINTR")) continue;
        if (!isSystemError(error, "E2BIG")) throw error;
        return { jobId, outcome: claim(jobId) ? "ready" : "cancelled" };
      }
      // A message without text fitted, and was taken.
      if (claim(jobId)) return { jobId, outcome: "taken", type: msgbufType(empty) };
      putBack(msqid);
      return { jobId, outcome: "cancelled" };
    }
  } catch (error) {
    return { jobId, outcome: "failed", errno: (error as { code?: string }).code ?? String(error) };
  }
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
