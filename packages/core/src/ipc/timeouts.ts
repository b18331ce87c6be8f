/**
 * Timeouts and cancellation shared by the object layer's waits: the error a timed-out wait throws,
 * what an aborted one rejects with, how often a wait looks for a peer that died, and `sleep`.
 * (The monotonic `Deadline` itself is in libc/time.ts, where the timed C calls use it too.)
 */

/**
 * How often (at least) a waiting side looks whether the process it waits for is alive: a process
 * that dies holding a lock, or with its side of a ring open, wakes nobody.
 */
export const PEER_CHECK_MS = 100;

/** Thrown when a wait with a timeout runs out of time. Shaped like a SystemError for ETIMEDOUT. */
export class WaitTimeoutError extends Error {
  /** `ETIMEDOUT`, as a SystemError for that errno would have. */
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

/**
 * Calls `fire` after `ms` milliseconds, however long that is: Node's own timers fire after 1 ms for
 * any delay past MAX_TIMER_MS, so a longer one is waited out in steps. The timer does not keep the
 * process alive (the wait it bounds does, if it should). Returns the function that cancels it.
 */
export function startTimer(ms: number, fire: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const end = performance.now() + ms;
  const arm = (delay: number): void => {
    timer = setTimeout(() => {
      const left = end - performance.now();
      if (left > 0) arm(Math.min(left, MAX_TIMER_MS));
      else fire();
    }, delay);
    timer.unref();
  };
  arm(Math.min(ms, MAX_TIMER_MS));
  return () => clearTimeout(timer);
}

/** The longest pause between two tries of `retryWithBackoff`. */
export const RETRY_MAX_MS = 20;

/**
 * For an operation nothing can wait on without doing it (a semop or msgsnd past the waiter threads'
 * number, a probe of a message queue): calls `attempt` after 1 ms, then after pauses doubling up to
 * RETRY_MAX_MS, until it returns something other than undefined, which the promise resolves with.
 * Resolves undefined once `timeoutMs` has passed; an abort rejects with the signal's reason.
 */
export async function retryWithBackoff<T>(attempt: () => T | undefined, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T | undefined> {
  const end = options.timeoutMs === undefined ? Infinity : performance.now() + options.timeoutMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, RETRY_MAX_MS)) {
    const left = end - performance.now();
    if (left <= 0) return undefined;
    await sleep(Math.min(pause, left), options.signal);
    const result = attempt();
    if (result !== undefined) return result;
  }
}

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
