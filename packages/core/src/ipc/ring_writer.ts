/**
 * A producer's side of a ring (RING.md): places records at `tail` (a pad first where a record would
 * cross the end of the data area), publishes them by moving `tail` (once per message, or once per
 * batch with sendMany), keeps a cached copy of `head` that it reloads only when the ring looks full,
 * takes the producer lock when the ring has several producers, and waits for room
 * (ring_waiting.ts) when the ring is full. Whatever it has written but not published, it publishes
 * before it waits, so the consumer can always make the room it waits for.
 */
import { FutexMutex } from "./futex_mutex.ts";
import { ownStartTime } from "./liveness.ts";
import { PAD, RECORD_ALIGNMENT, RECORD_HEADER_SIZE, RingFormatError, WORD, align, type RingHeader } from "./ring_layout.ts";
import { NO_OPTIONS, Waiter, type RingAsyncWaitOptions, type RingWaitOptions, type WaitTuning } from "./ring_waiting.ts";
import { RingView, invalidateView } from "./ring_view.ts";
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
  readonly #maxMessageSize: number;
  readonly #lock: FutexMutex | null;
  readonly #waiter: Waiter;
  /** Where the next record goes: ahead of #published while records (or a pad) are written but not published. */
  #tail: number;
  /** The tail this writer last stored. */
  #published: number;
  /** The consumer's head as last loaded: reloaded only when it says the ring is full. */
  #head: number;
  #reservedAt = -1;
  #reservedLength = 0;
  #view: RingView | null = null;
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
    this.#maxMessageSize = header.capacity - RECORD_HEADER_SIZE;
    this.#lock = header.producers > 1 ? new FutexMutex(header.memory, header.producerLockOffset) : null;
    this.#head = Atomics.load(this.#words, WORD.head);
    this.#tail = Atomics.load(this.#words, WORD.tail);
    this.#published = this.#tail;
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
    this.#checkIdle();
    this.#checkLength(length);
    if (this.#lock !== null && !this.#lock.tryLock()) return -1;
    let at = -1;
    try {
      if (this.#lock !== null) this.#reloadPositions();
      at = this.#place(length);
      if (at < 0) this.#cannotPlace();
    } finally {
      if (at < 0) this.#lock?.unlock();
    }
    return this.#reserved(at, length);
  }

  /** Reserves room, waiting while the ring is full. Throws PeerGoneError if the consumer is gone. */
  reserve(length: number, options: RingWaitOptions = NO_OPTIONS): number {
    this.#checkIdle();
    this.#checkLength(length);
    if (this.#lock !== null) this.#lock.lock({ timeoutMs: options.timeoutMs, onSlice: this.#check });
    try {
      // Under the lock, and inside the try: a corrupt position found here must not keep the lock.
      if (this.#lock !== null) this.#reloadPositions();
      for (;;) {
        const at = this.#place(length);
        if (at >= 0) return this.#reserved(at, length);
        this.#cannotPlace();
        this.#waiter.wait(this.#spaceMoved, this.#check, "waiting for room in the ring", options);
      }
    } catch (error) {
      this.#lock?.unlock();
      throw error;
    }
  }

  /** Like reserve, without blocking the event loop. */
  async reserveAsync(length: number, options: RingAsyncWaitOptions = {}): Promise<number> {
    this.#checkIdle();
    this.#checkLength(length);
    if (this.#lock !== null) await this.#lock.lockAsync({ timeoutMs: options.timeoutMs, signal: options.signal, onSlice: this.#check });
    try {
      // Under the lock, and inside the try: a corrupt position found here must not keep the lock.
      if (this.#lock !== null) this.#reloadPositions();
      for (;;) {
        const at = this.#place(length);
        if (at >= 0) return this.#reserved(at, length);
        this.#cannotPlace();
        await this.#waiter.waitAsync(this.#spaceMoved, this.#check, "waiting for room in the ring", options);
      }
    } catch (error) {
      this.#lock?.unlock();
      throw error;
    }
  }

  /**
   * Reserves room for a message of `length` bytes, waiting while the ring is full, and returns a
   * view of it to write in place; `commit()` publishes it. The view is valid until `commit()` or
   * `cancel()`: its `bytes` throws after that (see RingView).
   */
  reserveView(length: number, options: RingWaitOptions = NO_OPTIONS): RingView {
    return this.#viewAt(this.reserve(length, options));
  }

  /** Like reserveView without waiting: null when there is no room now (as tryReserve's -1). */
  tryReserveView(length: number): RingView | null {
    const at = this.tryReserve(length);
    return at < 0 ? null : this.#viewAt(at);
  }

  /** Like reserveView, waiting without blocking the event loop. */
  async reserveViewAsync(length: number, options: RingAsyncWaitOptions = {}): Promise<RingView> {
    return this.#viewAt(await this.reserveAsync(length, options));
  }

  #viewAt(at: number): RingView {
    this.#view = new RingView(this.data.subarray(at, at + this.#reservedLength));
    return this.#view;
  }

  #reserved(at: number, length: number): number {
    if (at >= 0) {
      this.#reservedAt = at;
      this.#reservedLength = length;
    }
    return at;
  }

  /**
   * Where the ring is full: publishes what this writer wrote and has not published (a pad), so the
   * consumer can go past it and make the room; and reads the consumer's state, here only, where the
   * producer would wait (or tryReserve says no): a state word read for every message would be one
   * more line to fetch.
   */
  #cannotPlace(): void {
    this.#publish();
    if (this.#header.consumerStopped()) throw this.#header.consumerGone()!;
  }

  #checkIdle(): void {
    if (this.#closed) throw new Error("this ring writer is closed");
    if (this.#reservedAt >= 0) throw new Error("a message is already reserved: commit() or cancel() it first");
  }

  #checkLength(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.#maxMessageSize) throw badLength(length, this.#maxMessageSize);
  }

  /**
   * With several producers, the other producers have moved `tail` since this one last held the lock,
   * possibly by more than 2^32 bytes: a cached `head` would then make `tail − head` (mod 2^32) look
   * small, and a full ring look free. Both are read afresh under the lock.
   */
  #reloadPositions(): void {
    this.#tail = Atomics.load(this.#words, WORD.tail);
    this.#published = this.#tail;
    this.#head = Atomics.load(this.#words, WORD.head);
    this.#checkPositions();
  }

  /**
   * A head or tail that breaks the invariants (multiples of 8, at most the capacity apart) would make
   * the ring look full for ever (the consumer, idle on an empty ring, never stores head again) or put
   * records at misaligned positions: stop with a RingFormatError instead.
   */
  #checkPositions(): void {
    if (((this.#tail | this.#head) & (RECORD_ALIGNMENT - 1)) !== 0 || (this.#tail - this.#head) >>> 0 > this.#capacity) {
      throw corruptPositions(this.#tail, this.#head, this.#capacity);
    }
  }

  /** Whether `need` bytes are free at the tail; re-reads the consumer's head only when the cached one says no. */
  #fits(need: number): boolean {
    if (this.#capacity - ((this.#tail - this.#head) >>> 0) >= need) return true;
    this.#head = Atomics.load(this.#words, WORD.head);
    this.#checkPositions();
    return this.#capacity - ((this.#tail - this.#head) >>> 0) >= need;
  }

  /**
   * Writes a record header for `length` bytes at the tail if the record fits (a pad first when it
   * would cross the end): the message's offset in `data`, or -1. Publishes nothing: the record
   * counts once `#tail` is moved past it and stored.
   */
  #place(length: number): number {
    const need = RECORD_HEADER_SIZE + align(length);
    let position = this.#tail & this.#mask;
    const contiguous = this.#capacity - position;
    if (need > contiguous) {
      if (!this.#fits(contiguous)) return -1;
      this.#records[position >> 2] = PAD;
      this.#tail = (this.#tail + contiguous) | 0;
      position = 0;
    }
    if (!this.#fits(need)) return -1;
    this.#records[position >> 2] = length;
    this.#records[(position >> 2) + 1] = 0;
    return position + RECORD_HEADER_SIZE;
  }

  /** Stores the tail if records were written since the last store, and wakes a sleeping consumer. */
  #publish(): void {
    if (this.#tail === this.#published) return;
    this.#published = this.#tail;
    Atomics.store(this.#words, WORD.tail, this.#tail);
    this.#header.notify(WORD.dataWaiters, WORD.dataSeq);
  }

  /** Publishes the reserved message, with `length` bytes (at most the reserved length; default all). */
  commit(length = this.#reservedLength): void {
    if (this.#reservedAt < 0) throw new Error("commit() without a reserved message");
    if (!Number.isInteger(length) || length < 0 || length > this.#reservedLength) throw badCommitLength(length, this.#reservedLength);
    this.#records[(this.#reservedAt - RECORD_HEADER_SIZE) >> 2] = length;
    this.#reservedAt = -1;
    this.#endView("committed");
    this.#tail = (this.#tail + RECORD_HEADER_SIZE + align(length)) | 0;
    this.#publish();
    this.#lock?.unlock();
  }

  /** Drops the reserved message unpublished. */
  cancel(): void {
    if (this.#reservedAt < 0) return;
    this.#reservedAt = -1;
    this.#endView("cancelled");
    // A pad written before the record goes with it; the next record writes it again.
    this.#tail = this.#published;
    this.#lock?.unlock();
  }

  #endView(how: string): void {
    if (this.#view === null) return;
    invalidateView(this.#view, how);
    this.#view = null;
  }

  /**
   * A send's common case in a few loads and stores: one producer, nothing reserved, and room before
   * the end of the data area by the cached head. Writes the record header and returns the message's
   * offset; -1 leaves the send to `reserve`, which also reloads head, pads, waits and throws.
   * (Message lengths are read as `length`, not `byteLength`, which equals it for a Uint8Array:
   * Node 20's V8 does not inline `byteLength`, a generic property load of about 10 ns.)
   */
  #placeQuickly(length: number): number {
    if (this.#lock !== null || this.#reservedAt >= 0 || this.#closed || !(length <= this.#maxMessageSize)) return -1;
    const need = RECORD_HEADER_SIZE + align(length);
    const position = this.#tail & this.#mask;
    if (need > this.#capacity - position || need > this.#capacity - ((this.#tail - this.#head) >>> 0)) return -1;
    this.#records[position >> 2] = length;
    this.#records[(position >> 2) + 1] = 0;
    return position + RECORD_HEADER_SIZE;
  }

  /** Copies `message` to `at`, where #placeQuickly put its record, and publishes it. */
  #sendPlaced(message: Uint8Array, at: number, length: number): void {
    this.data.set(message, at);
    this.#tail = (this.#tail + RECORD_HEADER_SIZE + align(length)) | 0;
    this.#publish();
  }

  /** Sends `message` if there is room now: true if sent. */
  trySend(message: Uint8Array): boolean {
    const length = message.length;
    const placed = this.#placeQuickly(length);
    if (placed >= 0) {
      this.#sendPlaced(message, placed, length);
      return true;
    }
    const at = this.tryReserve(length);
    if (at < 0) return false;
    this.data.set(message, at);
    this.commit();
    return true;
  }

  /** Copies `message` into the ring, waiting for room. */
  send(message: Uint8Array, options: RingWaitOptions = NO_OPTIONS): void {
    const length = message.length;
    const placed = this.#placeQuickly(length);
    if (placed >= 0) {
      this.#sendPlaced(message, placed, length);
      return;
    }
    this.data.set(message, this.reserve(length, options));
    this.commit();
  }

  /** Like `send`, waiting for room without blocking the event loop. */
  async sendAsync(message: Uint8Array, options: RingAsyncWaitOptions = {}): Promise<void> {
    const length = message.length;
    const placed = this.#placeQuickly(length);
    if (placed >= 0) {
      this.#sendPlaced(message, placed, length);
      return;
    }
    this.data.set(message, await this.reserveAsync(length, options));
    this.commit();
  }

  /**
   * Copies each of `messages` into the ring, in order, and publishes them with one store of `tail`
   * (and at most one wake of the consumer) for the batch, rather than one per message. When the ring
   * fills, what is written so far is published before waiting for room. A message too large for the
   * ring is refused (RangeError) before any is sent.
   */
  sendMany(messages: readonly Uint8Array[], options: RingWaitOptions = NO_OPTIONS): void {
    this.#checkBatch(messages);
    if (this.#lock !== null) this.#lock.lock({ timeoutMs: options.timeoutMs, onSlice: this.#check });
    try {
      if (this.#lock !== null) this.#reloadPositions();
      for (let sent = 0; ; ) {
        sent = this.#writeBatch(messages, sent);
        if (sent === messages.length) break;
        this.#cannotPlace();
        this.#waiter.wait(this.#spaceMoved, this.#check, "waiting for room in the ring", options);
      }
    } finally {
      this.#publish();
      this.#lock?.unlock();
    }
  }

  /** Like `sendMany`, waiting for room without blocking the event loop. */
  async sendManyAsync(messages: readonly Uint8Array[], options: RingAsyncWaitOptions = {}): Promise<void> {
    this.#checkBatch(messages);
    if (this.#lock !== null) await this.#lock.lockAsync({ timeoutMs: options.timeoutMs, signal: options.signal, onSlice: this.#check });
    try {
      if (this.#lock !== null) this.#reloadPositions();
      for (let sent = 0; ; ) {
        sent = this.#writeBatch(messages, sent);
        if (sent === messages.length) break;
        this.#cannotPlace();
        await this.#waiter.waitAsync(this.#spaceMoved, this.#check, "waiting for room in the ring", options);
      }
    } finally {
      this.#publish();
      this.#lock?.unlock();
    }
  }

  /**
   * Sends as many of `messages` as there is room for now, in order, with one store of `tail`: how
   * many it sent (0 also when, with several producers, another holds the lock).
   */
  trySendMany(messages: readonly Uint8Array[]): number {
    this.#checkBatch(messages);
    if (this.#lock !== null && !this.#lock.tryLock()) return 0;
    let sent = 0;
    try {
      if (this.#lock !== null) this.#reloadPositions();
      sent = this.#writeBatch(messages, 0);
      if (sent === 0 && messages.length > 0) this.#cannotPlace();
    } finally {
      this.#publish();
      this.#lock?.unlock();
    }
    return sent;
  }

  #checkBatch(messages: readonly Uint8Array[]): void {
    this.#checkIdle();
    for (const message of messages) this.#checkLength(message.length);
  }

  /** Writes messages from `first` on while they fit, without publishing them: the index of the first one left. */
  #writeBatch(messages: readonly Uint8Array[], first: number): number {
    const data = this.data;
    let index = first;
    for (; index < messages.length; index++) {
      const message = messages[index]!;
      const length = message.length;
      const at = this.#place(length);
      if (at < 0) break;
      data.set(message, at);
      this.#tail = (this.#tail + RECORD_HEADER_SIZE + align(length)) | 0;
    }
    return index;
  }

  /**
   * Waits until the consumer has read everything written so far (e.g. before reporting "done"): by
   * any producer of the ring, up to the tail published when flush is called.
   */
  flush(options: RingWaitOptions = NO_OPTIONS): void {
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

// The errors' messages are built apart from the methods that throw them: V8 inlines a method whose
// bytecode is small, and a template string is most of a small method's bytecode.

function badLength(length: number, largest: number): RangeError {
  return new RangeError(`a message must be 0 to ${largest} bytes (the ring's capacity less ${RECORD_HEADER_SIZE}), not ${length}`);
}

function badCommitLength(length: number, reserved: number): RangeError {
  return new RangeError(`commit length ${length} is outside the reserved 0..${reserved}`);
}

function corruptPositions(tail: number, head: number, capacity: number): RingFormatError {
  return new RingFormatError(
    `corrupt ring: tail ${tail >>> 0} and head ${head >>> 0} are ${(tail - head) >>> 0} bytes apart (mod 2^32); they must be multiples of ${RECORD_ALIGNMENT} at most the ${capacity}-byte capacity apart`,
  );
}
