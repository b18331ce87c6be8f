/**
 * How a side of a ring waits for the other (RING.md, Waiting and waking): spin on the watched word
 * for a while, then raise its waiters flag and sleep on a futex word in slices of PEER_CHECK_MS,
 * checking after each slice whether the peer is gone. The sync form sleeps in this thread; the
 * async form has a word-waiter thread sleep for it (word_waiter.ts), so the event loop stays free.
 */
import { interrupted, interruptibleSleep } from "./interrupts.ts";
import { futexWaitOnce } from "../libc/linux/futex.ts";
import { waitForWord } from "./word_waiter.ts";
import { allowedCpus } from "./procfs.ts";
import { PEER_CHECK_MS, WaitTimeoutError, abortReason } from "./timeouts.ts";
import { Deadline } from "../libc/time.ts";
import { Errno, SystemError } from "../libc/errno.ts";
import type { Address } from "../ffi/libc.ts";
import type { RingHeader } from "./ring_layout.ts";

/**
 * How long a waiting side spins on Atomics.load before it sleeps, by default. When this process and
 * every peer it waits for may run only on the same one CPU (their affinity masks, looked at again
 * every AFFINITY_RECHECK_MS), it does not spin: there, spinning only keeps the peer from running
 * (measured: a 64 B round trip of 107 µs spinning, 4.4 µs sleeping at once).
 */
export const DEFAULT_SPIN_MICROS = 50;
const AFFINITY_RECHECK_MS = 100;
/**
 * Spins in a row that may see no progress before a waiter stops spinning. Two processes allowed
 * the same CPUs that the scheduler put on one CPU (or that other load leaves one CPU) look just
 * like that: while one spins the other cannot run, so every spin runs to its end in vain.
 */
const FRUITLESS_SPINS = 3;
/**
 * For how many waits a waiter then spins only briefly before it tries a full spin again: doubling
 * from the first to the last while full spins keep failing.
 */
const FIRST_QUIET_WAITS = 8;
const LAST_QUIET_WAITS = 1024;
/**
 * The brief spin of those quiet times: a few loads (well under a microsecond), which catch a peer
 * on another CPU that was about to move anyway, and cost next to nothing on a CPU shared with it.
 */
const QUIET_CHECKS = 16;

/** How a waiting side of a ring waits. */
export interface WaitTuning {
  /** Microseconds a waiting side spins before it sleeps (default 50, or 0 for a process allowed one CPU only; 0 sleeps at once). */
  spinMicros?: number;
}

/** Options of the ring's blocking waits. */
export interface RingWaitOptions {
  /** Gives up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

/** Options of the ring's async waits. */
export interface RingAsyncWaitOptions extends RingWaitOptions {
  /** Stops waiting: the promise rejects with the signal's reason as soon as it aborts. */
  signal?: AbortSignal;
}

/** The options of a call given none: one shared object, so a call on the fast path allocates nothing. */
export const NO_OPTIONS: Readonly<RingWaitOptions> = Object.freeze({});

/** Whether this process and every one of `peers` may run only on one and the same CPU. */
function sharesOneCpuWith(peers: readonly number[]): boolean {
  const mine = allowedCpus("self");
  if (mine.length !== 1 || peers.length === 0) return false;
  return peers.every((pid) => {
    const theirs = allowedCpus(pid);
    return theirs.length === 1 && theirs[0] === mine[0];
  });
}

/**
 * One side's waiting: spin on `moved()` for the spin budget, then sleep on the futex word `seq` with
 * the waiters flag `waiters` up, in slices; after each slice `check()` may throw (peer gone).
 * Returns when `moved()` is true.
 */
export class Waiter {
  readonly #words: Int32Array;
  /** The spin asked for in WaitTuning, or null for the default, which depends on the CPUs allowed. */
  readonly #tunedSpinMs: number | null;
  readonly #peers: () => number[];
  #defaultSpinMs = DEFAULT_SPIN_MICROS / 1000;
  #affinityCheckedAt = Number.NEGATIVE_INFINITY;
  /** Spins in a row that saw no progress. */
  #fruitless = 0;
  /** Waits left that only glance before they sleep: spinning was found not to help. */
  #quietWaits = 0;
  #quietLength = FIRST_QUIET_WAITS;
  readonly #waiters: number;
  readonly #seq: number;
  readonly #seqAddress: Address;

  constructor(header: RingHeader, tuning: WaitTuning, waiters: number, seq: number, peers: () => number[]) {
    this.#words = header.words;
    this.#peers = peers;
    this.#tunedSpinMs = tuning.spinMicros === undefined ? null : tuning.spinMicros / 1000;
    this.#waiters = waiters;
    this.#seq = seq;
    this.#seqAddress = header.wordAddress(seq);
  }

  /**
   * Spins until `moved()` or the spin budget is spent: whether it moved. Spins not at all when this
   * process and its peers may run only on one CPU, and only briefly for a while after
   * FRUITLESS_SPINS spins in a row saw nothing move (the wait's own history: on a CPU shared with the
   * peer, or with a peer much slower than the spin, spinning only burns the CPU). An explicit
   * spinMicros is spun as asked.
   */
  #spin(moved: () => boolean): boolean {
    if (moved()) return true;
    const now = performance.now();
    if (this.#tunedSpinMs === null) {
      if (now >= this.#affinityCheckedAt + AFFINITY_RECHECK_MS) {
        this.#affinityCheckedAt = now;
        this.#defaultSpinMs = sharesOneCpuWith(this.#peers()) ? 0 : DEFAULT_SPIN_MICROS / 1000;
      }
      if (this.#quietWaits > 0) {
        this.#quietWaits--;
        for (let i = 0; i < QUIET_CHECKS; i++) if (moved()) return true;
        return false;
      }
    }
    const spinMs = this.#tunedSpinMs ?? this.#defaultSpinMs;
    if (spinMs <= 0) return false;
    const end = now + spinMs;
    for (;;) {
      for (let i = 0; i < 64; i++) {
        if (moved()) {
          this.#fruitless = 0;
          this.#quietLength = FIRST_QUIET_WAITS;
          return true;
        }
      }
      if (performance.now() >= end) break;
    }
    if (this.#tunedSpinMs === null && ++this.#fruitless >= FRUITLESS_SPINS) {
      this.#fruitless = 0;
      this.#quietWaits = this.#quietLength;
      this.#quietLength = Math.min(this.#quietLength * 2, LAST_QUIET_WAITS);
    }
    return false;
  }

  /** The value to sleep on, or null if `moved()` became true while raising the flag. */
  #prepare(moved: () => boolean): number | null {
    const seq = Atomics.load(this.#words, this.#seq);
    Atomics.store(this.#words, this.#waiters, 1);
    return moved() ? null : seq;
  }

  wait(moved: () => boolean, check: () => void, what: string, options: RingWaitOptions): void {
    if (this.#spin(moved)) return;
    using _sleeping = interruptibleSleep();
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      const seq = this.#prepare(moved);
      if (seq === null) return;
      const result = futexWaitOnce(this.#seqAddress, seq, deadline.slice(PEER_CHECK_MS));
      if (result === "interrupted") interrupted(new SystemError(Errno.EINTR!, "futex"));
      if (result === "timed-out") {
        if (moved()) return;
        check();
        if (deadline.expired) throw new WaitTimeoutError(what, options.timeoutMs);
      }
      if (moved()) return;
    }
  }

  async waitAsync(moved: () => boolean, check: () => void, what: string, options: RingAsyncWaitOptions): Promise<void> {
    if (this.#spin(moved)) return;
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      const seq = this.#prepare(moved);
      if (seq === null) return;
      if ((await waitForWord(this.#seqAddress, seq, { timeoutMs: deadline.slice(PEER_CHECK_MS), signal: options.signal })) === "timed-out") {
        if (moved()) return;
        check();
        if (deadline.expired) throw new WaitTimeoutError(what, options.timeoutMs);
      }
      if (moved()) return;
    }
  }
}
