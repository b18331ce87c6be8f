/**
 * What a sync wait of core does when a signal comes: the one policy that every wait which blocks the
 * thread follows (`SemaphoreSet` acquire/op/lock, `FutexWord.wait`, `FutexMutex.lock`, the POSIX
 * semaphores' `wait`, the ring's peek/receive/reserve/send/flush, the message queues' send/receive,
 * `readSync`).
 *
 * Why it is needed: Node runs a signal's JavaScript listener on the event loop, which a sync wait
 * holds. libuv's C handler runs at once, and the kernel then either restarts the sleep by itself
 * (libuv installs its handler with SA_RESTART: read(2) of a pipe, a FIFO's open(2), a futex wait or
 * sem_wait without a timeout) or fails it with EINTR (semop, poll, timed futex waits: signal(7)),
 * which the waits used to retry. Either way the listener never ran: SIGINT and SIGTERM did nothing,
 * only SIGKILL ended the program, and its IPC objects stayed behind.
 *
 * The policy, C's EINTR made usable from JavaScript:
 * - When this process listens (`process.on`) for SIGINT, SIGTERM or SIGHUP, a sync wait that one of
 *   them interrupts throws a SystemError with code EINTR, having done nothing (no semaphore taken,
 *   no byte read). The kernel hands a signal sent to the process to its main thread when that
 *   thread sleeps and does not block it, so that is the sleep it interrupts. The stack unwinds, and
 *   the listener runs once the event loop polls: a program lets it run before it reports the error
 *   (`runMain` of the programs' layer waits for the next turn's check phase), so its cleanup runs
 *   and it ends as its listener decides.
 * - No other signal ends a wait, even one with a listener: SIGCHLD (libuv handles it once a child has
 *   been spawned), SIGWINCH (Node listens to it when stdout is a terminal), SIGUSR2… While such a
 *   wait sleeps, its thread blocks every signal but those three and the faults, so the kernel hands
 *   the others to another of Node's threads (libuv's handler only writes to a pipe, from any
 *   thread), the sleep goes on, and their listeners run after the wait. Without the mask, resizing
 *   the terminal would end a wait with EINTR, as it would end a semop in C.
 * - Without a listener for any of the three, nothing changes: such a signal ends the process (its
 *   default), and an EINTR from another handler (a native addon's) is retried.
 * - In a worker thread, waits retry EINTR: Node delivers signals to the main thread's listeners.
 *
 * Sleeps the kernel would restart are made of calls it never restarts: a futex wait or sem_clockwait
 * with a finite timeout (at most INTERRUPTIBLE_SLICE_MS, re-armed until the wait's own deadline), and
 * poll(2) before a read(2). As in C, a signal that comes while the thread is between two system calls
 * of a wait, not asleep, interrupts nothing: the wait ends when it would have (pselect and ppoll
 * change the mask atomically for that; semop and futex cannot). libuv's handler has taken it by
 * then, so nothing is left for the next sleep to see. Waits that check on a peer between sleeps (the
 * ring's and FutexMutex's, every PEER_CHECK_MS) are between two calls after each of them (measured
 * with both CPUs busy: about 0.8 ms of every 100 ms, most of it waiting for a CPU): a signal that
 * lands then leaves a wait without a deadline asleep until a second signal ends it. A SIGHUP sent
 * while a FutexMutex.lock was awake between two sleeps was missed 10 times in 10.
 */
import { isMainThread } from "node:worker_threads";
import { constants } from "node:os";
import type { SystemError } from "../libc/errno.ts";
import { pthread_sigmask, sigdelset, sigfillset, SIGSET_T_SIZE, SIG_BLOCK, SIG_SETMASK } from "../libc/signal.ts";

const TERMINATION_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
// The kernel sends a fault to the thread that caused it, blocked or not (and then kills the process
// instead of running the handler, V8's included): blocking them could only turn a fault into a crash.
const FAULTS = ["SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS"] as const;

/**
 * The longest single sleep of a sync wait without a deadline: any finite timeout makes the kernel
 * fail a futex wait with EINTR instead of restarting it; the sleep is then re-armed.
 */
export const INTERRUPTIBLE_SLICE_MS = 3_600_000;

let allButTermination: Uint8Array | null = null;
// The mask to restore, and how many sleeps are under way (one wait's sleep may hold another's).
const maskBefore = new Uint8Array(SIGSET_T_SIZE);
let sleeping = 0;

/** Whether an EINTR ends a sync wait here (see the module comment). */
function interruptsEndWaits(): boolean {
  return isMainThread && TERMINATION_SIGNALS.some((name) => process.listenerCount(name) > 0);
}

const unchanged: Disposable = { [Symbol.dispose]() {} };
const restore: Disposable = {
  [Symbol.dispose]() {
    if (--sleeping === 0) pthread_sigmask(SIG_SETMASK, maskBefore);
  },
};

/**
 * Brackets the sleeping part of a sync wait (`using _sleeping = interruptibleSleep()`, the
 * underscore saying it is held only to be disposed): while interrupts end waits, only SIGINT,
 * SIGTERM and SIGHUP (and faults) can interrupt this thread until it is disposed, which restores the
 * signal mask.
 */
export function interruptibleSleep(): Disposable {
  if (!interruptsEndWaits()) return unchanged;
  if (allButTermination === null) {
    const set = sigfillset();
    for (const name of [...TERMINATION_SIGNALS, ...FAULTS]) sigdelset(set, constants.signals[name]);
    allButTermination = set;
  }
  if (sleeping === 0) pthread_sigmask(SIG_BLOCK, allButTermination, maskBefore);
  sleeping++;
  return restore;
}

/**
 * What a sync wait does when its sleep failed with EINTR (`error`): throws it when this process
 * listens for SIGINT, SIGTERM or SIGHUP (on the main thread), returns otherwise, and the wait
 * sleeps again.
 */
export function interrupted(error: SystemError): void {
  if (interruptsEndWaits()) throw error;
}
