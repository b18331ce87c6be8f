/**
 * The body of one semop-waiter thread (see semop_waiter.ts): it performs one blocking semtimedop(2)
 * at a time for the thread that started it. System V semaphores have no futex word and no
 * descriptor, so a wait on one needs a thread of its own. The operation sleeps in slices of
 * `sliceMs` so that a cancelled one (an abort or a timeout on the starting thread) frees the
 * thread soon; if it completed after all, it is reverted, and the starting thread has already
 * settled its promise.
 *
 * Two words are shared with the starting thread. The job word goes IDLE → RUNNING (set there with
 * each job) → DONE (set here) or CANCELLED (set there), then back to IDLE. The doorbell word is
 * bumped and woken there after each message: `{ job: [jobId, semid, ops] }` or `{ stop: true }`.
 * Messages out: one SemopReport per job.
 */
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { futexWaitOnce } from "../libc/linux/futex.ts";
import { TERMINATION_CHECK_MS } from "./word_waiter.ts";
import { IPC_NOWAIT } from "../libc/sys/ipc.ts";
import { semop, semtimedop, type SemOp } from "../libc/sys/sem.ts";
import { isSystemError } from "../libc/errno.ts";
import { toAddress } from "../ffi/libc.ts";
import { CANCELLED, DONE, DOORBELL, IDLE, JOB, RUNNING, type SemopJob, type SemopOutcome, type SemopReport, type SemopWaiterThreadData } from "./semop_waiter.ts";

const { port, state: stateBuffer, sliceMs } = workerData as SemopWaiterThreadData;
const state = new Int32Array(stateBuffer);
const doorbellAddress = toAddress(state) + BigInt(DOORBELL * 4);

for (;;) {
  const job = nextJob();
  if (job === null) break;
  const [jobId, semid, ops] = job;
  port.postMessage(perform(semid, ops, jobId));
}
port.close();

/** Sleeps on the doorbell word until a job (or stop) arrives. */
function nextJob(): SemopJob | null {
  for (;;) {
    const rung = Atomics.load(state, DOORBELL);
    const message = receiveMessageOnPort(port);
    if (message !== undefined) {
      const { job, stop } = message.message as { job?: SemopJob; stop?: boolean };
      if (stop) return null;
      if (job !== undefined) return job;
    } else {
      futexWaitOnce(doorbellAddress, rung, TERMINATION_CHECK_MS);
    }
  }
}

function perform(semid: number, ops: SemOp[], jobId: number): SemopReport {
  try {
    for (;;) {
      if (Atomics.load(state, JOB) === CANCELLED) return finish(jobId, "cancelled");
      let done: boolean;
      try {
        done = semtimedop(semid, ops, sliceMs);
      } catch (error) {
        if (isSystemError(error, "EINTR")) continue;
        throw error;
      }
      if (!done) continue;
      if (Atomics.compareExchange(state, JOB, RUNNING, DONE) === RUNNING) return finish(jobId, "done");
      // Cancelled while the operations went through: give back what they took.
      semop(semid, ops.filter((op) => op.op !== 0).map((op) => ({ ...op, op: -op.op, flags: (op.flags ?? 0) | IPC_NOWAIT })));
      return finish(jobId, "cancelled");
    }
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    return finish(jobId, "failed", code);
  }
}

function finish(jobId: number, outcome: SemopOutcome, errno?: string): SemopReport {
  Atomics.store(state, JOB, IDLE);
  return errno === undefined ? { jobId, outcome } : { jobId, outcome, errno };
}
