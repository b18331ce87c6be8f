/**
 * System V semaphore sets as objects: `SemaphoreSet` (create-exclusive and initialise, open,
 * acquire/release, lock with `using`, remove), and `semtimedopAsync`. The calls underneath are in
 * libc/sys/sem.ts.
 *
 * SEM_UNDO (the default for acquire/release here) makes the kernel reverse a process's operations
 * when it exits, however it exits, so a holder killed with SIGKILL does not leave the lock taken.
 *
 * Waits: `acquire` blocks the thread (semtimedop; on EINTR it waits again with the time left, or
 * throws EINTR when the program listens for SIGINT, SIGTERM or SIGHUP: see ipc/interrupts.ts);
 * `acquireAsync` first tries once without waiting, then waits on a blocking-call waiter thread
 * (blocking_waiter.ts), so the event loop, signal handlers and an AbortSignal are served while it
 * waits. SEM_UNDO works from those threads too: the undo list belongs to the process.
 */
import { checkInteger } from "../ffi/checks.ts";
import { SystemError, isSystemError } from "../libc/errno.ts";
import { Deadline } from "../libc/time.ts";
import { IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_RMID, IPC_STAT, IPC_SET, IpcPerm, formatKey } from "../libc/sys/ipc.ts";
import {
  GETALL,
  GETNCNT,
  GETPID,
  GETVAL,
  GETZCNT,
  SEM_UNDO,
  SEMVMX,
  SETALL,
  SETVAL,
  SemidDs,
  semctl,
  semctlBuffer,
  semget,
  semop,
  semStat,
  semtimedop,
  type SemidDsSnapshot,
  type SemOp,
} from "../libc/sys/sem.ts";
import { interrupted, interruptibleSleep } from "./interrupts.ts";
import { WaitTimeoutError, abortReason } from "./timeouts.ts";
import { semopWhenPossible } from "./blocking_waiter.ts";

/**
 * semtimedop without blocking the event loop. Resolves true once the operations are done, false at
 * the timeout; rejects with the signal's reason when it aborts (at once, the semaphores left as they
 * were). When the operations can be done at once, it costs what one semop costs.
 */
export async function semtimedopAsync(id: number, ops: readonly SemOp[], options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
  if (ops.length === 0) throw new RangeError("semop needs at least one operation");
  const nowait = ops.some((op) => ((op.flags ?? 0) & IPC_NOWAIT) !== 0);
  if (options.signal?.aborted) throw abortReason(options.signal);
  // When the operations can be done at once, one semop does them here, as the sync form would:
  // no trip through the thread pool.
  if (
    semop(
      id,
      ops.map((op) => ({ ...op, flags: (op.flags ?? 0) | IPC_NOWAIT })),
    )
  )
    return true;
  if (nowait || options.timeoutMs === 0) return false;
  return semopWhenPossible(id, ops, options);
}

/** Options of `SemaphoreSet.acquire` and `lock`. */
export interface AcquireOptions {
  /** Reverse the operation if this process exits without undoing it (default true). */
  undo?: boolean;
  /** Gives up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

/** A semaphore taken with `lock()`; releasing it is idempotent, and `using` releases it. */
export class SemaphoreLock implements Disposable {
  #held = true;
  readonly #set: SemaphoreSet;
  readonly #num: number;
  readonly #undo: boolean;
  constructor(set: SemaphoreSet, num: number, undo: boolean) {
    this.#set = set;
    this.#num = num;
    this.#undo = undo;
  }

  /** Gives the semaphore back (V). Idempotent. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#set.release(this.#num, 1, { undo: this.#undo });
  }

  /** Releases, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** A System V semaphore set, by id. Removing it is explicit (`remove()`), as in C. */
export class SemaphoreSet {
  /** The set's id, as `ipcs -s` shows it. */
  readonly id: number;
  /** The key the set was made or opened with. */
  readonly key: number;
  #removed = false;

  private constructor(id: number, key: number) {
    this.id = id;
    this.key = key;
  }

  /**
   * Creates a new set (IPC_CREAT|IPC_EXCL; EEXIST if `key` has one) with `initial` values (one number
   * for every semaphore, or one per semaphore), then marks it initialised: a semop that changes
   * nothing sets sem_otime, which `open()` waits for. (Creation and initialisation are two calls;
   * without the mark an opener could use the set between them, while every value is still 0.)
   */
  static create(key: number, nsems: number, initial: number | readonly number[] = 0, mode = 0o600): SemaphoreSet {
    checkInteger(nsems, "nsems", 1, 0xffff);
    const values = typeof initial === "number" ? Array<number>(nsems).fill(initial) : [...initial];
    if (values.length !== nsems) throw new RangeError(`${nsems} semaphores need ${nsems} initial values, not ${values.length}`);
    for (const value of values) {
      if (!Number.isInteger(value) || value < 0 || value > SEMVMX) throw new RangeError(`a semaphore value must be an integer from 0 to ${SEMVMX}, not ${value}`);
    }
    const set = new SemaphoreSet(semget(key, nsems, IPC_CREAT | IPC_EXCL | (mode & 0o777)), key);
    try {
      semctlBuffer(set.id, 0, SETALL, Uint16Array.from(values));
      const [first = 0] = values;
      const step = first > 0 ? -1 : 1;
      semop(set.id, [
        { num: 0, op: step, flags: IPC_NOWAIT },
        { num: 0, op: -step, flags: IPC_NOWAIT },
      ]);
    } catch (error) {
      set.remove();
      throw error;
    }
    return set;
  }

  /**
   * Opens the set for `key` (ENOENT if there is none; `nsems` larger than its size is EINVAL) and
   * waits up to `initTimeoutMs` for its creator to initialise it (see create()).
   */
  static open(key: number, nsems = 0, options: { initTimeoutMs?: number } = {}): SemaphoreSet {
    const set = new SemaphoreSet(semget(key, nsems, 0), key);
    const deadline = new Deadline(options.initTimeoutMs ?? 1000);
    while (set.stat().sem_otime === 0) {
      if (deadline.expired) throw new WaitTimeoutError(`semaphore set ${formatKey(key)} was created but never initialised`, options.initTimeoutMs ?? 1000);
      sleepSync(1);
    }
    return set;
  }

  /** Wraps an id from elsewhere (e.g. `ipcs -s`). */
  static fromId(id: number): SemaphoreSet {
    return new SemaphoreSet(id, semStat(id).sem_perm.__key);
  }

  /** semctl(IPC_STAT): the set's `struct semid_ds`. */
  stat(): SemidDsSnapshot {
    return semStat(this.id);
  }

  /** The number of semaphores in the set. */
  get size(): number {
    return this.stat().sem_nsems;
  }

  /** semctl(GETVAL): semaphore `num`'s value. */
  getValue(num = 0): number {
    return semctl(this.id, num, GETVAL);
  }

  /** semctl(SETVAL): sets semaphore `num`'s value, waking waiters it satisfies. */
  setValue(num: number, value: number): void {
    semctl(this.id, num, SETVAL, value);
  }

  /** semctl(GETALL): every value of the set. */
  getAll(): number[] {
    const values = new Uint16Array(this.size);
    semctlBuffer(this.id, 0, GETALL, values);
    return [...values];
  }

  /** semctl(SETALL): sets every value of the set. */
  setAll(values: readonly number[]): void {
    checkSemValues(values);
    semctlBuffer(this.id, 0, SETALL, Uint16Array.from(values));
  }

  /** The pid of the last process that operated on semaphore `num` (GETPID). */
  lastPid(num = 0): number {
    return semctl(this.id, num, GETPID);
  }

  /** How many processes wait for semaphore `num` to grow (GETNCNT). */
  waitingCount(num = 0): number {
    return semctl(this.id, num, GETNCNT);
  }

  /** How many processes wait for semaphore `num` to become zero (GETZCNT). */
  zeroWaitingCount(num = 0): number {
    return semctl(this.id, num, GETZCNT);
  }

  /**
   * Atomic semop over several semaphores, blocking the thread (see semtimedop): false at the
   * timeout. Throws EINTR, having done nothing, when SIGINT, SIGTERM or SIGHUP interrupts it in a
   * program that listens for them, so that the listener can run (see ipc/interrupts.ts).
   */
  op(ops: readonly SemOp[], timeoutMs?: number): boolean {
    return semtimedopSync(this.id, ops, timeoutMs);
  }

  /** Atomic semop over several semaphores without blocking the event loop (see semtimedopAsync). */
  opAsync(ops: readonly SemOp[], options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    return semtimedopAsync(this.id, ops, options);
  }

  /**
   * P: subtracts `count` from semaphore `num`, waiting while that would go below 0. Throws
   * WaitTimeoutError after `timeoutMs`, and EINTR as `op` does.
   */
  acquire(num = 0, count = 1, options: AcquireOptions = {}): void {
    if (!semtimedopSync(this.id, [{ num, op: -checkAcquireCount(count), flags: undoFlag(options) }], options.timeoutMs)) {
      throw new WaitTimeoutError(`semaphore ${num} of set ${this.id}`, options.timeoutMs);
    }
  }

  /** P without blocking the event loop. */
  async acquireAsync(num = 0, count = 1, options: AcquireOptions & { signal?: AbortSignal } = {}): Promise<void> {
    const done = await semtimedopAsync(this.id, [{ num, op: -checkAcquireCount(count), flags: undoFlag(options) }], options);
    if (!done) throw new WaitTimeoutError(`semaphore ${num} of set ${this.id}`, options.timeoutMs);
  }

  /** P if it can be done at once: true if taken. */
  tryAcquire(num = 0, count = 1, options: { undo?: boolean } = {}): boolean {
    return semop(this.id, [{ num, op: -checkAcquireCount(count), flags: undoFlag(options) | IPC_NOWAIT }]);
  }

  /** V: adds `count` to semaphore `num`, waking waiters. With `undo`, pairs with an undo acquire. */
  release(num = 0, count = 1, options: { undo?: boolean } = {}): void {
    semop(this.id, [{ num, op: checkInteger(count, "count", 0, 0x7fff), flags: undoFlag(options) }]);
  }

  /** Acquires semaphore `num` as a lock; `using held = set.lock()` releases it at the end of the block. */
  lock(num = 0, options: AcquireOptions = {}): SemaphoreLock {
    this.acquire(num, 1, options);
    return new SemaphoreLock(this, num, options.undo ?? true);
  }

  /** Like `lock`, waiting without blocking the event loop. */
  async lockAsync(num = 0, options: AcquireOptions & { signal?: AbortSignal } = {}): Promise<SemaphoreLock> {
    await this.acquireAsync(num, 1, options);
    return new SemaphoreLock(this, num, options.undo ?? true);
  }

  /** Changes the owner or mode bits (IPC_SET) — e.g. `setMode(0o666)`. */
  setMode(mode: number): void {
    const buffer = new Uint8Array(SemidDs.size);
    semctlBuffer(this.id, 0, IPC_STAT, buffer);
    const perm = IpcPerm.at(buffer, SemidDs.offsets.sem_perm);
    perm.mode = (perm.mode & ~0o777) | (mode & 0o777);
    semctlBuffer(this.id, 0, IPC_SET, buffer);
  }

  /**
   * semctl(IPC_RMID): the set disappears at once, and every process waiting on it wakes with EIDRM.
   * Idempotent: a set already removed (by anyone) is not an error.
   */
  remove(): void {
    if (this.#removed) return;
    try {
      semctl(this.id, 0, IPC_RMID);
    } catch (error) {
      if (!(error instanceof SystemError && (error.code === "EINVAL" || error.code === "EIDRM"))) throw error;
    }
    this.#removed = true;
  }
}

/** semtimedop for the sync waits: EINTR waits again with the time left, or ends the wait (see ipc/interrupts.ts). */
function semtimedopSync(id: number, ops: readonly SemOp[], timeoutMs: number | undefined): boolean {
  const deadline = new Deadline(timeoutMs);
  // Operations that can be done at once take one semop, without the signal mask of a sleep.
  if (
    semop(
      id,
      ops.map((op) => ({ ...op, flags: (op.flags ?? 0) | IPC_NOWAIT })),
    )
  )
    return true;
  using _sleeping = interruptibleSleep();
  for (;;) {
    try {
      return semtimedop(id, ops, timeoutMs === undefined ? undefined : deadline.remaining());
    } catch (error) {
      if (!isSystemError(error, "EINTR")) throw error;
      interrupted(error);
    }
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` milliseconds (only for the short wait in SemaphoreSet.open). */
function sleepSync(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

// The count becomes sem_op, a C short: an acquire subtracts at most 32768, a release adds at most
// 32767 (more could never succeed anyway: a value never exceeds SEMVMX, 32767).
function checkAcquireCount(count: number): number {
  return checkInteger(count, "count", 0, 0x8000);
}

// SETALL stores each value in an unsigned short (Uint16Array.from would wrap them) and the kernel
// refuses values above SEMVMX.
function checkSemValues(values: readonly number[]): void {
  for (const [index, value] of values.entries()) checkInteger(value, `values[${index}]`, 0, SEMVMX);
}

function undoFlag(options: { undo?: boolean }): number {
  return (options.undo ?? true) ? SEM_UNDO : 0;
}
