/**
 * <linux/futex.h>: sleep until a 32-bit word of shared memory changes, and wake the sleepers, across
 * processes. `FutexWord`, `FutexMutex` (a lock in shared memory built on it) and `futexWaitAsync`
 * are in ipc/futex_mutex.ts.
 *
 * Why not Atomics.wait/notify: V8 implements them with its own wait lists inside one process, so a
 * notify never reaches another process (and they refuse a koffi view, which is not a
 * SharedArrayBuffer). The other Atomics operations do work on an Int32Array over a koffi view of a
 * shared mapping, and they are atomic between processes (the futex test has two processes add to one
 * counter a million times each): in Node 20 the optimizing compiler calls V8's Atomics builtins for
 * them, which use the locked instructions (lock cmpxchg for add and compareExchange, xchg for store),
 * about 10 ns each. Use them for the fast path, and enter the kernel only to sleep: a futex
 * sleep/wake pair costs tens of microseconds, so callers spin briefly on `Atomics.load` first and
 * keep a "waiters" flag so the other side calls `wake` only when someone sleeps.
 *
 * Rules that make the futex protocol correct:
 * - A waker changes the word (or another word the sleeper rechecks) BEFORE calling wake; the sleeper
 *   passes the value it last saw, and the kernel refuses to sleep if the word differs ("not-equal").
 * - Every wake may be spurious: recheck the condition after each return.
 * - FUTEX_WAIT here never uses FUTEX_PRIVATE_FLAG, so it works on memory shared between processes;
 *   futex_waitv takes the flag per word, and `futexWake` on request, for words woken privately (a
 *   process-private sem_t).
 *
 * The waits here block the calling thread (and its event loop, signal handlers included) for up to
 * their timeout. The async waits of the object layer sleep on word-waiter threads instead, several
 * words per futex_waitv call (ipc/word_waiter.ts).
 */
import { checkInteger } from "../../ffi/checks.ts";
import { libc, lastErrno, type Address } from "../../ffi/libc.ts";
import { defineStruct } from "../../ffi/struct.ts";
import { Errno, errnoError } from "../errno.ts";
import { Deadline, Timespec, timespecFromMs, type TimespecValue } from "../time.ts";

/** futex operation: sleep while the word holds the expected value. */
export const FUTEX_WAIT = 0;
/** futex operation: wake up to `val` sleepers on the word. */
export const FUTEX_WAKE = 1;
/**
 * futex flag for memory private to one process (never used here: it would not reach other
 * processes).
 */
export const FUTEX_PRIVATE_FLAG = 128;
/** The syscall number of futex: it differs by architecture. */
export const SYS_futex = process.arch === "x64" ? 202 : 98;
/** The largest count `wake` accepts: wakes every sleeper. */
export const WAKE_ALL = 0x7fffffff;
/**
 * libc's syscall(2) is variadic, and koffi cannot call a variadic function asynchronously, so it is
 * declared here with the futex arguments as fixed parameters. That is ABI-compatible: glibc's
 * syscall() is an assembly routine that only moves argument registers; on x86_64 a variadic call
 * differs only by %al (the count of vector registers used), which it never reads, and on arm64 Linux
 * variadic integer arguments travel in the same registers as named ones.
 */
const futex_c = libc.func(`long syscall(long number, void *uaddr, int futex_op, uint32_t val, const ${Timespec.name} *timeout, void *uaddr2, uint32_t val3)`);

/** futex_waitv flag of one waiter: the word is 32 bits (the only size Linux has). */
export const FUTEX_32 = 2;
/** The most waiters one futex_waitv call takes. */
export const FUTEX_WAITV_MAX = 128;
/** The syscall number of futex_waitv (Linux 5.16): the same in the generic table and on x86_64. */
export const SYS_futex_waitv = 449;

/** `struct futex_waitv` of <linux/futex.h>: one word futex_waitv sleeps on. */
export const FutexWaitv = defineStruct("futex_waitv", {
  /** The value the word must hold for the sleep to begin (compared as 32 bits with FUTEX_32). */
  val: "uint64",
  /** The word's address. */
  uaddr: "uint64",
  /** FUTEX_32, plus FUTEX_PRIVATE_FLAG for a word woken with the private operations. */
  flags: "uint32",
  __reserved: "uint32",
});

const futex_waitv_c = libc.func(`long syscall(long number, void *waiters, uint32_t nr_futexes, uint32_t flags, const ${Timespec.name} *timeout, int clockid)`);

/** How one futex sleep ended. "woken" may be spurious; "not-equal" means the word had already changed. */
export type FutexWaitResult = "woken" | "not-equal" | "timed-out";
/** A single FUTEX_WAIT can also end because a signal handler ran (EINTR). */
export type FutexWaitOnceResult = FutexWaitResult | "interrupted";

// The word is a uint32 the caller may read through an Int32Array: both spellings of a value are
// accepted (`>>> 0` then makes them the same), anything else would be truncated.
function checkExpected(expected: number): void {
  checkInteger(expected, "expected", -0x8000_0000, 0xffff_ffff);
}

function waitResult(result: number, errno: number): FutexWaitOnceResult {
  if (result === 0) return "woken";
  if (errno === Errno.EAGAIN) return "not-equal";
  if (errno === Errno.ETIMEDOUT) return "timed-out";
  if (errno === Errno.EINTR) return "interrupted";
  throw errnoError("futex", undefined, errno);
}

function timeoutArgument(timeoutMs: number | undefined): TimespecValue | null {
  return timeoutMs === undefined || timeoutMs === Infinity ? null : timespecFromMs(timeoutMs);
}

/**
 * FUTEX_WAIT once: sleeps while the word at `address` holds `expected` (compared as uint32), for at
 * most `timeoutMs` (relative; undefined sleeps until woken). A signal handler interrupting a sleep
 * with a timeout gives "interrupted" (EINTR); one without a timeout the kernel restarts after a
 * handler installed with SA_RESTART, as Node's are.
 *
 * @see https://man7.org/linux/man-pages/man2/futex.2.html
 */
export function futexWaitOnce(address: Address, expected: number, timeoutMs?: number): FutexWaitOnceResult {
  checkExpected(expected);
  const result = Number(futex_c(SYS_futex, address, FUTEX_WAIT, expected >>> 0, timeoutArgument(timeoutMs), null, 0));
  return waitResult(result, lastErrno());
}

/**
 * How a futex_waitv call ended: the index of a word that was woken (another may have been woken or
 * changed too), or why it did not sleep or stopped sleeping.
 */
export type FutexWaitvResult = number | "not-equal" | "timed-out" | "interrupted";

/**
 * futex_waitv(2): sleeps until one of `count` words described by the `struct futex_waitv` array in
 * `waiters` is woken, provided every word holds its expected value when the call begins ("not-equal"
 * otherwise, without saying which). `deadline` is absolute on `clock` (null: no limit). EFAULT (a
 * word not mapped), EINVAL and ENOSYS (a kernel older than 5.16) throw.
 *
 * @see https://man7.org/linux/man-pages/man2/futex_waitv.2.html
 */
export function futexWaitv(waiters: Uint8Array, count: number, deadline: TimespecValue | null = null, clock = 1): FutexWaitvResult {
  checkInteger(count, "count", 1, FUTEX_WAITV_MAX);
  if (waiters.byteLength < count * FutexWaitv.size) throw new RangeError(`${count} waiters need ${count * FutexWaitv.size} bytes; the array has ${waiters.byteLength}`);
  const result = Number(futex_waitv_c(SYS_futex_waitv, waiters, count, 0, deadline, clock));
  if (result >= 0) return result;
  const errno = lastErrno();
  if (errno === Errno.EAGAIN) return "not-equal";
  if (errno === Errno.ETIMEDOUT) return "timed-out";
  if (errno === Errno.EINTR) return "interrupted";
  throw errnoError("futex_waitv", undefined, errno);
}

/**
 * Sleeps while the word at `address` holds `expected`, up to `timeoutMs` (undefined: no limit).
 * EINTR is retried with the time left. Returns as soon as the kernel says why it returned. No signal
 * listener runs while it sleeps: `FutexWord.wait` is the form that lets a SIGINT, SIGTERM or SIGHUP
 * listener run.
 *
 * @see https://man7.org/linux/man-pages/man2/futex.2.html
 */
export function futexWait(address: Address, expected: number, timeoutMs?: number): FutexWaitResult {
  const deadline = new Deadline(timeoutMs);
  for (;;) {
    const result = futexWaitOnce(address, expected, timeoutMs === undefined ? undefined : deadline.remaining());
    if (result !== "interrupted") return result;
    if (deadline.expired) return "timed-out";
  }
}

/**
 * FUTEX_WAKE: wakes up to `count` sleepers on the word at `address`; returns how many woke. With
 * `isPrivate`, FUTEX_WAKE_PRIVATE: only sleepers of this process that waited with the private flag.
 *
 * @see https://man7.org/linux/man-pages/man2/futex.2.html
 */
export function futexWake(address: Address, count = 1, isPrivate = false): number {
  checkInteger(count, "count", 0, WAKE_ALL);
  const result = Number(futex_c(SYS_futex, address, FUTEX_WAKE | (isPrivate ? FUTEX_PRIVATE_FLAG : 0), count, null, null, 0));
  if (result === -1) throw errnoError("futex");
  return result;
}
