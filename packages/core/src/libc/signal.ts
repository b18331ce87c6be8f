/**
 * `<signal.h>`: only what Node itself does not offer. Node handles signals through `process.on`,
 * but it cannot ignore one: at start-up Node resets every inherited SIG_IGN (but SIGPIPE's and
 * SIGXFSZ's) to SIG_DFL, so a program started under `nohup` would die of SIGHUP. `signal(sig,
 * SIG_IGN)` puts the disposition back. And `pthread_sigmask`: which signals may interrupt this
 * thread (ipc/interrupts.ts lets only the termination signals end a sync wait with it).
 */
import { checkInt32 } from "../ffi/checks.ts";
import { libc } from "../ffi/libc.ts";
import { SystemError, check, errnoError } from "./errno.ts";

/** The default action of a signal (`(sighandler_t) 0`). */
export const SIG_DFL = 0;
/** Ignore the signal (`(sighandler_t) 1`): the kernel discards it when it is sent. */
export const SIG_IGN = 1;
/** What signal() returns on failure (`(sighandler_t) -1`). */
const SIG_ERR = -1;

const signal_c = libc.func("intptr_t signal(int signum, intptr_t handler)");
const sigfillset_c = libc.func("int sigfillset(_Out_ void *set)");
const sigdelset_c = libc.func("int sigdelset(void *set, int signum)");
const pthread_sigmask_c = libc.func("int pthread_sigmask(int how, const void *set, void *oldset)");

/** pthread_sigmask `how`: add the set's signals to the blocked ones. */
export const SIG_BLOCK = 0;
/** pthread_sigmask `how`: remove the set's signals from the blocked ones. */
export const SIG_UNBLOCK = 1;
/** pthread_sigmask `how`: block exactly the set's signals. */
export const SIG_SETMASK = 2;
/** The size of glibc's `sigset_t` (1,024 bits; the kernel uses the first 64). */
export const SIGSET_T_SIZE = 128;

/**
 * signal(2) restricted to SIG_IGN and SIG_DFL (a JavaScript function cannot be a C signal
 * handler). Returns the previous disposition: SIG_DFL, SIG_IGN or the address of a handler. Setting
 * SIG_DFL on a signal Node listens to would take it from Node: use it only to undo your SIG_IGN.
 * @see https://man7.org/linux/man-pages/man2/signal.2.html
 */
export function signal(signum: number, disposition: typeof SIG_DFL | typeof SIG_IGN): number | bigint {
  checkInt32(signum, "signum");
  const previous = signal_c(signum, disposition) as number | bigint;
  if (previous === SIG_ERR || previous === BigInt(SIG_ERR)) throw errnoError("signal");
  return previous;
}

/**
 * sigfillset(3): a new `sigset_t` holding every signal (glibc leaves out the two it keeps for its
 * threads).
 *
 * @see https://man7.org/linux/man-pages/man3/sigsetops.3.html
 */
export function sigfillset(): Uint8Array {
  const set = new Uint8Array(SIGSET_T_SIZE);
  check(sigfillset_c(set) as number, "sigfillset");
  return set;
}

/**
 * sigdelset(3): removes `signum` from `set`.
 *
 * @see https://man7.org/linux/man-pages/man3/sigsetops.3.html
 */
export function sigdelset(set: Uint8Array, signum: number): void {
  checkInt32(signum, "signum");
  if (set.byteLength < SIGSET_T_SIZE) throw new RangeError(`a sigset_t takes ${SIGSET_T_SIZE} bytes, not ${set.byteLength}`);
  check(sigdelset_c(set, signum) as number, "sigdelset");
}

/**
 * pthread_sigmask(3): changes which signals are blocked in the calling thread (`how`: SIG_BLOCK,
 * SIG_UNBLOCK or SIG_SETMASK with `set`; null only reads), and stores the mask it had in `oldset`
 * when given. A signal sent to the process while this thread blocks it goes to another thread that
 * does not, or waits.
 *
 * @see https://man7.org/linux/man-pages/man3/pthread_sigmask.3.html
 */
export function pthread_sigmask(how: number, set: Uint8Array | null, oldset: Uint8Array | null = null): void {
  checkInt32(how, "how");
  for (const buffer of [set, oldset]) {
    if (buffer !== null && buffer.byteLength < SIGSET_T_SIZE) throw new RangeError(`a sigset_t takes ${SIGSET_T_SIZE} bytes, not ${buffer.byteLength}`);
  }
  // It returns the error number instead of setting errno.
  const errno = pthread_sigmask_c(how, set, oldset) as number;
  if (errno !== 0) throw new SystemError(errno, "pthread_sigmask");
}
