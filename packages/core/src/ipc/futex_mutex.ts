/**
 * Futexes as objects: `FutexWord` (Atomics on one 32-bit word of shared memory, and futex sleeps on
 * it), `FutexMutex` (a lock between processes in one word, taken over from an owner that died), and
 * `futexWaitAsync` (a futex wait that leaves the event loop free: see word_waiter.ts). Why futexes
 * rather than Atomics.wait, and the rules of the protocol: see libc/linux/futex.ts.
 */
import type { Address } from "../ffi/libc.ts";
import { Errno, SystemError } from "../libc/errno.ts";
import { Deadline } from "../libc/time.ts";
import { futexWaitOnce, futexWake, type FutexWaitResult } from "../libc/linux/futex.ts";
import { INTERRUPTIBLE_SLICE_MS, interrupted, interruptibleSleep } from "./interrupts.ts";
import { isProcessAlive } from "./liveness.ts";
import type { SharedMemory } from "./memory.ts";
import { PEER_CHECK_MS, WaitTimeoutError, abortReason } from "./timeouts.ts";
import { waitForWord } from "./word_waiter.ts";

/** Options of `futexWaitAsync` and `FutexWord.waitAsync`. */
export interface FutexWaitOptions {
  /** Gives up after this many milliseconds (default: no limit). */
  timeoutMs?: number;
  /** Rejects with the signal's reason as soon as it aborts. */
  signal?: AbortSignal;
}

/**
 * Like futexWait, without blocking the event loop (see waitForWord). `current()` reads the word
 * (e.g. `() => Atomics.load(words, index)`): when it already differs, the answer is "not-equal" at
 * once, with no trip to the waiter thread.
 */
export async function futexWaitAsync(address: Address, expected: number, current: () => number, options: FutexWaitOptions = {}): Promise<FutexWaitResult> {
  if (options.signal?.aborted) throw abortReason(options.signal);
  if (current() >>> 0 !== expected >>> 0) return "not-equal";
  return waitForWord(address, expected, options);
}

/** The 32-bit words of `memory` as an Int32Array (a view, shared with every other view). */
export function int32View(memory: SharedMemory, byteOffset: number, length: number): Int32Array {
  const bytes = memory.bytes;
  if (byteOffset % 4 !== 0 || (bytes.byteOffset + byteOffset) % 4 !== 0) {
    throw new RangeError(`a 32-bit word needs an offset that is a multiple of 4 (got ${byteOffset})`);
  }
  if (byteOffset < 0 || byteOffset + length * 4 > bytes.byteLength) {
    throw new RangeError(`${length * 4} bytes at offset ${byteOffset} do not fit in ${bytes.byteLength} bytes of shared memory`);
  }
  return new Int32Array(bytes.buffer, bytes.byteOffset + byteOffset, length);
}

/**
 * One 32-bit word of shared memory: Atomics on it, and futex sleeps on it.
 * Values are int32 as Atomics returns them on an Int32Array (compare with `| 0`).
 */
export class FutexWord {
  /** The word's address in this process: what futex calls take. */
  readonly address: Address;
  readonly #word: Int32Array;

  constructor(memory: SharedMemory, byteOffset: number) {
    this.#word = int32View(memory, byteOffset, 1);
    this.address = memory.address + BigInt(byteOffset);
  }

  /** Atomics.load: the word's value now. */
  load(): number {
    return Atomics.load(this.#word, 0);
  }

  /** Atomics.store; returns `value`. Wake sleepers afterwards if they wait for the change. */
  store(value: number): number {
    return Atomics.store(this.#word, 0, value);
  }

  /** Atomics.add; returns the value before. */
  add(delta: number): number {
    return Atomics.add(this.#word, 0, delta);
  }

  /** Atomics.exchange; returns the value before. */
  exchange(value: number): number {
    return Atomics.exchange(this.#word, 0, value);
  }

  /**
   * Atomics.compareExchange: stores `replacement` if the word holds `expected`; returns the value
   * before.
   */
  compareExchange(expected: number, replacement: number): number {
    return Atomics.compareExchange(this.#word, 0, expected, replacement);
  }

  /**
   * Sleeps while the word equals `expected`, up to `timeoutMs` (default: no limit), blocking the
   * thread. Throws a SystemError EINTR (syscall `futex`) when SIGINT, SIGTERM or SIGHUP interrupts it
   * in a program that listens for them, so that the listener can run (see ipc/interrupts.ts).
   */
  wait(expected: number, timeoutMs?: number): FutexWaitResult {
    using _sleeping = interruptibleSleep();
    const deadline = new Deadline(timeoutMs);
    for (;;) {
      const result = futexWaitOnce(this.address, expected, deadline.slice(INTERRUPTIBLE_SLICE_MS));
      if (result === "interrupted") interrupted(new SystemError(Errno.EINTR!, "futex"));
      else if (result !== "timed-out" || deadline.expired) return result;
    }
  }

  /** Sleeps while the word equals `expected`, without blocking the event loop (see futexWaitAsync). */
  waitAsync(expected: number, options: FutexWaitOptions = {}): Promise<FutexWaitResult> {
    return futexWaitAsync(this.address, expected, () => this.load(), options);
  }

  /** Wakes up to `count` sleepers. Change the word first. */
  wake(count = 1): number {
    return futexWake(this.address, count);
  }
}

/** Bit 31 of a locked FutexMutex word: someone may be sleeping on it, so unlock must wake. */
export const MUTEX_WAITERS = 0x80000000 | 0;
/** The owner's pid in a locked FutexMutex word. */
export const MUTEX_OWNER_MASK = 0x3fffffff;

/** Options of `FutexMutex.lock` and `lockAsync`. */
export interface LockOptions {
  /** Gives up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
  /** Called whenever a sleep slice ends without the lock; throw from it to give up (e.g. peer gone). */
  onSlice?: () => void;
}

/** How a lock was obtained: "owner-died" when it was taken over from a process that died holding it. */
export type LockResult = "locked" | "owner-died";

/**
 * A mutex in one 32-bit word of shared memory, between processes (and between async tasks of one
 * process). The word holds 0 when free, else the owner's pid, with MUTEX_WAITERS set once someone
 * sleeps on it, so an uncontended lock and unlock are one compare-and-swap and one exchange, with no
 * system call. A C program joins it with the same three rules (see RING.md).
 *
 * Because the owner's pid is in the word, a waiter whose sleep slice ends checks that the owner is
 * alive; if it died holding the lock, the waiter takes the lock over and `lock()` returns
 * "owner-died" (as pthread's robust mutexes return EOWNERDEAD): the data it protects may be half
 * updated. Not recursive: a process that locks twice waits for itself.
 */
export class FutexMutex {
  /** The word holding the lock, for tests and for C peers that share it. */
  readonly word: FutexWord;
  readonly #me: number;
  readonly #spin: number;

  constructor(memory: SharedMemory, byteOffset: number, options: { spinIterations?: number } = {}) {
    this.word = new FutexWord(memory, byteOffset);
    this.#me = process.pid & MUTEX_OWNER_MASK;
    this.#spin = options.spinIterations ?? 200;
  }

  /** The pid holding the lock, or 0. */
  get owner(): number {
    return this.word.load() & MUTEX_OWNER_MASK;
  }

  /** Takes the lock if it is free, without waiting: true if taken. */
  tryLock(): boolean {
    return this.word.compareExchange(0, this.#me) === 0;
  }

  /**
   * Takes the lock, spinning briefly, then sleeping. Throws WaitTimeoutError after `timeoutMs`, and
   * EINTR without the lock as `FutexWord.wait` does.
   */
  lock(options: LockOptions = {}): LockResult {
    if (this.#spinForLock()) return "locked";
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      const step = this.#contend();
      if (typeof step === "string") return step;
      const result = this.word.wait(step, deadline.slice(PEER_CHECK_MS));
      if (result === "timed-out") {
        const outcome = this.#afterSlice(step, deadline, options);
        if (outcome !== null) return outcome;
      }
    }
  }

  /**
   * Takes the lock without blocking the event loop (see futexWaitAsync). An abort rejects at once,
   * with the lock not taken.
   */
  async lockAsync(options: LockOptions & { signal?: AbortSignal } = {}): Promise<LockResult> {
    if (this.#spinForLock()) return "locked";
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      const step = this.#contend();
      if (typeof step === "string") return step;
      let result: FutexWaitResult;
      try {
        result = await waitForWord(this.word.address, step, { timeoutMs: deadline.slice(PEER_CHECK_MS), signal: options.signal });
      } catch (error) {
        // unlock() wakes one sleeper: if that was this wait, the wake passes to the next one.
        if (this.word.load() === 0) this.word.wake(1);
        throw error;
      }
      if (result === "timed-out") {
        const outcome = this.#afterSlice(step, deadline, options);
        if (outcome !== null) return outcome;
      }
    }
  }

  /** Releases the lock; wakes one sleeper if any may sleep. */
  unlock(): void {
    const previous = this.word.exchange(0);
    if ((previous & MUTEX_WAITERS) !== 0) this.word.wake(1);
  }

  #spinForLock(): boolean {
    for (let i = 0; i < this.#spin; i++) {
      if (this.word.load() === 0 && this.tryLock()) return true;
    }
    return false;
  }

  /**
   * One step of the contended path: take the lock if it is free (marked contended, since others may
   * sleep), or mark it contended and return the value to sleep on.
   */
  #contend(): LockResult | number {
    for (;;) {
      if (this.word.compareExchange(0, this.#me | MUTEX_WAITERS) === 0) return "locked";
      const seen = this.word.load();
      if (seen === 0) continue;
      if ((seen & MUTEX_WAITERS) !== 0) return seen;
      if (this.word.compareExchange(seen, seen | MUTEX_WAITERS) === seen) return seen | MUTEX_WAITERS;
    }
  }

  /** After a sleep slice ran out: take over from a dead owner, or give up at the deadline. */
  #afterSlice(seen: number, deadline: Deadline, options: LockOptions): LockResult | null {
    const owner = seen & MUTEX_OWNER_MASK;
    if (this.word.load() === seen && !isProcessAlive(owner)) {
      if (this.word.compareExchange(seen, this.#me | MUTEX_WAITERS) === seen) return "owner-died";
      return null;
    }
    if (deadline.expired) throw new WaitTimeoutError(`lock held by pid ${owner}`, options.timeoutMs);
    options.onSlice?.();
    return null;
  }
}
