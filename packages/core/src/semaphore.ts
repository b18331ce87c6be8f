/**
 * <semaphore.h>: POSIX semaphores. Named ones (`sem_open`, `sem_close`, `sem_unlink`) live in
 * /dev/shm as `sem.<name>` until unlinked; unnamed ones (`sem_init` with pshared = 1) are a `sem_t`
 * placed inside shared memory that several processes map (a SysV segment, memfd, POSIX shm or file).
 *
 * glibc implements both on a futex inside the sem_t: post and an uncontended wait stay in user
 * space. Unlike SysV semaphores they have no undo: a process that dies after a wait does not give
 * the count back.
 *
 * Waits: `wait()` blocks the thread (EINTR retried); `waitAsync()` waits on a worker thread in slices
 * of at most ASYNC_SLICE_MS (see futex.ts), so the event loop, signal handlers and an AbortSignal are
 * served meanwhile. A semaphore is never released (closed or destroyed) under a wait in flight, where
 * C would crash: close() and destroy() end the async waits in flight at their next slice (they reject
 * with ReleasedSemaphoreError) and release the semaphore after them.
 */
import { koffi, libc, lastErrno, type Address } from "./libc.ts";
import { toAddress } from "./memory.ts";
import { Errno, check, errnoError } from "./errno.ts";
import { O_CREAT, O_EXCL } from "./fcntl.ts";
import { ASYNC_SLICE_MS, type SharedMemory } from "./futex.ts";
import { CLOCK_MONOTONIC, Deadline, Timespec, WaitTimeoutError, abortReason, deadlineTimespec } from "./timeouts.ts";

/** The size of a `sem_t` with glibc on 64-bit Linux (x86_64 and arm64); it must be 8-byte aligned. */
export const SEM_T_SIZE = 32;
export const SEM_T_ALIGNMENT = 8;
export const SEM_VALUE_MAX = 0x7fffffff;

/** `sem_t` as glibc declares it: an opaque union of 32 bytes aligned like a long. */
export const sem_t = koffi.union("sem_t", { __size: koffi.array("char", SEM_T_SIZE), __align: "long" });

// sem_open is variadic: mode (a mode_t) and value (an unsigned int) follow only with O_CREAT, passed
// with their C types so they arrive whole.
const sem_open_c = libc.func("void *sem_open(const char *name, int oflag, ...)");
const sem_close_c = libc.func("int sem_close(void *sem)");
const sem_unlink_c = libc.func("int sem_unlink(const char *name)");
const sem_init_c = libc.func("int sem_init(void *sem, int pshared, unsigned int value)");
const sem_destroy_c = libc.func("int sem_destroy(void *sem)");
const sem_post_c = libc.func("int sem_post(void *sem)");
const sem_wait_c = libc.func("int sem_wait(void *sem)");
const sem_trywait_c = libc.func("int sem_trywait(void *sem)");
const sem_clockwait_c = libc.func(`int sem_clockwait(void *sem, int clockid, const ${Timespec.name} *abstime)`);
const sem_getvalue_c = libc.func("int sem_getvalue(void *sem, _Out_ int *sval)");

/** What sem_open returns on failure: SEM_FAILED, `(sem_t *) 0` in glibc. */
export const SEM_FAILED: Address = 0n;

/** Thrown when a closed or destroyed semaphore is used (C would touch unmapped memory). */
export class ReleasedSemaphoreError extends Error {
  readonly code = "ERR_IPC_SEMAPHORE_RELEASED";
  constructor(what: string) {
    super(`${what} has been closed or destroyed`);
  }
}

export interface SemaphoreWaitOptions {
  /** Gives up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

/** The operations named and unnamed semaphores share. */
export abstract class PosixSemaphore {
  #pointer: Address | null;
  #pendingWaits = 0;
  #releaseWhenIdle: (() => void) | null = null;
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

  get released(): boolean {
    return this.#pointer === null;
  }

  /** V: adds one, waking one waiter. */
  post(): void {
    check(sem_post_c(this.pointer) as number, "sem_post", { path: this.label });
  }

  /** P: subtracts one, waiting while the value is 0. Throws WaitTimeoutError after `timeoutMs`. */
  wait(options: SemaphoreWaitOptions = {}): void {
    const pointer = this.pointer;
    const abstime = options.timeoutMs === undefined ? null : deadlineTimespec(CLOCK_MONOTONIC, options.timeoutMs);
    for (;;) {
      const result = (abstime === null ? sem_wait_c(pointer) : sem_clockwait_c(pointer, CLOCK_MONOTONIC, abstime)) as number;
      if (result === 0) return;
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      if (errno === Errno.ETIMEDOUT) throw new WaitTimeoutError(this.label, options.timeoutMs);
      throw errnoError(abstime === null ? "sem_wait" : "sem_clockwait", { path: this.label }, errno);
    }
  }

  /** P without blocking the event loop: waits on a worker thread, in slices. */
  async waitAsync(options: SemaphoreWaitOptions & { signal?: AbortSignal } = {}): Promise<void> {
    const pointer = this.pointer;
    const deadline = new Deadline(options.timeoutMs);
    this.#pendingWaits++;
    try {
      for (;;) {
        if (options.signal?.aborted) throw abortReason(options.signal);
        if (this.#releaseWhenIdle !== null) throw new ReleasedSemaphoreError(this.label);
        if (this.tryWait()) return;
        if (deadline.expired) throw new WaitTimeoutError(this.label, options.timeoutMs);
        const errno = await clockwaitAsync(pointer, deadline.slice(ASYNC_SLICE_MS));
        if (errno === 0) return;
        if (errno !== Errno.ETIMEDOUT && errno !== Errno.EINTR) throw errnoError("sem_clockwait", { path: this.label }, errno);
      }
    } finally {
      this.#pendingWaits--;
      if (this.#pendingWaits === 0) this.#releaseWhenIdle?.();
    }
  }

  /** P if it can be done at once: true if the value was above 0 (and is now one less). */
  tryWait(): boolean {
    if ((sem_trywait_c(this.pointer) as number) === 0) return true;
    const errno = lastErrno();
    if (errno === Errno.EAGAIN) return false;
    throw errnoError("sem_trywait", { path: this.label }, errno);
  }

  /** sem_getvalue(3): the current value (0 while processes wait: glibc never reports waiters as negative). */
  get value(): number {
    const value = [0];
    check(sem_getvalue_c(this.pointer, value) as number, "sem_getvalue", { path: this.label });
    return value[0]!;
  }

  /** Runs `release` (sem_close or sem_destroy) now, or once the async waits in flight have ended (within a slice). */
  protected releaseOnce(release: (pointer: Address) => void): void {
    if (this.#pointer === null || this.#releaseWhenIdle !== null) return;
    const pointer = this.#pointer;
    const run = (): void => {
      this.#pointer = null;
      release(pointer);
    };
    if (this.#pendingWaits === 0) run();
    else this.#releaseWhenIdle = run;
  }
}

function clockwaitAsync(pointer: Address, timeoutMs: number): Promise<number> {
  const abstime = deadlineTimespec(CLOCK_MONOTONIC, timeoutMs);
  return new Promise((resolve, reject) => {
    sem_clockwait_c.async(pointer, CLOCK_MONOTONIC, abstime, (error: unknown, result: number) => {
      if (error) reject(error);
      else resolve(result === 0 ? 0 : lastErrno());
    });
  });
}

/** A named POSIX semaphore (/dev/shm/sem.<name>). */
export class NamedSemaphore extends PosixSemaphore implements Disposable {
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
    check(sem_unlink_c(name) as number, "sem_unlink", { path: name });
  }

  static #open(name: string, oflag: number, mode = 0, value = 0): NamedSemaphore {
    if (!Number.isInteger(value) || value < 0 || value > SEM_VALUE_MAX) throw new RangeError(`a semaphore value must be an integer from 0 to ${SEM_VALUE_MAX}, not ${value}`);
    const pointer = (oflag & O_CREAT) !== 0 ? sem_open_c(name, oflag, "uint32_t", mode, "uint32_t", value) : sem_open_c(name, oflag);
    const address = toAddress(pointer);
    if (address === SEM_FAILED) throw errnoError("sem_open", { path: name });
    return new NamedSemaphore(address, name);
  }

  /** sem_close(3); async waits in flight end first (see the module comment). Idempotent; never removes the name. */
  close(): void {
    this.releaseOnce((pointer) => check(sem_close_c(pointer) as number, "sem_close", { path: this.name }));
  }

  /** Removes the name; not an error if it is already gone. */
  unlink(): void {
    if ((sem_unlink_c(this.name) as number) === -1 && lastErrno() !== Errno.ENOENT) throw errnoError("sem_unlink", { path: this.name });
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** An unnamed POSIX semaphore: a sem_t inside shared memory. */
export class UnnamedSemaphore extends PosixSemaphore {
  readonly memory: SharedMemory;
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
    check(sem_init_c(semaphore.pointer, options.shared ?? true ? 1 : 0, value) as number, "sem_init");
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

  override async waitAsync(options: SemaphoreWaitOptions & { signal?: AbortSignal } = {}): Promise<void> {
    // Holding the view keeps the mapping's placeholder alive while a worker thread may touch the sem_t.
    const view = this.memory.bytes;
    try {
      await super.waitAsync(options);
    } finally {
      void view.byteLength;
    }
  }

  /** sem_destroy(3); async waits in flight here end first. No other process may be waiting on it. Idempotent. */
  destroy(): void {
    this.releaseOnce((pointer) => check(sem_destroy_c(pointer) as number, "sem_destroy"));
  }
}
