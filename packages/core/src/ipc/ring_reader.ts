/**
 * The consumer's side of a ring (RING.md): reads records in place from the data area, checks every
 * position and record against the format (a violation ends the stream for both sides), gives bytes
 * back by moving `head` (once per message, or once per batch with receiveMany), keeps a cached copy
 * of `tail` that it reloads only when the ring looks empty, and waits for data (ring_waiting.ts)
 * when the ring is empty. Whatever it has read but not given back (a pad), it gives back before it
 * waits, so a producer waiting for that room is never left waiting.
 */
import { ownStartTime } from "./liveness.ts";
import { PAD, RECORD_ALIGNMENT, RECORD_HEADER_SIZE, RingFormatError, SIDE_CLOSED, SIDE_CORRUPT, WORD, align, type RingHeader } from "./ring_layout.ts";
import { NO_OPTIONS, Waiter, type RingAsyncWaitOptions, type RingWaitOptions, type WaitTuning } from "./ring_waiting.ts";
import { RingView, invalidateView } from "./ring_view.ts";
import type { Ring } from "./ring.ts";

/** Called by receiveMany for each message, in place: `data[offset .. offset + length]`, valid only during the call. */
export type RingMessageHandler = (data: Uint8Array, offset: number, length: number) => void;

/** Options of receiveMany. */
export interface ReceiveManyOptions extends RingWaitOptions {
  /** The most messages to hand over in one call (default: every message published when it looks). */
  max?: number;
}

/** Options of receiveManyAsync. */
export interface ReceiveManyAsyncOptions extends RingAsyncWaitOptions {
  /** The most messages to hand over in one call (default: every message published when it looks). */
  max?: number;
}

/** The consumer's side of a ring. */
export class RingReader implements Disposable {
  /** The ring read from. */
  readonly ring: Ring;
  /** The ring's data area: a peeked message is `data[offset .. offset + length]`. */
  readonly data: Uint8Array;
  readonly #header: RingHeader;
  readonly #words: Int32Array;
  readonly #records: Int32Array;
  readonly #mask: number;
  readonly #capacity: number;
  readonly #waiter: Waiter;
  /** The position of the next record: ahead of #released while records (or a pad) are read and not given back. */
  #head: number;
  /** The head this reader last stored. */
  #released: number;
  /** The producers' tail as last loaded: reloaded only when it says the ring is empty. */
  #tail: number;
  #current = -1;
  #currentLength = 0;
  #view: RingView | null = null;
  /** The buffer the last receive copied into, its length then, and a word view of it (empty if it does not start at a multiple of 4). */
  #lastInto: Uint8Array | null = null;
  #lastIntoLength = 0;
  #lastIntoWords: Int32Array = new Int32Array(0);
  #closed = false;
  /** Set at the first violation of the format: every later read throws it again. */
  #broken: RingFormatError | null = null;
  readonly #dataMoved = (): boolean => Atomics.load(this.#words, WORD.tail) !== this.#tail || this.#header.allProducersClosed();
  readonly #check = (): void => {
    const gone = this.#header.producersGone();
    if (gone !== null && Atomics.load(this.#words, WORD.tail) === this.#tail) throw gone;
  };

  /** @internal use ring.reader() */
  constructor(ring: Ring, header: RingHeader, tuning: WaitTuning) {
    this.ring = ring;
    this.#header = header;
    this.#words = header.words;
    header.claimConsumer(process.pid, ownStartTime);
    this.data = header.data;
    this.#records = header.records;
    this.#capacity = header.capacity;
    this.#mask = header.capacity - 1;
    this.#head = Atomics.load(this.#words, WORD.head);
    this.#released = this.#head;
    // Equal to head, so that the first tryPeek loads tail and checks it like every later one.
    this.#tail = this.#head;
    this.#waiter = new Waiter(header, tuning, WORD.dataWaiters, WORD.dataSeq, () => header.producerPids());
  }

  /** Where the peeked message starts in `data`. */
  get offset(): number {
    return this.#current;
  }

  /** True once every producer has closed and every message has been read. */
  get ended(): boolean {
    return this.tryPeek() === -1 && this.#ended();
  }

  /**
   * The length of the next message (at `offset` in `data`), or -1 if there is none right now.
   * Peeking again before `release()` returns the same message.
   */
  tryPeek(): number {
    if (this.#current >= 0) return this.#currentLength;
    const length = this.#next();
    if (length < 0) this.#giveBack();
    return length;
  }

  /**
   * Finds the next record after `#head`, checking it (and each tail it loads) against the format;
   * skips pads without giving their bytes back. Its length, with #current set, or -1 if none is
   * published.
   */
  #next(): number {
    if (this.#broken !== null) throw this.#broken;
    const capacity = this.#capacity;
    for (;;) {
      if (this.#head === this.#tail) {
        const tail = Atomics.load(this.#words, WORD.tail);
        if (tail === this.#head) return -1;
        // Checked once per load of tail, not per record: every record is then checked against it.
        if (((tail | this.#head) & (RECORD_ALIGNMENT - 1)) !== 0 || (tail - this.#head) >>> 0 > capacity) throw this.#corrupt(badTail(tail, this.#head, capacity));
        this.#tail = tail;
      }
      const position = this.#head & this.#mask;
      const published = (this.#tail - this.#head) >>> 0;
      const length = this.#records[position >> 2]!;
      if (length === PAD) {
        // A producer pads only when a record does not fit before the end, which never happens at 0.
        if (position === 0 || capacity - position > published) throw this.#corrupt(misplacedPad(position, published, this.#head));
        this.#head = (this.#head + capacity - position) | 0;
        continue;
      }
      if (length < 0 || position + RECORD_HEADER_SIZE + length > capacity || RECORD_HEADER_SIZE + align(length) > published) {
        throw this.#corrupt(badRecord(length, position, capacity, this.#head, this.#tail));
      }
      this.#current = position + RECORD_HEADER_SIZE;
      this.#currentLength = length;
      return length;
    }
  }

  /**
   * Ends the stream for both sides: this reader throws the error from now on, and the consumer's
   * state becomes SIDE_CORRUPT, so producers stop with a RingFormatError instead of waiting for room
   * a reader that cannot go on will never make.
   */
  #corrupt(problem: string): RingFormatError {
    this.#broken = new RingFormatError(`corrupt ring: ${problem}; the consumer stopped reading and closed its side`);
    if (!this.#closed) {
      this.#closed = true;
      this.#header.closeConsumer(SIDE_CORRUPT);
    }
    return this.#broken;
  }

  /** Waits for the next message: its length, or -1 once the stream has ended (every producer closed). */
  peek(options: RingWaitOptions = NO_OPTIONS): number {
    for (;;) {
      const length = this.tryPeek();
      if (length >= 0) return length;
      if (this.#ended()) return -1;
      this.#waiter.wait(this.#dataMoved, this.#check, "waiting for a message", options);
    }
  }

  /** Like peek, without blocking the event loop. */
  async peekAsync(options: RingAsyncWaitOptions = {}): Promise<number> {
    for (;;) {
      const length = this.tryPeek();
      if (length >= 0) return length;
      if (this.#ended()) return -1;
      await this.#waiter.waitAsync(this.#dataMoved, this.#check, "waiting for a message", options);
    }
  }

  /**
   * Waits for the next message and returns a view of it in place, or null once the stream has
   * ended. `release()` gives it back; the view is valid until then (its `bytes` throws after).
   * Peeking again before `release()` returns the same view.
   */
  peekView(options: RingWaitOptions = NO_OPTIONS): RingView | null {
    return this.peek(options) < 0 ? null : this.#currentView();
  }

  /** Like peekView without waiting: null when there is no message now (see `ended`). */
  tryPeekView(): RingView | null {
    return this.tryPeek() < 0 ? null : this.#currentView();
  }

  /** Like peekView, waiting without blocking the event loop. */
  async peekViewAsync(options: RingAsyncWaitOptions = {}): Promise<RingView | null> {
    return (await this.peekAsync(options)) < 0 ? null : this.#currentView();
  }

  #currentView(): RingView {
    this.#view ??= new RingView(this.data.subarray(this.#current, this.#current + this.#currentLength));
    return this.#view;
  }

  #ended(): boolean {
    return this.#header.allProducersClosed() && Atomics.load(this.#words, WORD.tail) === this.#head;
  }

  /** Gives the peeked message's bytes back to the producers. */
  release(): void {
    if (this.#current < 0) throw new Error("release() without a peeked message");
    this.#consume();
    this.#giveBack();
  }

  /** Moves past the current message, without giving its bytes back yet. */
  #consume(): void {
    this.#current = -1;
    this.#head = (this.#head + RECORD_HEADER_SIZE + align(this.#currentLength)) | 0;
    if (this.#view !== null) {
      invalidateView(this.#view, "released");
      this.#view = null;
    }
  }

  /** Stores head if it moved since the last store, and wakes producers sleeping for room. */
  #giveBack(): void {
    if (this.#head === this.#released) return;
    this.#released = this.#head;
    Atomics.store(this.#words, WORD.head, this.#head);
    this.#header.notify(WORD.spaceWaiters, WORD.spaceSeq);
  }

  /** Copies the next message into `into` and releases it: its length, or -1 at the end of the stream. */
  receive(into: Uint8Array, options: RingWaitOptions = NO_OPTIONS): number {
    const length = this.peek(options);
    return length < 0 ? -1 : this.#copyOut(into, length);
  }

  /** Like `receive`, waiting without blocking the event loop. */
  async receiveAsync(into: Uint8Array, options: RingAsyncWaitOptions = {}): Promise<number> {
    const length = await this.peekAsync(options);
    return length < 0 ? -1 : this.#copyOut(into, length);
  }

  #copyOut(into: Uint8Array, length: number): number {
    // `length`, not `byteLength` (equal for a Uint8Array): Node 20's V8 inlines only the first.
    const room = into.length;
    if (length > room) throw tooSmall(length, into);
    if (into !== this.#lastInto || room !== this.#lastIntoLength) this.#copyInto(into);
    const from = this.#current;
    const target = this.#lastIntoWords;
    if (length > SHORT_COPY || target.length === 0) {
      into.set(this.data.subarray(from, from + length));
    } else {
      // A short message is copied by 32-bit words (its start in the ring is 8-aligned): cheaper than
      // the subarray `set` needs, and than a byte loop.
      const source = this.#records;
      const words = length >> 2;
      const first = from >> 2;
      for (let i = 0; i < words; i++) target[i] = source[first + i]!;
      for (let i = words << 2; i < length; i++) into[i] = this.data[from + i]!;
    }
    this.release();
    return length;
  }

  /** Keeps a word view of `into` for the next short copies (none if it does not start at a multiple of 4). */
  #copyInto(into: Uint8Array): void {
    this.#lastInto = into;
    this.#lastIntoLength = into.length;
    this.#lastIntoWords = (into.byteOffset & 3) === 0 ? new Int32Array(into.buffer, into.byteOffset, into.length >> 2) : new Int32Array(0);
  }

  /**
   * Hands every message published now (at most `max`) to `handle`, in place and in order, then gives
   * their bytes back with one store of `head` for the batch: how many it handed over (0 if none).
   * The bytes are valid only during the call to `handle`. If `handle` throws, the messages before
   * are given back and the one it threw on stays next (peek returns it).
   */
  tryReceiveMany(handle: RingMessageHandler, max = Number.POSITIVE_INFINITY): number {
    let count = 0;
    try {
      while (count < max) {
        const length = this.#current >= 0 ? this.#currentLength : this.#next();
        if (length < 0) break;
        handle(this.data, this.#current, length);
        this.#consume();
        count++;
      }
    } finally {
      this.#giveBack();
    }
    return count;
  }

  /**
   * Waits for at least one message, then hands over every message published (see tryReceiveMany):
   * how many, or -1 once the stream has ended.
   */
  receiveMany(handle: RingMessageHandler, options: ReceiveManyOptions = NO_OPTIONS): number {
    return this.peek(options) < 0 ? -1 : this.tryReceiveMany(handle, options.max);
  }

  /** Like `receiveMany`, waiting without blocking the event loop. */
  async receiveManyAsync(handle: RingMessageHandler, options: ReceiveManyAsyncOptions = {}): Promise<number> {
    return (await this.peekAsync(options)) < 0 ? -1 : this.tryReceiveMany(handle, options.max);
  }

  /** Detaches as the consumer: producers waiting for room learn it with a PeerGoneError. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#header.closeConsumer(SIDE_CLOSED);
  }

  /** Closes the consumer's side, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Messages up to this length are copied out by words rather than with a subarray `set`. */
const SHORT_COPY = 256;

// The errors' messages are built apart from the methods that find them: V8 inlines a method whose
// bytecode is small, and template strings are most of #next's.

function badTail(tail: number, head: number, capacity: number): string {
  return ((tail | head) & (RECORD_ALIGNMENT - 1)) !== 0
    ? `tail ${tail >>> 0} or head ${head >>> 0} is not a multiple of ${RECORD_ALIGNMENT}`
    : `tail ${tail >>> 0} is ${(tail - head) >>> 0} bytes ahead of head ${head >>> 0}, more than the ${capacity}-byte capacity`;
}

function misplacedPad(position: number, published: number, head: number): string {
  return `a pad at position ${position} where none belongs (${published} bytes published after head ${head >>> 0})`;
}

function badRecord(length: number, position: number, capacity: number, head: number, tail: number): string {
  return length < 0 || position + RECORD_HEADER_SIZE + length > capacity
    ? `a record of ${length >>> 0} bytes at position ${position} crosses the end of the ${capacity}-byte data area`
    : `a record of ${length} bytes at position ${position} runs past tail ${tail >>> 0} (${(tail - head) >>> 0} bytes published after head ${head >>> 0})`;
}

function tooSmall(length: number, into: Uint8Array): RangeError {
  return new RangeError(`a message of ${length} bytes does not fit in a buffer of ${into.byteLength}`);
}
