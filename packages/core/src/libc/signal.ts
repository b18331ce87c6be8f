/**
 * `<signal.h>`: only what Node itself does not offer. Node handles signals through `process.on`,
 * but it cannot ignore one: at start-up Node resets every inherited SIG_IGN (but SIGPIPE's and
 * SIGXFSZ's) to SIG_DFL, so a program started under `nohup` would die of SIGHUP. `signal(sig,
 * SIG_IGN)` puts the disposition back. And `pthread_sigmask`: which signals may interrupt this
 * thread (ipc/interrupts.ts lets only the termination signals end a sync wait with it).
 */
import { checkInt32 } from "../ffi/checks.ts";
import { libc } from "../ffi/libc.ts";
import { defineStruct } from "../ffi/struct.ts";
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
const sigemptyset_c = libc.func("int sigemptyset(_Out_ void *set)");
const sigaddset_c = libc.func("int sigaddset(void *set, int signum)");
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
 * sigemptyset(3): a new, empty `sigset_t`.
 *
 * @see https://man7.org/linux/man-pages/man3/sigsetops.3.html
 */
export function sigemptyset(): Uint8Array {
  const set = new Uint8Array(SIGSET_T_SIZE);
  check(sigemptyset_c(set) as number, "sigemptyset");
  return set;
}

/**
 * sigaddset(3): adds `signum` to `set`.
 *
 * @see https://man7.org/linux/man-pages/man3/sigsetops.3.html
 */
export function sigaddset(set: Uint8Array, signum: number): void {
  checkInt32(signum, "signum");
  if (set.byteLength < SIGSET_T_SIZE) throw new RangeError(`a sigset_t takes ${SIGSET_T_SIZE} bytes, not ${set.byteLength}`);
  check(sigaddset_c(set, signum) as number, "sigaddset");
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

const sigrtmin_c = libc.func("int __libc_current_sigrtmin(void)");
const sigrtmax_c = libc.func("int __libc_current_sigrtmax(void)");
const pthread_self_c = libc.func("uint64_t pthread_self(void)");
const pthread_kill_c = libc.func("int pthread_kill(uint64_t thread, int sig)");
const dlsym_c = libc.func("intptr_t dlsym(intptr_t handle, const char *symbol)");

/**
 * SIGRTMIN: the lowest real-time signal an application may use (glibc keeps the first two for
 * itself). A function, as the C macro calls one.
 *
 * @see https://man7.org/linux/man-pages/man7/signal.7.html
 */
export function SIGRTMIN(): number {
  return sigrtmin_c() as number;
}

/**
 * SIGRTMAX: the highest real-time signal.
 *
 * @see https://man7.org/linux/man-pages/man7/signal.7.html
 */
export function SIGRTMAX(): number {
  return sigrtmax_c() as number;
}

/**
 * pthread_self(3): the calling thread's id, for pthread_kill.
 *
 * @see https://man7.org/linux/man-pages/man3/pthread_self.3.html
 */
export function pthread_self(): bigint {
  return BigInt(pthread_self_c() as number | bigint);
}

/**
 * pthread_kill(3): sends `signum` to one thread of this process.
 *
 * @see https://man7.org/linux/man-pages/man3/pthread_kill.3.html
 */
export function pthread_kill(thread: bigint, signum: number): void {
  checkInt32(signum, "signum");
  const errno = pthread_kill_c(thread, signum) as number;
  if (errno !== 0) throw new SystemError(errno, "pthread_kill");
}

let noopHandler: bigint | null = null;

/**
 * Gives `signum` a C handler that does nothing, so that sending it to a thread (pthread_kill) only
 * ends that thread's interruptible sleep with EINTR (msgrcv, msgsnd, semop are never restarted:
 * signal(7)) instead of being ignored or killing the process. Node cannot install such a handler
 * (a JavaScript listener runs later, on the event loop). The handler is glibc's getpid, which
 * ignores the signal number it is given and is async-signal-safe. Refuses a signal that already has
 * another handler; installing it twice is not an error.
 *
 * @see https://man7.org/linux/man-pages/man2/signal.2.html
 */
export function installNoopHandler(signum: number): void {
  checkInt32(signum, "signum");
  noopHandler ??= BigInt(dlsym_c(0, "getpid") as number | bigint);
  const previous = BigInt(signal_c(signum, noopHandler) as number | bigint);
  if (previous === BigInt(SIG_ERR)) throw errnoError("signal");
  if (previous !== BigInt(SIG_DFL) && previous !== noopHandler) {
    signal_c(signum, previous);
    throw new Error(`signal ${signum} already has a handler: core needs it to interrupt its waiter threads' blocked System V calls (see ipc/blocking_waiter.ts)`);
  }
}

/** `struct sigevent` (64 bytes on Linux): how mq_notify and timer_create notify. */
export const Sigevent = defineStruct("sigevent", {
  sigev_value: "int64",
  sigev_signo: "int32",
  sigev_notify: "int32",
  _sigev_un: { char: 48 },
});

/** sigev_notify: deliver a signal (`signo`, with `value` in its siginfo). */
export const SIGEV_SIGNAL = 0;
/** sigev_notify: no notification; mq_notify still takes the registration from other processes. */
export const SIGEV_NONE = 1;
/** sigev_notify: run a function on a new thread (not available from JavaScript: see mq_notify). */
export const SIGEV_THREAD = 2;
/** sigev_notify (Linux): deliver the signal to the thread whose id (`gettid`) is in `_sigev_un`. */
export const SIGEV_THREAD_ID = 4;

const gettid_c = libc.func("int gettid(void)");

/**
 * gettid(2): the calling thread's kernel id (the process id on the main thread).
 *
 * @see https://man7.org/linux/man-pages/man2/gettid.2.html
 */
export function gettid(): number {
  return gettid_c() as number;
}

/** A `struct sigevent` that sends `signo` to the thread `tid` (SIGEV_THREAD_ID), for timer_create. */
export function sigeventForThread(signo: number, tid: number): Uint8Array {
  const event = new Uint8Array(Sigevent.size);
  const view = Sigevent.at(event);
  view.sigev_signo = checkInt32(signo, "signo");
  view.sigev_notify = SIGEV_THREAD_ID;
  new DataView(event.buffer).setInt32(Sigevent.offsets._sigev_un, checkInt32(tid, "tid"), true);
  return event;
}
