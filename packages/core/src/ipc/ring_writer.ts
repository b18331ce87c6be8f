/**
 * A producer's side of a ring (RING.md): places records at `tail` (a pad first where a record would
 * cross the end of the data area), publishes them by moving `tail`, keeps a cached copy of `head`
 * that it reloads only when the ring looks full, takes the producer lock when the ring has several
 * producers, and waits for room (ring_waiting.ts) when the ring is full.
 */
import { FutexMutex } from "./futex_mutex.ts";
import { ownStartTime } from "./liveness.ts";
import {
  PAD,
  RECORD_ALIGNMENT,
  RECORD_HEADER_SIZE,
  RingFormatError,
  WORD,
  align,
  type RingHeader,
} from "./ring_layout.ts";
import { Waiter, type RingAsyncWaitOptions, type RingWaitOptions, type WaitTuning } from "./ring_waiting.ts";
import type { Ring } from "./ring.ts";

/** A producer's side of a ring. */
export class RingWriter implements Disposable {
  /** The ring written to. */
  readonly ring: Ring;
  /** The ring's data area: write a reserved message at `data[offset ..]`. */
  readonly data: Uint8Array;
  /** Which producer slot this writer holds. */
  readonly slot: number;
  readonly #header: RingHeader;
  readonly #words: Int32Array;
  readonly #records: Int32Array;
  readonly #mask: number;
  readonly #capacity: number;
  readonly #lock: FutexMutex | null;
  readonly #waiter: Waiter;
  #tail = 0;
  #head: number;
  #reservedAt = -1;
  #reservedLength = 0;
  #closed = false;
  // A consumer that closes (or stops at a corrupt record) moves no head: its close must end the wait too.
  readonly #spaceMoved = (): boolean => Atomics.load(this.#words, WORD.head) !== this.#head || this.#header.consumerStopped();
  readonly #check = (): void => {
    const gone = this.#header.consumerGone();
    if (gone !== null) throw gone;
  };

  /** @internal use ring.writer() */
  constructor(ring: Ring, header: RingHeader, tuning: WaitTuning) {
    this.ring = ring;
    this.#header = header;
    this.#words = header.words;
    this.slot = header.claimProducerSlot(process.pid, ownStartTime);
    this.data = header.data;
    this.#records = header.records;
    this.#capacity = header.capacity;
    this.#mask = header.capacity - 1;
    this.#lock = header.producers > 1 ? new FutexMutex(header.memory, header.producerLockOffset) : null;
    this.#head = Atomics.load(this.#words, WORD.head);
    this.#tail = Atomics.load(this.#words, WORD.tail);
    this.#waiter = new Waiter(header, tuning, WORD.spaceWaiters, WORD.spaceSeq, () => header.consumerPids());
  }

  /** Where a reserved message starts in `data` (-1 when none is reserved). */
  get offset(): number {
    return this.#reservedAt;
  }

  /**
   * Reserves room for a message of `length` bytes without waiting: its offset in `data`, or -1 if
   * the ring has no room now (or, with several producers, another holds the lock). Throws
   * PeerGoneError (RingFormatError) instead of -1 when the ring is full because the consumer closed
   * (found the ring corrupt).
   */
  tryReserve(length: number): number {
    this.#checkReservable(length);
    if (this.#lock !== null && !this.#lock.tryLock()) return -1;
    let at = -1;
    try {
      if (this.#lock !== null) this.#reloadPositions();
      at = this.#place(length);
      if (at < 0) this.#throwIfConsumerStopped();
    } finally {
      if (at < 0) this.#lock?.unlock();
    }
    return at;
  }

  /** Reserves room, waiting while the ring is full. Throws PeerGoneError if the consumer is gone. */
  reserve(length: number, options: RingWaitOptions = {}): number {
    this.#checkReservable(length);
    if (this.#lock !== null) {
      this.#lock.lock({ timeoutMs: options.timeoutMs, onSlice: this.#check });
    }
    try {
      // Under the lock, and inside the try: a corrupt position found here must not keep the lock.
      if (this.#lock !== null) this.#reloadPositions();
      for (;;) {
        const at = this.#place(length);
        if (at >= 0) return at;
        this.#throwIfConsumerStopped();
        this.#waiter.wait(this.#spaceMoved, this.#check, "waiting for room in the ring", options);
      }
    } catch (error) {
      this.#lock?.unlock();
      throw error;
    }
  }

  /** Like reserve, without blocking the event loop. */
  async reserveAsync(length: number, options: RingAsyncWaitOptions = {}): Promise<number> {
    this.#checkReservable(length);
    if (this.#lock !== null) {
      await this.#lock.lockAsync({ timeoutMs: options.timeoutMs, signal: options.signal, onSlice: this.#check });
    }
    try {
      // Under the lock, and inside the try: a corrupt position found here must not keep the lock.
      if (this.#lock !== null) this.#reloadPositions();
      for (;;) {
        const at = this.#place(length);
        if (at >= 0) return at;
        this.#throwIfConsumerStopped();
        await this.#waiter.waitAsync(this.#spaceMoved, this.#check, "waiting for room in the ring", options);
      }
    } catch (error) {
      this.#lock?.unlock();
      throw error;
    }
  }

  /**
   * The consumer's state is read here only, where the ring is full and the producer would wait (or
   * tryReserve says no): a state word read for every message would be a second line to fetch.
   */
  #throwIfConsumerStopped(): void {
    if (this.#header.consumerStopped()) throw this.#header.consumerGone()!;
  }

  #checkReservable(length: number): void {
    if (this.#closed) throw new Error("this ring writer is closed");
    if (this.#reservedAt >= 0) throw new Error("a message is already reserved: commit() or cancel() it first");
    if (!Number.isInteger(length) || length < 0 || length > this.ring.maxMessageSize) {
      throw new RangeError(`a message must be 0 to ${this.ring.maxMessageSize} bytes (the ring's capacity less ${RECORD_HEADER_SIZE}), not ${length}`);
    }
  }

  /**
   * With several producers, the other producers have moved `tail` since this one last held the lock,
   * possibly by more than 2^32 bytes: a cached `head` would then make `tail − head` (mod 2^32) look
   * small, and a full ring look free. Both are read afresh under the lock.
   */
  #reloadPositions(): void {
    this.#tail = Atomics.load(this.#words, WORD.tail);
    this.#head = Atomics.load(this.#words, WORD.head);
    this.#checkPositions();
  }

  /**
   * A head or tail that breaks the invariants (multiples of 8, at most the capacity apart) would make
   * the ring look full for ever (the consumer, idle on an empty ring, never stores head again) or put
   * records at misaligned positions: stop with a RingFormatError instead.
   */
  #checkPositions(): void {
    const used = (this.#tail - this.#head) >>> 0;
    if (((this.#tail | this.#head) & (RECORD_ALIGNMENT - 1)) !== 0 || used > this.#capacity) {
      throw new RingFormatError(`corrupt ring: tail ${this.#tail >>> 0} and head ${this.#head >>> 0} are ${used} bytes apart (mod 2^32); they must be multiples of ${RECORD_ALIGNMENT} at most the ${this.#capacity}-byte capacity apart`);
    }
  }

  /** Whether `need` bytes are free at the tail; re-reads the consumer's head only when the cached one says no. */
  #fits(need: number): boolean {
    if (this.#capacity - ((this.#tail - this.#head) >>> 0) >= need) return true;
    this.#head = Atomics.load(this.#words, WORD.head);
    this.#checkPositions();
    return this.#capacity - ((this.#tail - this.#head) >>> 0) >= need;
  }

  /** Places a record at the tail if it fits (writing a pad first when it would cross the end). */
  #place(length: number): number {
    const need = RECORD_HEADER_SIZE + align(length);
    for (;;) {
      const position = this.#tail & this.#mask;
      const contiguous = this.#capacity - position;
      if (need > contiguous) {
        if (!this.#fits(contiguous)) return -1;
        this.#records[position >> 2] = PAD;
        this.#publish((this.#tail + contiguous) | 0);
        continue;
      }
      if (!this.#fits(need)) return -1;
      this.#records[position >> 2] = length;
      this.#records[(position >> 2) + 1] = 0;
      this.#reservedAt = position + RECORD_HEADER_SIZE;
      this.#reservedLength = length;
      return this.#reservedAt;
    }
  }

  #publish(tail: number): void {
    this.#tail = tail;
    Atomics.store(this.#words, WORD.tail, tail);
    this.#header.notify(WORD.dataWaiters, WORD.dataSeq);
  }

  /** Publishes the reserved message, with `length` bytes (at most the reserved length; default all). */
  commit(length = this.#reservedLength): void {
    if (this.#reservedAt < 0) throw new Error("commit() without a reserved message");
    if (!Number.isInteger(length) || length < 0 || length > this.#reservedLength) {
      throw new RangeError(`commit length ${length} is outside the reserved 0..${this.#reservedLength}`);
    }
    const position = this.#reservedAt - RECORD_HEADER_SIZE;
    this.#records[position >> 2] = length;
    this.#reservedAt = -1;
    this.#publish((this.#tail + RECORD_HEADER_SIZE + align(length)) | 0);
    this.#lock?.unlock();
  }

  /** Drops the reserved message unpublished. */
  cancel(): void {
    if (this.#reservedAt < 0) return;
    this.#reservedAt = -1;
    this.#lock?.unlock();
  }

  /** Sends `message` if there is room now: true if sent. */
  trySend(message: Uint8Array): boolean {
    const at = this.tryReserve(message.byteLength);
    if (at < 0) return false;
    this.data.set(message, at);
    this.commit();
    return true;
  }

  /** Copies `message` into the ring, waiting for room. */
  send(message: Uint8Array, options: RingWaitOptions = {}): void {
    const at = this.reserve(message.byteLength, options);
    this.data.set(message, at);
    this.commit();
  }

  /** Like `send`, waiting for room without blocking the event loop. */
  async sendAsync(message: Uint8Array, options: RingAsyncWaitOptions = {}): Promise<void> {
    const at = await this.reserveAsync(message.byteLength, options);
    this.data.set(message, at);
    this.commit();
  }

  /**
   * Waits until the consumer has read everything written so far (e.g. before reporting "done"): by
   * any producer of the ring, up to the tail published when flush is called.
   */
  flush(options: RingWaitOptions = {}): void {
    const passed = this.#passed(Atomics.load(this.#words, WORD.tail));
    if (!passed()) this.#waiter.wait(passed, this.#check, "waiting for the consumer to read everything", options);
  }

  /** Like `flush`, waiting without blocking the event loop. */
  async flushAsync(options: RingAsyncWaitOptions = {}): Promise<void> {
    const passed = this.#passed(Atomics.load(this.#words, WORD.tail));
    if (!passed()) await this.#waiter.waitAsync(passed, this.#check, "waiting for the consumer to read everything", options);
  }

  /**
   * Whether head has reached `target`, a tail published before. Neither "head moved from a value read
   * earlier" (the consumer may have released the last message before that read: no move ever comes)
   * nor "head == tail" (other producers, or other tasks of this one, may commit again before the
   * waiter looks, so it can be true only in moments a sleeper misses) can stand in for it. Head is
   * loaded before tail, so head <= tail, and head is in [target, tail] exactly when it has passed
   * target (mod 2^32, while tail has moved less than 2^32 - capacity bytes since).
   */
  #passed(target: number): () => boolean {
    return () => {
      const head = Atomics.load(this.#words, WORD.head);
      return (head - target) >>> 0 <= (Atomics.load(this.#words, WORD.tail) - target) >>> 0;
    };
  }

  /**
   * Detaches as a producer: once every producer the ring was created for has closed, the consumer
   * reads what is left and then sees the end of the stream. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.cancel();
    this.#closed = true;
    this.#header.closeProducerSlot(this.slot);
    this.#header.notify(WORD.dataWaiters, WORD.dataSeq);
  }

  /** Closes this producer's side, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
