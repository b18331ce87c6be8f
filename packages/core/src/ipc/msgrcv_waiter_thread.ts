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
 * Shared with the starting thread: the job word (IDLE → RUNNING there, → DONE here or CANCELLED
 * there, → IDLE here), the doorbell word, and this thread's pthread_t, written once at start.
 */
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { toAddress } from "../ffi/libc.ts";
import { isSystemError } from "../libc/errno.ts";
import { futexWaitOnce } from "../libc/linux/futex.ts";
import { pthread_self, pthread_sigmask, SIGSET_T_SIZE, SIG_UNBLOCK } from "../libc/signal.ts";
import { MSGBUF_HEADER_SIZE, MSG_EXCEPT, msgbufType, msgrcv, msgsnd } from "../libc/sys/msg.ts";
import type { MsgrcvJob, MsgrcvReport, MsgrcvWaiterThreadData } from "./msgrcv_waiter.ts";

// The same values as in msgrcv_waiter.ts, which this thread must not load (it would start its own threads).
const JOB = 0;
const DOORBELL = 1;
const IDLE = 0;
const RUNNING = 1;
const DONE = 2;
const CANCELLED = 3;

const { port, state: stateBuffer, wakeSignal } = workerData as MsgrcvWaiterThreadData;
const state = new Int32Array(stateBuffer, 0, 2);
new BigUint64Array(stateBuffer, 8, 1)[0] = pthread_self();
const doorbellAddress = toAddress(state) + BigInt(DOORBELL * 4);
const empty = new Uint8Array(MSGBUF_HEADER_SIZE);

const wake = new Uint8Array(SIGSET_T_SIZE);
// sigaddset by hand: bit (signum - 1) of the first word, as glibc lays out sigset_t.
wake[(wakeSignal - 1) >> 3]! |= 1 << ((wakeSignal - 1) & 7);
pthread_sigmask(SIG_UNBLOCK, wake);

for (;;) {
  const job = nextJob();
  if (job === null) break;
  port.postMessage(perform(job));
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
      futexWaitOnce(doorbellAddress, rung);
    }
  }
}

function perform([jobId, msqid, msgtyp, flags]: MsgrcvJob): MsgrcvReport {
  try {
    for (;;) {
      if (Atomics.load(state, JOB) === CANCELLED) return finish({ jobId, outcome: "cancelled" });
      try {
        msgrcv(msqid, empty, 0, msgtyp, flags & MSG_EXCEPT);
      } catch (error) {
        if (isSystemError(error, "EINTR")) continue;
        if (!isSystemError(error, "E2BIG")) throw error;
        const outcome = Atomics.compareExchange(state, JOB, RUNNING, DONE) === RUNNING ? "ready" : "cancelled";
        return finish({ jobId, outcome });
      }
      // A message without text fitted, and was taken.
      const type = msgbufType(empty);
      if (Atomics.compareExchange(state, JOB, RUNNING, DONE) === RUNNING) return finish({ jobId, outcome: "taken", type });
      putBack(msqid);
      return finish({ jobId, outcome: "cancelled" });
    }
  } catch (error) {
    return finish({ jobId, outcome: "failed", errno: (error as { code?: string }).code ?? String(error) });
  }
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

function finish(report: MsgrcvReport): MsgrcvReport {
  Atomics.store(state, JOB, IDLE);
  return report;
}
