/**
 * The ring's bytes, as RING.md specifies them: the header fields and their offsets, the record
 * format, the checks a header must pass before anyone uses it, and `RingHeader`, the view of one
 * ring's header that the reader and the writer share (the peers' states, waking a sleeper). Nothing
 * here waits; ring_waiting.ts does.
 */
import { liveBytes } from "./memory_access.ts";
import { WAKE_ALL, futexWake } from "../libc/linux/futex.ts";
import { isProcessAlive } from "./liveness.ts";
import type { SharedMemory } from "./memory.ts";
import type { Address } from "../ffi/libc.ts";

/** The bytes 'R' 'i' 'n' 'g' read as a little-endian uint32. */
export const RING_MAGIC = 0x676e6952;
/**
 * The layout version in the header; attaching refuses any other. Version 2 gave each word that one
 * side writes often a cache line of its own (version 1 had the waiters flags, the wake counters and
 * the consumer's state on the lines of `tail` and `head`).
 */
export const RING_VERSION = 2;
/** Bytes of the header before the data area. */
export const RING_HEADER_SIZE = 768;
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
/** The largest data area a ring accepts, in bytes. */
const MAX_CAPACITY = 2 ** 30;

/**
 * Byte offsets of the header fields (RING.md explains each). Each 64-byte line is written by one
 * side, and the two written for every message (`tail`, `head`) hold nothing else.
 */
export const RING_OFFSETS = {
  magic: 0,
  version: 4,
  capacity: 8,
  dataOffset: 12,
  producers: 16,
  tail: 64,
  head: 128,
  dataWaiters: 192,
  dataSeq: 196,
  spaceWaiters: 256,
  spaceSeq: 260,
  producerLock: 320,
  closedProducers: 384,
  consumerState: 448,
  consumerPid: 452,
  consumerStartTime: 456,
  slots: 512,
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
/**
 * The consumer's state once it found the ring corrupt (RING.md, What the consumer checks): it reads
 * no further, and producers stop with a RingFormatError. Producer slots never hold it.
 */
export const SIDE_CORRUPT = 4;

/** Word indexes (byte offset / 4) into the header as an Int32Array. */
export const WORD = {
  magic: RING_OFFSETS.magic >> 2,
  version: RING_OFFSETS.version >> 2,
  capacity: RING_OFFSETS.capacity >> 2,
  dataOffset: RING_OFFSETS.dataOffset >> 2,
  producers: RING_OFFSETS.producers >> 2,
  tail: RING_OFFSETS.tail >> 2,
  dataWaiters: RING_OFFSETS.dataWaiters >> 2,
  dataSeq: RING_OFFSETS.dataSeq >> 2,
  closedProducers: RING_OFFSETS.closedProducers >> 2,
  head: RING_OFFSETS.head >> 2,
  spaceWaiters: RING_OFFSETS.spaceWaiters >> 2,
  spaceSeq: RING_OFFSETS.spaceSeq >> 2,
  consumerState: RING_OFFSETS.consumerState >> 2,
  consumerPid: RING_OFFSETS.consumerPid >> 2,
  consumerStartTime: RING_OFFSETS.consumerStartTime >> 2,
  slots: RING_OFFSETS.slots >> 2,
} as const;
const SLOT_WORDS = SLOT_SIZE >> 2;
/** PAD_LENGTH as an Int32Array element reads it. */
export const PAD = PAD_LENGTH | 0;

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

/** The record size of a message of `length` bytes, less its header: `length` rounded up to 8. */
export function align(length: number): number {
  return (length + RECORD_ALIGNMENT - 1) & ~(RECORD_ALIGNMENT - 1);
}

function writeStartTime(words: Int32Array, index: number, startTime: number): void {
  words[index] = (startTime % 2 ** 32) | 0;
  words[index + 1] = Math.floor(startTime / 2 ** 32);
}

function readStartTime(words: Int32Array, index: number): number {
  return (words[index]! >>> 0) + (words[index + 1]! >>> 0) * 2 ** 32;
}

function headerWords(memory: SharedMemory, offset: number): Int32Array {
  const bytes = liveBytes(memory);
  return new Int32Array(bytes.buffer, bytes.byteOffset + offset, RING_HEADER_SIZE >> 2);
}

/** Checks that a ring of `capacity` data bytes can start at `offset` of `memory` (RangeError if not). */
export function checkPlacement(memory: SharedMemory, offset: number, capacity: number): void {
  const available = liveBytes(memory).byteLength - offset - RING_HEADER_SIZE;
  if (!Number.isInteger(capacity) || capacity < MIN_CAPACITY || (capacity & (capacity - 1)) !== 0 || capacity > MAX_CAPACITY) {
    throw new RangeError(`ring capacity must be a power of two from ${MIN_CAPACITY} to 2^30 bytes, not ${capacity}`);
  }
  if (capacity > available) {
    throw new RangeError(`a ring of ${capacity} data bytes needs ${RING_HEADER_SIZE + capacity} bytes; the memory has ${liveBytes(memory).byteLength - offset} after offset ${offset}`);
  }
}

/** Zeroes the header at `offset` and writes a new ring's fields, the magic word last. */
export function writeHeader(memory: SharedMemory, offset: number, capacity: number, producers: number): void {
  const header = headerWords(memory, offset);
  Atomics.store(header, WORD.magic, 0);
  header.fill(0, 1);
  header[WORD.version] = RING_VERSION;
  header[WORD.capacity] = capacity;
  header[WORD.dataOffset] = RING_HEADER_SIZE;
  header[WORD.producers] = producers;
  Atomics.store(header, WORD.magic, RING_MAGIC);
}

/**
 * Checks `head` and `tail` on attach: multiples of 8, and `tail - head` at most the capacity. The
 * two are read tail, head, tail: only when tail did not move in between do they form a pair the
 * invariant holds for (on a live ring tail may keep moving; the consumer checks each tail it loads).
 */
function checkPositions(header: Int32Array, capacity: number): void {
  for (let attempt = 0; attempt < 4; attempt++) {
    const tail = Atomics.load(header, WORD.tail) >>> 0;
    const head = Atomics.load(header, WORD.head) >>> 0;
    if (head % RECORD_ALIGNMENT !== 0) throw new RingFormatError(`corrupt ring header: head is ${head}; it must be a multiple of ${RECORD_ALIGNMENT}`);
    if (tail % RECORD_ALIGNMENT !== 0) throw new RingFormatError(`corrupt ring header: tail is ${tail}; it must be a multiple of ${RECORD_ALIGNMENT}`);
    if (Atomics.load(header, WORD.tail) >>> 0 !== tail) continue;
    const used = (tail - head) >>> 0;
    if (used > capacity) throw new RingFormatError(`corrupt ring header: tail is ${tail} and head ${head}, ${used} bytes apart (mod 2^32); at most the capacity (${capacity}) may be`);
    return;
  }
}

/** Checks every field of the header at `offset` (RING.md, Attaching); a RingFormatError names the field and its value. */
export function checkHeader(memory: SharedMemory, offset: number): void {
  const bytes = liveBytes(memory);
  if (offset + RING_HEADER_SIZE > bytes.byteLength) throw new RingFormatError(`no ring here: the memory is smaller than a ring header (${RING_HEADER_SIZE} bytes)`);
  const header = headerWords(memory, offset);
  const magic = Atomics.load(header, WORD.magic);
  if (magic !== RING_MAGIC)
    throw new RingFormatError(`no ring here (magic 0x${(magic >>> 0).toString(16).padStart(8, "0")}, expected 0x${RING_MAGIC.toString(16)}); has its creator finished setting it up?`);
  const field = (name: string, value: number, rule: string): RingFormatError => new RingFormatError(`corrupt ring header: ${name} is ${value}; ${rule}`);
  const version = header[WORD.version]! >>> 0;
  if (version !== RING_VERSION) {
    const why = version < RING_VERSION ? "it was laid out by an older peer (an earlier @linux-ipc/core, or C written from an earlier RING.md)" : "it was laid out by a newer peer";
    throw new RingFormatError(`ring version ${version} is not supported (this is version ${RING_VERSION}): ${why}; every side of a ring must use the same version`);
  }
  const capacity = header[WORD.capacity]! >>> 0;
  if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw field("capacity", capacity, `it must be a power of two from ${MIN_CAPACITY} to 2^30`);
  }
  const dataOffset = header[WORD.dataOffset]! >>> 0;
  if (dataOffset !== RING_HEADER_SIZE) throw field("data_offset", dataOffset, `it must be ${RING_HEADER_SIZE}`);
  if (offset + RING_HEADER_SIZE + capacity > bytes.byteLength) {
    throw field("capacity", capacity, `the data area does not fit in the memory (${bytes.byteLength - offset - RING_HEADER_SIZE} bytes after the header)`);
  }
  const producers = header[WORD.producers]! >>> 0;
  if (producers < 1 || producers > RING_MAX_PRODUCERS) throw field("producers", producers, `it must be 1 to ${RING_MAX_PRODUCERS}`);
  const closed = Atomics.load(header, WORD.closedProducers) >>> 0;
  if (closed > producers) throw field("closed_producers", closed, `it cannot exceed producers (${producers})`);
  const consumerState = Atomics.load(header, WORD.consumerState) >>> 0;
  if (consumerState > SIDE_CORRUPT) throw field("consumer_state", consumerState, `it must be 0 to ${SIDE_CORRUPT}`);
  for (let slot = 0; slot < RING_MAX_PRODUCERS; slot++) {
    const state = Atomics.load(header, WORD.slots + slot * SLOT_WORDS + 1) >>> 0;
    if (state > (slot < producers ? SIDE_CLAIMING : SIDE_NONE)) {
      throw field(`slots[${slot}].state`, state, slot < producers ? `it must be 0 to ${SIDE_CLAIMING}` : `the ring has ${producers} producer slot${producers === 1 ? "" : "s"}, so it must be 0`);
    }
  }
  checkPositions(header, capacity);
}

/**
 * One ring's header as its reader and writers use it: the words (as an Int32Array over the shared
 * memory), the data area, and what touches the peers' side of the header (claiming a side, telling
 * whether the peer is gone, waking a sleeper). Not part of the package's API.
 */
export class RingHeader {
  readonly memory: SharedMemory;
  /** Where the ring starts in the memory. */
  readonly offset: number;
  readonly words: Int32Array;
  readonly capacity: number;
  readonly producers: number;
  /** The data area, as bytes and as 32-bit words (record headers). */
  readonly data: Uint8Array;
  readonly records: Int32Array;
  readonly #address: Address;

  constructor(memory: SharedMemory, offset: number) {
    this.memory = memory;
    this.offset = offset;
    this.words = headerWords(memory, offset);
    this.#address = memory.address + BigInt(offset);
    this.capacity = this.words[WORD.capacity]! >>> 0;
    this.producers = this.words[WORD.producers]! >>> 0;
    const bytes = liveBytes(memory);
    this.data = new Uint8Array(bytes.buffer, bytes.byteOffset + offset + RING_HEADER_SIZE, this.capacity);
    this.records = new Int32Array(bytes.buffer, bytes.byteOffset + offset + RING_HEADER_SIZE, this.capacity >> 2);
  }

  /** The address of header word `index`, for the futex calls on it. */
  wordAddress(index: number): Address {
    return this.#address + BigInt(index * 4);
  }

  /** The byte offset of the producer lock in the memory. */
  get producerLockOffset(): number {
    return this.offset + RING_OFFSETS.producerLock;
  }

  /** Claims the consumer's side for this process (RING.md, Attaching). */
  claimConsumer(pid: number, startTime: number): void {
    const words = this.words;
    if (Atomics.compareExchange(words, WORD.consumerState, SIDE_NONE, SIDE_CLAIMING) !== SIDE_NONE) {
      const state = Atomics.load(words, WORD.consumerState);
      if (state === SIDE_CORRUPT) throw new RingFormatError("corrupt ring: its consumer found it corrupt and stopped; a ring has one consumer in its life");
      throw new Error(state === SIDE_CLOSED ? "the ring's consumer has closed it; a ring has one consumer in its life" : `the ring already has a consumer (pid ${words[WORD.consumerPid]})`);
    }
    words[WORD.consumerPid] = pid;
    writeStartTime(words, WORD.consumerStartTime, startTime);
    Atomics.store(words, WORD.consumerState, SIDE_ATTACHED);
  }

  /** Claims a free producer slot for this process: its index. */
  claimProducerSlot(pid: number, startTime: number): number {
    const words = this.words;
    for (let slot = 0; slot < this.producers; slot++) {
      const base = WORD.slots + slot * SLOT_WORDS;
      if (Atomics.compareExchange(words, base + 1, SIDE_NONE, SIDE_CLAIMING) !== SIDE_NONE) continue;
      words[base] = pid;
      writeStartTime(words, base + 2, startTime);
      Atomics.store(words, base + 1, SIDE_ATTACHED);
      return slot;
    }
    throw new Error(`the ring was created for ${this.producers} producer${this.producers === 1 ? "" : "s"} and all have attached`);
  }

  /** Ends the consumer's side: `state` is SIDE_CLOSED, or SIDE_CORRUPT when it stopped at a corrupt record. */
  closeConsumer(state: typeof SIDE_CLOSED | typeof SIDE_CORRUPT): void {
    Atomics.store(this.words, WORD.consumerState, state);
    this.notify(WORD.spaceWaiters, WORD.spaceSeq);
  }

  /** Marks producer slot `slot` closed and counts it among the closed producers. */
  closeProducerSlot(slot: number): void {
    Atomics.store(this.words, WORD.slots + slot * SLOT_WORDS + 1, SIDE_CLOSED);
    Atomics.add(this.words, WORD.closedProducers, 1);
  }

  /** Whether every producer the ring was created for has closed. */
  allProducersClosed(): boolean {
    return Atomics.load(this.words, WORD.closedProducers) >= this.producers;
  }

  /** Whether the consumer has stopped for good (closed, or found the ring corrupt); a load of its state word. */
  consumerStopped(): boolean {
    const state = Atomics.load(this.words, WORD.consumerState);
    return state === SIDE_CLOSED || state === SIDE_CORRUPT;
  }

  /**
   * The consumer's state, as seen by a producer: null while it is there (or not yet); a
   * PeerGoneError once it closed or died; a RingFormatError once it found the ring corrupt.
   */
  consumerGone(): PeerGoneError | RingFormatError | null {
    const state = Atomics.load(this.words, WORD.consumerState);
    const pid = this.words[WORD.consumerPid]!;
    if (state === SIDE_CLOSED) return new PeerGoneError(`the consumer (pid ${pid}) closed the ring`, pid);
    if (state === SIDE_CORRUPT) return new RingFormatError(`corrupt ring: the consumer (pid ${pid}) found the ring corrupt and stopped reading`);
    if (state === SIDE_ATTACHED && !isProcessAlive(pid, readStartTime(this.words, WORD.consumerStartTime))) {
      return new PeerGoneError(`the consumer (pid ${pid}) died`, pid);
    }
    return null;
  }

  /** As seen by the consumer: an error once a producer died and none is left alive. */
  producersGone(): PeerGoneError | null {
    let dead = 0;
    for (let slot = 0; slot < this.producers; slot++) {
      const base = WORD.slots + slot * SLOT_WORDS;
      const state = Atomics.load(this.words, base + 1);
      if (state !== SIDE_ATTACHED) continue;
      const pid = this.words[base]!;
      if (isProcessAlive(pid, readStartTime(this.words, base + 2))) return null;
      dead = dead === 0 ? pid : dead;
    }
    return dead === 0 ? null : new PeerGoneError(`the producer (pid ${dead}) died without closing the ring`, dead);
  }

  /** The pid of the consumer, if one is attached. */
  consumerPids(): number[] {
    return Atomics.load(this.words, WORD.consumerState) === SIDE_ATTACHED ? [this.words[WORD.consumerPid]!] : [];
  }

  /** The pids of the attached producers. */
  producerPids(): number[] {
    const pids: number[] = [];
    for (let slot = 0; slot < this.producers; slot++) {
      const base = WORD.slots + slot * SLOT_WORDS;
      if (Atomics.load(this.words, base + 1) === SIDE_ATTACHED) pids.push(this.words[base]!);
    }
    return pids;
  }

  /**
   * Wakes the side sleeping on `seq` if its waiters flag is up (after changing what it watches). The
   * load of the flag is all a message pays; the wake is apart, so that V8 inlines the load into
   * every send and release.
   */
  notify(waiters: number, seq: number): void {
    if (Atomics.load(this.words, waiters) !== 0) this.#wake(waiters, seq);
  }

  #wake(waiters: number, seq: number): void {
    if (Atomics.exchange(this.words, waiters, 0) !== 0) {
      Atomics.add(this.words, seq, 1);
      futexWake(this.wordAddress(seq), WAKE_ALL);
    }
  }
}
