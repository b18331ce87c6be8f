/**
 * `struct timespec` for the waits that take a timeout (futex, semtimedop, sem_clockwait), and the
 * deadline arithmetic they share. Timeouts are given in milliseconds; deadlines are kept on the
 * monotonic clock so a change of the wall clock never shortens or stretches a wait.
 */
import { libc } from "./libc.ts";
import { check } from "./errno.ts";
import { defineStruct } from "./struct.ts";

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;

/** `struct timespec` on 64-bit Linux (also the time fields of `struct stat`). */
export const Timespec = defineStruct("timespec", {
  tv_sec: "int64",
  tv_nsec: "int64",
});

export interface TimespecValue {
  tv_sec: number;
  tv_nsec: number;
}

const clock_gettime_c = libc.func(`int clock_gettime(int clockid, _Out_ ${Timespec.name} *tp)`);

/** A duration in milliseconds (fractions allowed, negatives count as 0) as a timespec. */
export function timespecFromMs(ms: number): TimespecValue {
  const nanoseconds = Math.max(0, Math.round(ms * 1e6));
  return { tv_sec: Math.floor(nanoseconds / 1e9), tv_nsec: nanoseconds % 1e9 };
}

/** clock_gettime(2). */
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

  get expired(): boolean {
    return this.remaining() === 0;
  }

  /** The next sleep: the time left, but at most `sliceMs`. */
  slice(sliceMs: number): number {
    return Math.min(this.remaining(), sliceMs);
  }
}

/** Thrown when a wait with a timeout runs out of time. Shaped like a SystemError for ETIMEDOUT. */
export class WaitTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
  constructor(what: string, timeoutMs: number | undefined) {
    super(`${what}: timed out after ${timeoutMs} ms`);
  }
}

/** What an aborted async wait rejects with: the signal's reason, or an AbortError like Node's. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error("The operation was aborted"), { name: "AbortError", code: "ABORT_ERR" });
}

/** The longest delay a Node timer takes (2^31 − 1 ms, about 24.8 days): the bound of every `--interval MS`. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A promise that resolves after `ms` milliseconds: the programs' sleep(1) between ticks. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  // Node would warn and wait 1 ms instead: refuse rather than quietly not wait.
  if (!(ms >= 0 && ms <= MAX_TIMER_MS)) return Promise.reject(new RangeError(`sleep: ${ms} ms is not between 0 and ${MAX_TIMER_MS}`));
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
