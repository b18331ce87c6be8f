/**
 * The consumer's side of a ring (RING.md): reads records in place from the data area, checks every
 * position and record against the format (a violation ends the stream for both sides), gives bytes
 * back by moving `head`, and waits for data (ring_waiting.ts) when the ring is empty.
 */
import { ownStartTime } from "./liveness.ts";
import {
  PAD,
  RECORD_ALIGNMENT,
  RECORD_HEADER_SIZE,
  RingFormatError,
  SIDE_CLOSED,
  SIDE_CORRUPT,
  WORD,
  align,
  type RingHeader,
} from "./ring_layout.ts";
import { Waiter, type RingAsyncWaitOptions, type RingWaitOptions, type WaitTuning } from "./ring_waiting.ts";
import type { Ring } from "./ring.ts";

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
  readonly #waiter: Waiter;
  #head: number;
  #tail: number;
  #current = -1;
  #currentLength = 0;
  #closed = false;
  /** Set at the first violation of the format: every later read throws it again. */
  #broken: RingFormatError | null = null;
  readonly #dataMoved = (): boolean => Atomics.load(this.#words, WORD.tail) !== this.#tail || this.#allClosed();
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
    this.#mask = header.capacity - 1;
    this.#head = Atomics.load(this.#words, WORD.head);
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

  #allClosed(): boolean {
    return this.#header.allProducersClosed();
  }

  /**
   * The length of the next message (at `offset` in `data`), or -1 if there is none right now.
   * Peeking again before `release()` returns the same message.
   */
  tryPeek(): number {
    if (this.#current >= 0) return this.#currentLength;
    if (this.#broken !== null) throw this.#broken;
    const capacity = this.#header.capacity;
    for (;;) {
      if (this.#head === this.#tail) {
        const tail = Atomics.load(this.#words, WORD.tail);
        if (tail === this.#head) return -1;
        // Checked once per load of tail, not per record: every record is then checked against it.
        if (((tail | this.#head) & (RECORD_ALIGNMENT - 1)) !== 0) {
          throw this.#corrupt(`tail ${tail >>> 0} or head ${this.#head >>> 0} is not a multiple of ${RECORD_ALIGNMENT}`);
        }
        if (((tail - this.#head) >>> 0) > capacity) {
          throw this.#corrupt(`tail ${tail >>> 0} is ${(tail - this.#head) >>> 0} bytes ahead of head ${this.#head >>> 0}, more than the ${capacity}-byte capacity`);
        }
        this.#tail = tail;
      }
      const position = this.#head & this.#mask;
      const published = (this.#tail - this.#head) >>> 0;
      const length = this.#records[position >> 2]!;
      if (length === PAD) {
        // A producer pads only when a record does not fit before the end, which never happens at 0.
        if (position === 0 || capacity - position > published) {
          throw this.#corrupt(`a pad at position ${position} where none belongs (${published} bytes published after head ${this.#head >>> 0})`);
        }
        this.#advance(capacity - position);
        continue;
      }
      if (length < 0 || position + RECORD_HEADER_SIZE + length > capacity) {
        throw this.#corrupt(`a record of ${length >>> 0} bytes at position ${position} crosses the end of the ${capacity}-byte data area`);
      }
      if (RECORD_HEADER_SIZE + align(length) > published) {
        throw this.#corrupt(`a record of ${length} bytes at position ${position} runs past tail ${this.#tail >>> 0} (${published} bytes published after head ${this.#head >>> 0})`);
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
  peek(options: RingWaitOptions = {}): number {
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

  #ended(): boolean {
    return this.#allClosed() && Atomics.load(this.#words, WORD.tail) === this.#head;
  }

  /** Gives the peeked message's bytes back to the producers. */
  release(): void {
    if (this.#current < 0) throw new Error("release() without a peeked message");
    this.#current = -1;
    this.#advance(RECORD_HEADER_SIZE + align(this.#currentLength));
  }

  #advance(bytes: number): void {
    this.#head = (this.#head + bytes) | 0;
    Atomics.store(this.#words, WORD.head, this.#head);
    this.#header.notify(WORD.spaceWaiters, WORD.spaceSeq);
  }

  /** Copies the next message into `into` and releases it: its length, or -1 at the end of the stream. */
  receive(into: Uint8Array, options: RingWaitOptions = {}): number {
    const length = this.peek(options);
    return length < 0 ? -1 : this.#copyOut(into, length);
  }

  /** Like `receive`, waiting without blocking the event loop. */
  async receiveAsync(into: Uint8Array, options: RingAsyncWaitOptions = {}): Promise<number> {
    const length = await this.peekAsync(options);
    return length < 0 ? -1 : this.#copyOut(into, length);
  }

  #copyOut(into: Uint8Array, length: number): number {
    if (length > into.byteLength) throw new RangeError(`a message of ${length} bytes does not fit in a buffer of ${into.byteLength}`);
    into.set(this.data.subarray(this.#current, this.#current + length));
    this.release();
    return length;
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

