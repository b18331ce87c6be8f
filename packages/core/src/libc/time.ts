/**
 * <time.h>: `struct timespec` for the waits that take a timeout (futex, semtimedop, sem_clockwait),
 * clock_gettime and the CLOCK_* ids, and the deadline arithmetic those waits share. Timeouts are
 * given in milliseconds; deadlines are kept on the monotonic clock so a change of the wall clock
 * never shortens or stretches a wait (a `Deadline` is what lets the timed calls here retry after
 * EINTR with the time left, as C code does with clock_gettime(CLOCK_MONOTONIC)).
 */
import { libc } from "../ffi/libc.ts";
import { check } from "./errno.ts";
import { defineStruct } from "../ffi/struct.ts";

/** Clock id: the wall clock, which can jump when the time is set. */
export const CLOCK_REALTIME = 0;
/** Clock id: time since boot, never set back; the one deadlines use. */
export const CLOCK_MONOTONIC = 1;

/** `struct timespec` on 64-bit Linux (also the time fields of `struct stat`). */
export const Timespec = defineStruct("timespec", {
  tv_sec: "int64",
  tv_nsec: "int64",
});

/** A `struct timespec` as a plain object. */
export interface TimespecValue {
  /** Whole seconds. */
  tv_sec: number;
  /** Nanoseconds, 0 to 999,999,999. */
  tv_nsec: number;
}

const clock_gettime_c = libc.func(`int clock_gettime(int clockid, _Out_ ${Timespec.name} *tp)`);

/** A duration in milliseconds (fractions allowed, negatives count as 0) as a timespec. */
export function timespecFromMs(ms: number): TimespecValue {
  const nanoseconds = Math.max(0, Math.round(ms * 1e6));
  return { tv_sec: Math.floor(nanoseconds / 1e9), tv_nsec: nanoseconds % 1e9 };
}

/**
 * clock_gettime(2).
 *
 * @see https://man7.org/linux/man-pages/man2/clock_gettime.2.html
 */
export function clockGettime(clock: number): TimespecValue {
  const now: Partial<TimespecValue> = {};
  check(clock_gettime_c(clock, now) as number, "clock_gettime");
  return { tv_sec: Number(now.tv_sec), tv_nsec: Number(now.tv_nsec) };
}

/** The absolute time `ms` from now on `clock`, for calls that take a deadline (sem_clockwait). */
export function deadlineTimespec(clock: number, ms: number): TimespecValue {
  const now = clockGettime(clock);
  const later = timespecFromMs(ms);
  let tv_sec = now.tv_sec + later.tv_sec;
  let tv_nsec = now.tv_nsec + later.tv_nsec;
  if (tv_nsec >= 1e9) {
    tv_sec += 1;
    tv_nsec -= 1e9;
  }
  return { tv_sec, tv_nsec };
}

/**
 * A point in time after which a wait gives up. `timeoutMs` undefined (or Infinity) never expires.
 * Read on the monotonic clock (performance.now()).
 */
export class Deadline {
  readonly #end: number;

  constructor(timeoutMs: number | undefined) {
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) throw new RangeError(`timeout must be a number of milliseconds >= 0, not ${timeoutMs}`);
    this.#end = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
  }

  /** Milliseconds left (Infinity when there is no deadline; 0 once it has passed). */
  remaining(): number {
    return Math.max(0, this.#end - performance.now());
  }

  /** Whether the deadline has passed. */
  get expired(): boolean {
    return this.remaining() === 0;
  }

  /** The next sleep: the time left, but at most `sliceMs`. */
  slice(sliceMs: number): number {
    return Math.min(this.remaining(), sliceMs);
  }
}

const timer_create_c = libc.func("int timer_create(int clockid, const void *sevp, _Out_ void *timerid)");
const timer_settime_c = libc.func("int timer_settime(intptr_t timerid, int flags, const void *new_value, void *old_value)");
const timer_delete_c = libc.func("int timer_delete(intptr_t timerid)");

/**
 * timer_create(2): a POSIX timer on `clock` that notifies as the `struct sigevent` `event` says
 * (e.g. `sigeventForThread(signo, gettid())`); returns its id. Disarmed until timer_settime.
 *
 * @see https://man7.org/linux/man-pages/man2/timer_create.2.html
 */
export function timer_create(clock: number, event: Uint8Array): bigint {
  const id = new BigInt64Array(1);
  check(timer_create_c(clock, event, id) as number, "timer_create");
  return id[0]!;
}

/**
 * timer_settime(2), relative: first expiry after `valueMs`, then every `intervalMs` (0: once);
 * `valueMs` 0 disarms.
 *
 * @see https://man7.org/linux/man-pages/man2/timer_settime.2.html
 */
export function timer_settime(timer: bigint, valueMs: number, intervalMs = 0): void {
  const interval = timespecFromMs(intervalMs);
  const value = timespecFromMs(valueMs);
  const spec = new BigInt64Array([BigInt(interval.tv_sec), BigInt(interval.tv_nsec), BigInt(value.tv_sec), BigInt(value.tv_nsec)]);
  check(timer_settime_c(timer, 0, spec, null) as number, "timer_settime");
}

/**
 * timer_delete(2).
 *
 * @see https://man7.org/linux/man-pages/man2/timer_delete.2.html
 */
export function timer_delete(timer: bigint): void {
  check(timer_delete_c(timer) as number, "timer_delete");
}
