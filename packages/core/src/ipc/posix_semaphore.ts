/**
 * POSIX semaphores as objects: `NamedSemaphore` (sem_open, sem_close, sem_unlink) and
 * `UnnamedSemaphore` (sem_init with pshared = 1, on a `sem_t` placed in any shared memory). The raw
 * calls are in libc/semaphore.ts.
 *
 * Waits: `wait()` blocks the thread (EINTR: see wait); `waitAsync()` leaves the event loop free. It
 * takes part in glibc's own protocol for sem_t as one more waiter (see `semWords` below), sleeping
 * through a word-waiter thread (word_waiter.ts), so C processes' sem_post wakes it and it competes
 * fairly with their sem_wait. A semaphore is never released (closed or destroyed) under a wait in
 * flight, where C would crash: close() and destroy() end the async waits in flight at once (they
 * reject with ReleasedSemaphoreError) and release the semaphore after them.
 */
import { koffi, type Address } from "../ffi/libc.ts";
import { isSystemError } from "../libc/errno.ts";
import { O_CREAT, O_EXCL } from "../libc/fcntl.ts";
import { CLOCK_MONOTONIC, Deadline, deadlineTimespec } from "../libc/time.ts";
import { SEM_T_ALIGNMENT, SEM_T_SIZE, SEM_VALUE_MAX, sem_clockwait, sem_close, sem_destroy, sem_getvalue, sem_init, sem_open, sem_post, sem_trywait, sem_unlink } from "../libc/semaphore.ts";
import { INTERRUPTIBLE_SLICE_MS, interrupted, interruptibleSleep } from "./interrupts.ts";
import type { SharedMemory } from "./memory.ts";
import { WaitTimeoutError, abortReason } from "./timeouts.ts";
import { releaseWordWaits, waitForWord } from "./word_waiter.ts";
import { FUTEX_PRIVATE_FLAG, futexWake } from "../libc/linux/futex.ts";

// glibc (2.21 and later, 64-bit) keeps a sem_t as { uint64_t data; int private; ... }: the value in
// the low 32 bits of `data` (the futex word, first on little-endian machines), the number of
// sleeping waiters in its high 32 bits. sem_post adds one to the value and, if the waiter count is
// not 0, FUTEX_WAKEs one sleeper on the value word. `private` is XORed into the futex operation:
// FUTEX_PRIVATE_FLAG (128) there means shared (pshared = 1, and every named semaphore), 0 private.
// sem_wait counts itself in, sleeps while the value is 0, and takes one with a compare-and-swap that
// also counts itself out. An async wait does exactly that, sleeping through a waiter thread.
const ONE_WAITER = 1n << 32n;
const VALUE_MASK = 0xffff_ffffn;

/** `data` and `private` of a glibc sem_t, as views. */
function semWords(pointer: Address): { data: BigUint64Array; isPrivate: boolean } {
  const buffer = koffi.view(pointer, SEM_T_SIZE);
  return { data: new BigUint64Array(buffer, 0, 1), isPrivate: (new Int32Array(buffer, 8, 1)[0]! & FUTEX_PRIVATE_FLAG) === 0 };
}

/** Thrown when a closed or destroyed semaphore is used (C would touch unmapped memory). */
export class ReleasedSemaphoreError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_SEMAPHORE_RELEASED";
  constructor(what: string) {
    super(`${what} has been closed or destroyed`);
  }
}

/** Options of the semaphores' waits. */
export interface SemaphoreWaitOptions {
  /** Gives up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

/** The operations named and unnamed semaphores share. */
export abstract class PosixSemaphore {
  #pointer: Address | null;
  #pendingWaits = 0;
  #releaseWhenIdle: (() => void) | null = null;
  /** Aborted by close() or destroy(): the async waits in flight end at once. */
  readonly #releasing = new AbortController();
  /** For messages: `semaphore '/name'` or `semaphore at offset 64`. */
  readonly label: string;

  protected constructor(pointer: Address, label: string) {
    this.#pointer = pointer;
    this.label = label;
  }

  /** The sem_t's address in this process; throws once it is released. */
  get pointer(): Address {
    if (this.#pointer === null) throw new ReleasedSemaphoreError(this.label);
    return this.#pointer;
  }

  /** Whether the semaphore has been closed or destroyed. */
  get released(): boolean {
    return this.#pointer === null;
  }

  /** V: adds one, waking one waiter. */
  post(): void {
    sem_post(this.pointer, this.label);
  }

  /**
   * P: subtracts one, waiting while the value is 0, blocking the thread. Throws WaitTimeoutError after
   * `timeoutMs`, and a SystemError EINTR (syscall `sem_clockwait`), without taking the semaphore,
   * when SIGINT, SIGTERM or SIGHUP interrupts it in a program that listens for them, so that the
   * listener can run (see ipc/interrupts.ts). It sleeps in sem_clockwait, whose timeout makes the
   * kernel report the signal, never in sem_wait, which the kernel would restart.
   */
  wait(options: SemaphoreWaitOptions = {}): void {
    const pointer = this.pointer;
    if (this.tryWait()) return;
    using _sleeping = interruptibleSleep();
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      try {
        if (sem_clockwait(pointer, CLOCK_MONOTONIC, deadlineTimespec(CLOCK_MONOTONIC, deadline.slice(INTERRUPTIBLE_SLICE_MS)), this.label)) return;
        if (deadline.expired) throw new WaitTimeoutError(this.label, options.timeoutMs);
      } catch (error) {
        if (!isSystemError(error, "EINTR")) throw error;
        interrupted(error);
      }
    }
  }

  /**
   * P without blocking the event loop. When the value is above 0 it costs what `tryWait()` costs;
   * otherwise it sleeps until a post (from any process) lets it take one. An abort or a timeout
   * rejects at once and leaves the value as it was.
   */
  async waitAsync(options: SemaphoreWaitOptions & { signal?: AbortSignal } = {}): Promise<void> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    if (this.tryWait()) return;
    const deadline = new Deadline(options.timeoutMs);
    const signal = options.signal === undefined ? this.#releasing.signal : AbortSignal.any([options.signal, this.#releasing.signal]);
    this.#pendingWaits++;
    let counted = false;
    try {
      let { data, isPrivate } = semWords(this.pointer);
      let seen = Atomics.add(data, 0, ONE_WAITER) + ONE_WAITER;
      counted = true;
      for (;;) {
        if ((seen & VALUE_MASK) !== 0n) {
          const before = Atomics.compareExchange(data, 0, seen, seen - 1n - ONE_WAITER);
          if (before === seen) {
            counted = false;
            return;
          }
          seen = before;
          continue;
        }
        if (deadline.expired) throw new WaitTimeoutError(this.label, options.timeoutMs);
        const result = await waitForWord(this.pointer, 0, { timeoutMs: deadline.remaining(), signal, private: isPrivate });
        if (result === "timed-out") throw new WaitTimeoutError(this.label, options.timeoutMs);
        // The pointer getter throws if the memory holding the sem_t went away meanwhile.
        ({ data, isPrivate } = semWords(this.pointer));
        seen = Atomics.load(data, 0);
      }
    } catch (error) {
      if (this.#releasing.signal.aborted && !options.signal?.aborted) throw new ReleasedSemaphoreError(this.label);
      throw error;
    } finally {
      if (counted) this.#countOut();
      this.#pendingWaits--;
      if (this.#pendingWaits === 0) this.#releaseWhenIdle?.();
    }
  }

  /**
   * Leaves glibc's waiter count without taking a unit (abort, timeout, close). sem_post wakes one
   * waiter: if that was this wait, the wake passes to the next, as a woken waiter that gives up must.
   */
  #countOut(): void {
    let pointer: Address;
    try {
      pointer = this.pointer;
    } catch {
      // The memory is gone from this process: nothing left to count out of.
      return;
    }
    const { data, isPrivate } = semWords(pointer);
    const after = Atomics.sub(data, 0, ONE_WAITER) - ONE_WAITER;
    if ((after & VALUE_MASK) !== 0n && after >> 32n !== 0n) futexWake(pointer, 1, isPrivate);
  }

  /** P if it can be done at once: true if the value was above 0 (and is now one less). */
  tryWait(): boolean {
    return sem_trywait(this.pointer, this.label);
  }

  /** sem_getvalue(3): the current value (0 while processes wait: glibc never reports waiters as negative). */
  get value(): number {
    return sem_getvalue(this.pointer, this.label);
  }

  /** Runs `release` (sem_close or sem_destroy) now, or once the async waits in flight have ended. */
  protected releaseOnce(release: (pointer: Address) => void): void {
    if (this.#pointer === null || this.#releaseWhenIdle !== null) return;
    const pointer = this.#pointer;
    const run = (): void => {
      this.#pointer = null;
      releaseWordWaits(pointer, SEM_T_SIZE, () => new ReleasedSemaphoreError(this.label));
      release(pointer);
    };
    if (this.#pendingWaits === 0) {
      run();
      return;
    }
    this.#releaseWhenIdle = run;
    this.#releasing.abort();
  }
}

/** A named POSIX semaphore (/dev/shm/sem.<name>). */
export class NamedSemaphore extends PosixSemaphore implements Disposable {
  /** The name it was opened with, like '/demo'. */
  readonly name: string;

  private constructor(pointer: Address, name: string) {
    super(pointer, `semaphore '${name}'`);
    this.name = name;
  }

  /** Creates it with `value` (O_CREAT|O_EXCL: EEXIST if it exists). `name` is like '/demo'. */
  static create(name: string, value = 0, mode = 0o600): NamedSemaphore {
    return NamedSemaphore.#open(name, O_CREAT | O_EXCL, mode, value);
  }

  /** Opens it, creating it with `value` if it does not exist (O_CREAT). */
  static openOrCreate(name: string, value = 0, mode = 0o600): NamedSemaphore {
    return NamedSemaphore.#open(name, O_CREAT, mode, value);
  }

  /** Opens an existing one (ENOENT if there is none). */
  static open(name: string): NamedSemaphore {
    return NamedSemaphore.#open(name, 0);
  }

  /** sem_unlink(3): removes the name; processes that have it open keep using it. */
  static unlink(name: string): void {
    sem_unlink(name);
  }

  static #open(name: string, oflag: number, mode = 0, value = 0): NamedSemaphore {
    if (!Number.isInteger(value) || value < 0 || value > SEM_VALUE_MAX) throw new RangeError(`a semaphore value must be an integer from 0 to ${SEM_VALUE_MAX}, not ${value}`);
    return new NamedSemaphore(sem_open(name, oflag, mode, value), name);
  }

  /** sem_close(3); async waits in flight end first (see the module comment). Idempotent; never removes the name. */
  close(): void {
    this.releaseOnce((pointer) => sem_close(pointer, this.name));
  }

  /** Removes the name; not an error if it is already gone. */
  unlink(): void {
    try {
      sem_unlink(this.name);
    } catch (error) {
      if (!isSystemError(error, "ENOENT")) throw error;
    }
  }

  /** Closes the semaphore, for `using`; the name stays. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** An unnamed POSIX semaphore: a sem_t inside shared memory. */
export class UnnamedSemaphore extends PosixSemaphore {
  /** The shared memory holding the `sem_t`. */
  readonly memory: SharedMemory;
  /** Where the `sem_t` is in the memory. */
  readonly offset: number;

  private constructor(memory: SharedMemory, offset: number) {
    super(memory.address + BigInt(offset), `semaphore at offset ${offset}`);
    this.memory = memory;
    this.offset = offset;
  }

  /**
   * sem_init(3) on the sem_t at `offset` of `memory`, with pshared = 1 (between processes) unless
   * `shared` is false. Exactly one process initialises it, before any other uses it.
   */
  static init(memory: SharedMemory, offset: number, value = 0, options: { shared?: boolean } = {}): UnnamedSemaphore {
    const semaphore = new UnnamedSemaphore(memory, UnnamedSemaphore.#checkPlace(memory, offset));
    if (!Number.isInteger(value) || value < 0 || value > SEM_VALUE_MAX) throw new RangeError(`a semaphore value must be an integer from 0 to ${SEM_VALUE_MAX}, not ${value}`);
    sem_init(semaphore.pointer, (options.shared ?? true) ? 1 : 0, value);
    return semaphore;
  }

  /** The sem_t at `offset`, initialised by another process (or earlier by this one). */
  static at(memory: SharedMemory, offset: number): UnnamedSemaphore {
    return new UnnamedSemaphore(memory, UnnamedSemaphore.#checkPlace(memory, offset));
  }

  static #checkPlace(memory: SharedMemory, offset: number): number {
    const bytes = memory.bytes;
    if (!Number.isInteger(offset) || offset < 0 || offset + SEM_T_SIZE > bytes.byteLength) {
      throw new RangeError(`a sem_t (${SEM_T_SIZE} bytes) at offset ${offset} does not fit in ${bytes.byteLength} bytes`);
    }
    if ((memory.address + BigInt(offset)) % BigInt(SEM_T_ALIGNMENT) !== 0n) {
      throw new RangeError(`a sem_t must be ${SEM_T_ALIGNMENT}-byte aligned; offset ${offset} is not`);
    }
    return offset;
  }

  /** Also refuses once the memory holding the sem_t has been unmapped or detached. */
  override get pointer(): Address {
    void this.memory.bytes;
    return super.pointer;
  }

  /** sem_destroy(3); async waits in flight here end first. No other process may be waiting on it. Idempotent. */
  destroy(): void {
    this.releaseOnce((pointer) => sem_destroy(pointer));
  }
}
