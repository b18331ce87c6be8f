/**
 * A message ring (the shmfifo the tutorials list among their next topics) over any shared mapping: a SysV
 * segment, a memfd, POSIX shm or a file. Variable-length messages, one consumer, one or several
 * producers; lock-free between the producer and the consumer (Atomics on the mapping), waits that
 * spin briefly and then sleep on a futex (an idle side uses no CPU), backpressure when full, and
 * detection of a peer process that died. The byte layout and the protocol are in RING.md, precise
 * enough for a C program to join (the ring tests run C producers and consumers against it).
 *
 * The sync waits (peek, receive, reserve, send, flush) throw a SystemError EINTR, having taken or
 * published nothing, when SIGINT, SIGTERM or SIGHUP interrupts them in a program that listens for
 * it, so that its listener can run (see ipc/interrupts.ts).
 *
 * Reading and writing copy nothing but what the caller copies: `reserve()` returns where to write a
 * message in `writer.data` and `commit()` publishes it; `peek()` returns the length of the next
 * message, at `reader.offset` in `reader.data`, and `release()` gives its bytes back. None of them
 * allocates, and while the other side keeps up none makes a system call. `send()` copies a message
 * in (no allocation either); `receive()` copies one out (through one small view object).
 *
 * Every wait has a sync form (blocks the thread; sleeps in slices of PEER_CHECK_MS to check the
 * peer) and an async form (the same slices, slept by a word-waiter thread so the event loop stays
 * free; see word_waiter.ts).
 */
import { FutexMutex } from "./futex_mutex.ts";
import { interrupted, interruptibleSleep } from "./interrupts.ts";
import type { SharedMemory } from "./memory.ts";
import { WAKE_ALL, futexWaitOnce, futexWake } from "../libc/linux/futex.ts";
import { waitForWord } from "./word_waiter.ts";
import { isProcessAlive, ownStartTime } from "./liveness.ts";
import { allowedCpus } from "./procfs.ts";
import { PEER_CHECK_MS, WaitTimeoutError, abortReason } from "./timeouts.ts";
import { Deadline } from "../libc/time.ts";
import { Errno, SystemError } from "../libc/errno.ts";
import type { Address } from "../ffi/libc.ts";

/** The bytes 'R' 'i' 'n' 'g' read as a little-endian uint32. */
export const RING_MAGIC = 0x676e6952;
/** The layout version in the header; attaching refuses any other. */
export const RING_VERSION = 1;
/** Bytes of the header before the data area. */
export const RING_HEADER_SIZE = 512;
/** The most producers a ring has slots for. */
export const RING_MAX_PRODUCERS = 16;
/** Every message is preceded by this header: uint32 length, uint32 reserved (0). */
export const RECORD_HEADER_SIZE = 8;
/** Records start at multiples of 8 in the data area. */
export const RECORD_ALIGNMENT = 8;
/** A record length that means: nothing more fits before the end of the data area; go to its start. */
export const PAD_LENGTH = 0xffffffff;
/** The smallest data area a ring accepts, in bytes. */
export const MIN_CAPACITY = 64;
/**
 * How long a waiting side spins on Atomics.load before it sleeps, by default. When this process and
 * every peer it waits for may run only on the same one CPU (their affinity masks, looked at again
 * every AFFINITY_RECHECK_MS), it does not spin: there, spinning only keeps the peer from running
 * (measured: a 64 B round trip of 107 µs spinning, 4.4 µs sleeping at once).
 */
export const DEFAULT_SPIN_MICROS = 50;
const AFFINITY_RECHECK_MS = 100;

/** Whether this process and every one of `peers` may run only on one and the same CPU. */
function sharesOneCpuWith(peers: readonly number[]): boolean {
  const mine = allowedCpus("self");
  if (mine.length !== 1 || peers.length === 0) return false;
  return peers.every((pid) => {
    const theirs = allowedCpus(pid);
    return theirs.length === 1 && theirs[0] === mine[0];
  });
}

/** Byte offsets of the header fields (RING.md explains each). */
export const RING_OFFSETS = {
  magic: 0,
  version: 4,
  capacity: 8,
  dataOffset: 12,
  producers: 16,
  tail: 64,
  dataWaiters: 68,
  dataSeq: 72,
  producerLock: 76,
  closedProducers: 80,
  head: 128,
  spaceWaiters: 132,
  spaceSeq: 136,
  consumerState: 140,
  consumerPid: 144,
  consumerStartTime: 152,
  slots: 192,
  data: RING_HEADER_SIZE,
} as const;
/** A producer slot: int32 pid, uint32 state, uint64 start time. */
export const SLOT_SIZE = 16;

/** The state words of the consumer and of each producer slot. */
export const SIDE_NONE = 0;
/** Side state: a live process holds this side. */
export const SIDE_ATTACHED = 1;
/** Side state: its process closed it; a waiting peer sees the end of the stream. */
export const SIDE_CLOSED = 2;
/** A slot being claimed: pid and start time are being written. */
export const SIDE_CLAIMING = 3;

// Word indexes (byte offset / 4) into the header as an Int32Array.
const MAGIC = RING_OFFSETS.magic >> 2;
const VERSION = RING_OFFSETS.version >> 2;
const CAPACITY = RING_OFFSETS.capacity >> 2;
const DATA_OFFSET = RING_OFFSETS.dataOffset >> 2;
const PRODUCERS = RING_OFFSETS.producers >> 2;
const TAIL = RING_OFFSETS.tail >> 2;
const DATA_WAITERS = RING_OFFSETS.dataWaiters >> 2;
const DATA_SEQ = RING_OFFSETS.dataSeq >> 2;
const CLOSED_PRODUCERS = RING_OFFSETS.closedProducers >> 2;
const HEAD = RING_OFFSETS.head >> 2;
const SPACE_WAITERS = RING_OFFSETS.spaceWaiters >> 2;
const SPACE_SEQ = RING_OFFSETS.spaceSeq >> 2;
const CONSUMER_STATE = RING_OFFSETS.consumerState >> 2;
const CONSUMER_PID = RING_OFFSETS.consumerPid >> 2;
const CONSUMER_START = RING_OFFSETS.consumerStartTime >> 2;
const SLOTS = RING_OFFSETS.slots >> 2;
const SLOT_WORDS = SLOT_SIZE >> 2;
const PAD = PAD_LENGTH | 0;

/** Thrown when the process on the other side of a ring died or closed it while this side needs it. */
export class PeerGoneError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_PEER_GONE";
  /** The pid of the process that is gone (0 if it closed normally or is unknown). */
  readonly pid: number;
  constructor(message: string, pid: number) {
    super(message);
    this.pid = pid;
  }
}

/** Thrown when memory does not hold a ring of this version. */
export class RingFormatError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_RING_FORMAT";
}

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

/** Options of `Ring.create`. */
export interface CreateRingOptions {
  /** Data bytes: a power of two, at least 64 (default: the largest that fits in the memory). */
  capacity?: number;
  /** How many producers will write (1 to 16, default 1); with more than 1 they share a lock. */
  producers?: number;
  /** Where the ring starts in the memory (a multiple of 64, default 0). */
  offset?: number;
}

function align(length: number): number {
  return (length + RECORD_ALIGNMENT - 1) & ~(RECORD_ALIGNMENT - 1);
}

function largestPowerOfTwoAtMost(value: number): number {
  return value < 1 ? 0 : 2 ** Math.floor(Math.log2(value));
}

function writeStartTime(words: Int32Array, index: number, startTime: number): void {
  words[index] = startTime % 2 ** 32 | 0;
  words[index + 1] = Math.floor(startTime / 2 ** 32);
}

function readStartTime(words: Int32Array, index: number): number {
  return (words[index]! >>> 0) + (words[index + 1]! >>> 0) * 2 ** 32;
}

/**
 * Checks `head` and `tail` on attach: multiples of 8, and `tail - head` at most the capacity. The
 * two are read tail, head, tail: only when tail did not move in between do they form a pair the
 * invariant holds for (on a live ring tail may keep moving; the consumer checks each tail it loads).
 */
function checkPositions(header: Int32Array, capacity: number): void {
  for (let attempt = 0; attempt < 4; attempt++) {
    const tail = Atomics.load(header, TAIL) >>> 0;
    const head = Atomics.load(header, HEAD) >>> 0;
    if (head % RECORD_ALIGNMENT !== 0) throw new RingFormatError(`corrupt ring header: head is ${head}; it must be a multiple of ${RECORD_ALIGNMENT}`);
    if (tail % RECORD_ALIGNMENT !== 0) throw new RingFormatError(`corrupt ring header: tail is ${tail}; it must be a multiple of ${RECORD_ALIGNMENT}`);
    if (Atomics.load(header, TAIL) >>> 0 !== tail) continue;
    const used = (tail - head) >>> 0;
    if (used > capacity) throw new RingFormatError(`corrupt ring header: tail is ${tail} and head ${head}, ${used} bytes apart (mod 2^32); at most the capacity (${capacity}) may be`);
    return;
  }
}

/** A ring laid out in shared memory. Make one with `Ring.create` (once) or `Ring.attach`. */
export class Ring {
  /** The shared memory the ring lives in. */
  readonly memory: SharedMemory;
  /** Where the ring starts in the memory. */
  readonly offset: number;
  /** Bytes in the data area (a power of two). */
  readonly capacity: number;
  /** How many producers the ring was created for. */
  readonly producers: number;
  /** The largest message a producer can send (the whole data area less one record header). */
  readonly maxMessageSize: number;
  /** @internal */
  readonly words: Int32Array;
  /** @internal */
  readonly headerAddress: Address;

  private constructor(memory: SharedMemory, offset: number) {
    const bytes = memory.bytes;
    if (!Number.isInteger(offset) || offset < 0 || offset % 64 !== 0 || (bytes.byteOffset + offset) % 64 !== 0) {
      throw new RangeError(`a ring must start at a multiple of 64 bytes (offset ${offset})`);
    }
    if (offset + RING_HEADER_SIZE > bytes.byteLength) {
      throw new RangeError(`a ring needs at least ${RING_HEADER_SIZE + MIN_CAPACITY} bytes; the memory has ${bytes.byteLength - offset} after offset ${offset}`);
    }
    this.memory = memory;
    this.offset = offset;
    this.words = new Int32Array(bytes.buffer, bytes.byteOffset + offset, RING_HEADER_SIZE >> 2);
    this.headerAddress = memory.address + BigInt(offset);
    this.capacity = this.words[CAPACITY]! >>> 0;
    this.producers = this.words[PRODUCERS]! >>> 0;
    this.maxMessageSize = this.capacity - RECORD_HEADER_SIZE;
  }

  /** The bytes a ring with `capacity` data bytes occupies. */
  static bytesNeeded(capacity: number): number {
    return RING_HEADER_SIZE + capacity;
  }

  /**
   * Lays out an empty ring in `memory` (zeroing the header) and returns it. Exactly one process
   * creates it, before producers and the consumer attach. The magic word is written last, so an
   * attach that comes too early fails instead of reading half a header.
   */
  static create(memory: SharedMemory, options: CreateRingOptions = {}): Ring {
    const offset = options.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0 || offset % 64 !== 0) throw new RangeError(`a ring must start at a multiple of 64 bytes (offset ${offset})`);
    const available = memory.bytes.byteLength - offset - RING_HEADER_SIZE;
    const capacity = options.capacity ?? largestPowerOfTwoAtMost(available);
    const producers = options.producers ?? 1;
    if (!Number.isInteger(capacity) || capacity < MIN_CAPACITY || (capacity & (capacity - 1)) !== 0 || capacity > 2 ** 30) {
      throw new RangeError(`ring capacity must be a power of two from ${MIN_CAPACITY} to 2^30 bytes, not ${capacity}`);
    }
    if (capacity > available) {
      throw new RangeError(`a ring of ${capacity} data bytes needs ${Ring.bytesNeeded(capacity)} bytes; the memory has ${memory.bytes.byteLength - offset} after offset ${offset}`);
    }
    if (!Number.isInteger(producers) || producers < 1 || producers > RING_MAX_PRODUCERS) {
      throw new RangeError(`a ring has 1 to ${RING_MAX_PRODUCERS} producers, not ${producers}`);
    }
    const bytes = memory.bytes;
    const header = new Int32Array(bytes.buffer, bytes.byteOffset + offset, RING_HEADER_SIZE >> 2);
    Atomics.store(header, MAGIC, 0);
    header.fill(0, 1);
    header[VERSION] = RING_VERSION;
    header[CAPACITY] = capacity;
    header[DATA_OFFSET] = RING_HEADER_SIZE;
    header[PRODUCERS] = producers;
    Atomics.store(header, MAGIC, RING_MAGIC);
    return new Ring(memory, offset);
  }

  /**
   * The ring another process created at `offset` of `memory`. Every header field is checked first
   * (RING.md, Attaching): a capacity that is not a power of two, for one, would make a producer wait
   * for room that never comes. A RingFormatError names the field and its value.
   */
  static attach(memory: SharedMemory, offset = 0): Ring {
    if (!Number.isInteger(offset) || offset < 0 || offset % 64 !== 0) throw new RangeError(`a ring starts at a multiple of 64 bytes (offset ${String(offset)})`);
    const bytes = memory.bytes;
    if (offset + RING_HEADER_SIZE > bytes.byteLength) throw new RingFormatError(`no ring here: the memory is smaller than a ring header (${RING_HEADER_SIZE} bytes)`);
    const header = new Int32Array(bytes.buffer, bytes.byteOffset + offset, RING_HEADER_SIZE >> 2);
    const magic = Atomics.load(header, MAGIC);
    if (magic !== RING_MAGIC) throw new RingFormatError(`no ring here (magic 0x${(magic >>> 0).toString(16).padStart(8, "0")}, expected 0x${RING_MAGIC.toString(16)}); has its creator finished setting it up?`);
    const field = (name: string, value: number, rule: string): RingFormatError => new RingFormatError(`corrupt ring header: ${name} is ${value}; ${rule}`);
    const version = header[VERSION]! >>> 0;
    if (version !== RING_VERSION) throw new RingFormatError(`ring version ${version} is not supported (this is version ${RING_VERSION})`);
    const capacity = header[CAPACITY]! >>> 0;
    if (capacity < MIN_CAPACITY || capacity > 2 ** 30 || (capacity & (capacity - 1)) !== 0) {
      throw field("capacity", capacity, `it must be a power of two from ${MIN_CAPACITY} to 2^30`);
    }
    const dataOffset = header[DATA_OFFSET]! >>> 0;
    if (dataOffset !== RING_HEADER_SIZE) throw field("data_offset", dataOffset, `it must be ${RING_HEADER_SIZE}`);
    if (offset + RING_HEADER_SIZE + capacity > bytes.byteLength) {
      throw field("capacity", capacity, `the data area does not fit in the memory (${bytes.byteLength - offset - RING_HEADER_SIZE} bytes after the header)`);
    }
    const producers = header[PRODUCERS]! >>> 0;
    if (producers < 1 || producers > RING_MAX_PRODUCERS) throw field("producers", producers, `it must be 1 to ${RING_MAX_PRODUCERS}`);
    const closed = Atomics.load(header, CLOSED_PRODUCERS) >>> 0;
    if (closed > producers) throw field("closed_producers", closed, `it cannot exceed producers (${producers})`);
    const consumerState = Atomics.load(header, CONSUMER_STATE) >>> 0;
    if (consumerState > SIDE_CLAIMING) throw field("consumer_state", consumerState, `it must be 0 to ${SIDE_CLAIMING}`);
    for (let slot = 0; slot < RING_MAX_PRODUCERS; slot++) {
      const state = Atomics.load(header, SLOTS + slot * SLOT_WORDS + 1) >>> 0;
      if (state > (slot < producers ? SIDE_CLAIMING : SIDE_NONE)) {
        throw field(`slots[${slot}].state`, state, slot < producers ? `it must be 0 to ${SIDE_CLAIMING}` : `the ring has ${producers} producer slot${producers === 1 ? "" : "s"}, so it must be 0`);
      }
    }
    checkPositions(header, capacity);
    return new Ring(memory, offset);
  }

  /** The read position (uint32; see RING.md, Positions): bytes consumed since the ring was created. */
  get head(): number {
    return Atomics.load(this.words, HEAD) >>> 0;
  }

  /** The write position (uint32): bytes published since the ring was created. */
  get tail(): number {
    return Atomics.load(this.words, TAIL) >>> 0;
  }

  /** True while a consumer is attached (it has not closed, and was not found dead). */
  get hasConsumer(): boolean {
    return Atomics.load(this.words, CONSUMER_STATE) === SIDE_ATTACHED;
  }

  /** Bytes written and not yet read. */
  get used(): number {
    return (Atomics.load(this.words, TAIL) - Atomics.load(this.words, HEAD)) >>> 0;
  }

  /** Attaches this process as a producer (takes a free producer slot). */
  writer(options: WaitTuning = {}): RingWriter {
    return new RingWriter(this, options);
  }

  /** Attaches this process as the consumer; a ring has one. */
  reader(options: WaitTuning = {}): RingReader {
    return new RingReader(this, options);
  }

  /** @internal a view of the data area. */
  dataView(): Uint8Array {
    const bytes = this.memory.bytes;
    return new Uint8Array(bytes.buffer, bytes.byteOffset + this.offset + RING_HEADER_SIZE, this.capacity);
  }

  /** @internal the address of header word `index`, for the futex calls on it. */
  wordAddress(index: number): Address {
    return this.headerAddress + BigInt(index * 4);
  }

  /** @internal the consumer's state, as seen by a producer: null while it is there (or not yet). */
  consumerGone(): PeerGoneError | null {
    const state = Atomics.load(this.words, CONSUMER_STATE);
    const pid = this.words[CONSUMER_PID]!;
    if (state === SIDE_CLOSED) return new PeerGoneError(`the consumer (pid ${pid}) closed the ring`, pid);
    if (state === SIDE_ATTACHED && !isProcessAlive(pid, readStartTime(this.words, CONSUMER_START))) {
      return new PeerGoneError(`the consumer (pid ${pid}) died`, pid);
    }
    return null;
  }

  /** @internal as seen by the consumer: an error once a producer died and none is left alive. */
  producersGone(): PeerGoneError | null {
    let dead = 0;
    for (let slot = 0; slot < this.producers; slot++) {
      const base = SLOTS + slot * SLOT_WORDS;
      const state = Atomics.load(this.words, base + 1);
      if (state !== SIDE_ATTACHED) continue;
      const pid = this.words[base]!;
      if (isProcessAlive(pid, readStartTime(this.words, base + 2))) return null;
      dead = dead === 0 ? pid : dead;
    }
    return dead === 0 ? null : new PeerGoneError(`the producer (pid ${dead}) died without closing the ring`, dead);
  }

  /** @internal the pid of the consumer, if one is attached. */
  consumerPids(): number[] {
    return Atomics.load(this.words, CONSUMER_STATE) === SIDE_ATTACHED ? [this.words[CONSUMER_PID]!] : [];
  }

  /** @internal the pids of the attached producers. */
  producerPids(): number[] {
    const pids: number[] = [];
    for (let slot = 0; slot < this.producers; slot++) {
      const base = SLOTS + slot * SLOT_WORDS;
      if (Atomics.load(this.words, base + 1) === SIDE_ATTACHED) pids.push(this.words[base]!);
    }
    return pids;
  }

  /** @internal wakes the side sleeping on `seq` if its waiters flag is up (after changing state). */
  notify(waiters: number, seq: number): void {
    if (Atomics.load(this.words, waiters) !== 0 && Atomics.exchange(this.words, waiters, 0) !== 0) {
      Atomics.add(this.words, seq, 1);
      futexWake(this.wordAddress(seq), WAKE_ALL);
    }
  }
}

/**
 * The shared part of waiting: spin on `moved()` for the spin budget, then sleep on the futex word
 * `seq` with the waiters flag up, in slices; after each slice `check()` may throw (peer gone).
 * Returns when `moved()` is true.
 */
class Waiter {
  readonly #ring: Ring;
  /** The spin asked for in WaitTuning, or null for the default, which depends on the CPUs allowed. */
  readonly #tunedSpinMs: number | null;
  readonly #peers: () => number[];
  #defaultSpinMs = DEFAULT_SPIN_MICROS / 1000;
  #affinityCheckedAt = Number.NEGATIVE_INFINITY;
  readonly #waiters: number;
  readonly #seq: number;
  readonly #seqAddress: Address;

  constructor(ring: Ring, tuning: WaitTuning, waiters: number, seq: number, peers: () => number[]) {
    this.#ring = ring;
    this.#peers = peers;
    this.#tunedSpinMs = tuning.spinMicros === undefined ? null : tuning.spinMicros / 1000;
    this.#waiters = waiters;
    this.#seq = seq;
    this.#seqAddress = ring.wordAddress(seq);
  }

  spin(moved: () => boolean): boolean {
    const now = performance.now();
    if (this.#tunedSpinMs === null && now >= this.#affinityCheckedAt + AFFINITY_RECHECK_MS) {
      this.#affinityCheckedAt = now;
      this.#defaultSpinMs = sharesOneCpuWith(this.#peers()) ? 0 : DEFAULT_SPIN_MICROS / 1000;
    }
    const spinMs = this.#tunedSpinMs ?? this.#defaultSpinMs;
    if (spinMs <= 0) return moved();
    const end = now + spinMs;
    for (;;) {
      for (let i = 0; i < 64; i++) if (moved()) return true;
      if (performance.now() >= end) return false;
    }
  }

  /** The value to sleep on, or null if `moved()` became true while raising the flag. */
  #prepare(moved: () => boolean): number | null {
    const words = this.#ring.words;
    const seq = Atomics.load(words, this.#seq);
    Atomics.store(words, this.#waiters, 1);
    return moved() ? null : seq;
  }

  wait(moved: () => boolean, check: () => void, what: string, options: RingWaitOptions): void {
    if (this.spin(moved)) return;
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
    if (this.spin(moved)) return;
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

/** The consumer's side of a ring. */
export class RingReader implements Disposable {
  /** The ring read from. */
  readonly ring: Ring;
  /** The ring's data area: a peeked message is `data[offset .. offset + length]`. */
  readonly data: Uint8Array;
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
  readonly #dataMoved = (): boolean => Atomics.load(this.#words, TAIL) !== this.#tail || this.#allClosed();
  readonly #check = (): void => {
    const gone = this.ring.producersGone();
    if (gone !== null && Atomics.load(this.#words, TAIL) === this.#tail) throw gone;
  };

  /** @internal use ring.reader() */
  constructor(ring: Ring, tuning: WaitTuning) {
    this.ring = ring;
    this.#words = ring.words;
    const words = ring.words;
    if (Atomics.compareExchange(words, CONSUMER_STATE, SIDE_NONE, SIDE_CLAIMING) !== SIDE_NONE) {
      const state = Atomics.load(words, CONSUMER_STATE);
      throw new Error(state === SIDE_CLOSED ? "the ring's consumer has closed it; a ring has one consumer in its life" : `the ring already has a consumer (pid ${words[CONSUMER_PID]})`);
    }
    words[CONSUMER_PID] = process.pid;
    writeStartTime(words, CONSUMER_START, ownStartTime);
    Atomics.store(words, CONSUMER_STATE, SIDE_ATTACHED);
    this.data = ring.dataView();
    this.#records = new Int32Array(this.data.buffer, this.data.byteOffset, ring.capacity >> 2);
    this.#mask = ring.capacity - 1;
    this.#head = Atomics.load(words, HEAD);
    // Equal to head, so that the first tryPeek loads tail and checks it like every later one.
    this.#tail = this.#head;
    this.#waiter = new Waiter(ring, tuning, DATA_WAITERS, DATA_SEQ, () => ring.producerPids());
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
    return Atomics.load(this.#words, CLOSED_PRODUCERS) >= this.ring.producers;
  }

  /**
   * The length of the next message (at `offset` in `data`), or -1 if there is none right now.
   * Peeking again before `release()` returns the same message.
   */
  tryPeek(): number {
    if (this.#current >= 0) return this.#currentLength;
    if (this.#broken !== null) throw this.#broken;
    const capacity = this.ring.capacity;
    for (;;) {
      if (this.#head === this.#tail) {
        const tail = Atomics.load(this.#words, TAIL);
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
   * Ends the stream for both sides: this reader throws the error from now on, and the consumer's side
   * closes, so producers stop with PeerGoneError instead of waiting for room a reader that cannot
   * go on will never make.
   */
  #corrupt(problem: string): RingFormatError {
    this.#broken = new RingFormatError(`corrupt ring: ${problem}; the consumer stopped reading and closed its side`);
    this.close();
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
    return this.#allClosed() && Atomics.load(this.#words, TAIL) === this.#head;
  }

  /** Gives the peeked message's bytes back to the producers. */
  release(): void {
    if (this.#current < 0) throw new Error("release() without a peeked message");
    this.#current = -1;
    this.#advance(RECORD_HEADER_SIZE + align(this.#currentLength));
  }

  #advance(bytes: number): void {
    this.#head = (this.#head + bytes) | 0;
    Atomics.store(this.#words, HEAD, this.#head);
    this.ring.notify(SPACE_WAITERS, SPACE_SEQ);
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
    Atomics.store(this.#words, CONSUMER_STATE, SIDE_CLOSED);
    this.ring.notify(SPACE_WAITERS, SPACE_SEQ);
  }

  /** Closes the consumer's side, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A producer's side of a ring. */
export class RingWriter implements Disposable {
  /** The ring written to. */
  readonly ring: Ring;
  /** The ring's data area: write a reserved message at `data[offset ..]`. */
  readonly data: Uint8Array;
  /** Which producer slot this writer holds. */
  readonly slot: number;
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
  readonly #spaceMoved = (): boolean => Atomics.load(this.#words, HEAD) !== this.#head || Atomics.load(this.#words, CONSUMER_STATE) === SIDE_CLOSED;
  readonly #check = (): void => {
    const gone = this.ring.consumerGone();
    if (gone !== null) throw gone;
  };

  /** @internal use ring.writer() */
  constructor(ring: Ring, tuning: WaitTuning) {
    this.ring = ring;
    this.#words = ring.words;
    this.slot = this.#claimSlot();
    this.data = ring.dataView();
    this.#records = new Int32Array(this.data.buffer, this.data.byteOffset, ring.capacity >> 2);
    this.#capacity = ring.capacity;
    this.#mask = ring.capacity - 1;
    this.#lock = ring.producers > 1 ? new FutexMutex(ring.memory, ring.offset + RING_OFFSETS.producerLock) : null;
    this.#head = Atomics.load(this.#words, HEAD);
    this.#tail = Atomics.load(this.#words, TAIL);
    this.#waiter = new Waiter(ring, tuning, SPACE_WAITERS, SPACE_SEQ, () => ring.consumerPids());
  }

  #claimSlot(): number {
    const words = this.#words;
    for (let slot = 0; slot < this.ring.producers; slot++) {
      const base = SLOTS + slot * SLOT_WORDS;
      if (Atomics.compareExchange(words, base + 1, SIDE_NONE, SIDE_CLAIMING) !== SIDE_NONE) continue;
      words[base] = process.pid;
      writeStartTime(words, base + 2, ownStartTime);
      Atomics.store(words, base + 1, SIDE_ATTACHED);
      return slot;
    }
    throw new Error(`the ring was created for ${this.ring.producers} producer${this.ring.producers === 1 ? "" : "s"} and all have attached`);
  }

  /** Where a reserved message starts in `data` (-1 when none is reserved). */
  get offset(): number {
    return this.#reservedAt;
  }

  /**
   * Reserves room for a message of `length` bytes without waiting: its offset in `data`, or -1 if
   * the ring has no room now (or, with several producers, another holds the lock).
   */
  tryReserve(length: number): number {
    this.#checkReservable(length);
    if (this.#lock !== null && !this.#lock.tryLock()) return -1;
    let at = -1;
    try {
      if (this.#lock !== null) this.#reloadPositions();
      at = this.#place(length);
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
        this.#throwIfConsumerClosed();
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
        this.#throwIfConsumerClosed();
        await this.#waiter.waitAsync(this.#spaceMoved, this.#check, "waiting for room in the ring", options);
      }
    } catch (error) {
      this.#lock?.unlock();
      throw error;
    }
  }

  #throwIfConsumerClosed(): void {
    if (Atomics.load(this.#words, CONSUMER_STATE) === SIDE_CLOSED) throw this.ring.consumerGone()!;
  }

  #checkReservable(length: number): void {
    if (this.#closed) throw new Error("this ring writer is closed");
    this.#throwIfConsumerClosed();
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
    this.#tail = Atomics.load(this.#words, TAIL);
    this.#head = Atomics.load(this.#words, HEAD);
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
    this.#head = Atomics.load(this.#words, HEAD);
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
    Atomics.store(this.#words, TAIL, tail);
    this.ring.notify(DATA_WAITERS, DATA_SEQ);
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
    const passed = this.#passed(Atomics.load(this.#words, TAIL));
    if (!passed()) this.#waiter.wait(passed, this.#check, "waiting for the consumer to read everything", options);
  }

  /** Like `flush`, waiting without blocking the event loop. */
  async flushAsync(options: RingAsyncWaitOptions = {}): Promise<void> {
    const passed = this.#passed(Atomics.load(this.#words, TAIL));
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
      const head = Atomics.load(this.#words, HEAD);
      return (head - target) >>> 0 <= (Atomics.load(this.#words, TAIL) - target) >>> 0;
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
    Atomics.store(this.#words, SLOTS + this.slot * SLOT_WORDS + 1, SIDE_CLOSED);
    Atomics.add(this.#words, CLOSED_PRODUCERS, 1);
    this.ring.notify(DATA_WAITERS, DATA_SEQ);
  }

  /** Closes this producer's side, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
