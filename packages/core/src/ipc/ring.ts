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
import { isReadOnly, liveBytes } from "./memory_access.ts";
import { MemoryAccessError, type SharedMemory } from "./memory.ts";
import { RING_HEADER_SIZE, RECORD_HEADER_SIZE, MIN_CAPACITY, RING_MAX_PRODUCERS, RingHeader, WORD, SIDE_ATTACHED, checkHeader, checkPlacement, writeHeader } from "./ring_layout.ts";
import type { WaitTuning } from "./ring_waiting.ts";
import { RingReader } from "./ring_reader.ts";
import { RingWriter } from "./ring_writer.ts";

export {
  RING_MAGIC,
  RING_VERSION,
  RING_HEADER_SIZE,
  RING_MAX_PRODUCERS,
  RECORD_HEADER_SIZE,
  RECORD_ALIGNMENT,
  PAD_LENGTH,
  MIN_CAPACITY,
  RING_OFFSETS,
  SLOT_SIZE,
  SIDE_NONE,
  SIDE_ATTACHED,
  SIDE_CLOSED,
  SIDE_CLAIMING,
  SIDE_CORRUPT,
  PeerGoneError,
  RingFormatError,
} from "./ring_layout.ts";
export { DEFAULT_SPIN_MICROS, type WaitTuning, type RingWaitOptions, type RingAsyncWaitOptions } from "./ring_waiting.ts";
export { RingReader, type RingMessageHandler, type ReceiveManyOptions, type ReceiveManyAsyncOptions } from "./ring_reader.ts";
export { RingView } from "./ring_view.ts";
export { RingWriter } from "./ring_writer.ts";

/** Options of `Ring.create`. */
export interface CreateRingOptions {
  /** Data bytes: a power of two, at least 64 (default: the largest that fits in the memory). */
  capacity?: number;
  /** How many producers will write (1 to 16, default 1); with more than 1 they share a lock. */
  producers?: number;
  /** Where the ring starts in the memory (a multiple of 64, default 0). */
  offset?: number;
}

function largestPowerOfTwoAtMost(value: number): number {
  return value < 1 ? 0 : 2 ** Math.floor(Math.log2(value));
}

// Read-only memory (an SHM_RDONLY attachment, a PROT_READ mapping) can watch a ring (head, tail,
// used), but a store into it would kill the process with SIGSEGV.
function refuseReadOnly(memory: SharedMemory, who: string): void {
  if (isReadOnly(memory))
    throw new MemoryAccessError("ring's memory", "write", `; ${who} stores positions and states, so attach or map it writable (read-only, a ring can only be watched: head, tail, used)`);
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
  readonly #header: RingHeader;

  private constructor(memory: SharedMemory, offset: number) {
    const bytes = liveBytes(memory);
    if (!Number.isInteger(offset) || offset < 0 || offset % 64 !== 0 || (bytes.byteOffset + offset) % 64 !== 0) {
      throw new RangeError(`a ring must start at a multiple of 64 bytes (offset ${offset})`);
    }
    if (offset + RING_HEADER_SIZE > bytes.byteLength) {
      throw new RangeError(`a ring needs at least ${RING_HEADER_SIZE + MIN_CAPACITY} bytes; the memory has ${bytes.byteLength - offset} after offset ${offset}`);
    }
    this.memory = memory;
    this.offset = offset;
    this.#header = new RingHeader(memory, offset);
    this.capacity = this.#header.capacity;
    this.producers = this.#header.producers;
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
    refuseReadOnly(memory, "creating a ring");
    const offset = options.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0 || offset % 64 !== 0) throw new RangeError(`a ring must start at a multiple of 64 bytes (offset ${offset})`);
    const capacity = options.capacity ?? largestPowerOfTwoAtMost(liveBytes(memory).byteLength - offset - RING_HEADER_SIZE);
    const producers = options.producers ?? 1;
    checkPlacement(memory, offset, capacity);
    if (!Number.isInteger(producers) || producers < 1 || producers > RING_MAX_PRODUCERS) {
      throw new RangeError(`a ring has 1 to ${RING_MAX_PRODUCERS} producers, not ${producers}`);
    }
    writeHeader(memory, offset, capacity, producers);
    return new Ring(memory, offset);
  }

  /**
   * The ring another process created at `offset` of `memory`. Every header field is checked first
   * (RING.md, Attaching): a capacity that is not a power of two, for one, would make a producer wait
   * for room that never comes. A RingFormatError names the field and its value.
   */
  static attach(memory: SharedMemory, offset = 0): Ring {
    if (!Number.isInteger(offset) || offset < 0 || offset % 64 !== 0) throw new RangeError(`a ring starts at a multiple of 64 bytes (offset ${String(offset)})`);
    checkHeader(memory, offset);
    return new Ring(memory, offset);
  }

  /** The read position (uint32; see RING.md, Positions): bytes consumed since the ring was created. */
  get head(): number {
    return Atomics.load(this.#header.words, WORD.head) >>> 0;
  }

  /** The write position (uint32): bytes published since the ring was created. */
  get tail(): number {
    return Atomics.load(this.#header.words, WORD.tail) >>> 0;
  }

  /** True while a consumer is attached (it has not closed, and was not found dead). */
  get hasConsumer(): boolean {
    return Atomics.load(this.#header.words, WORD.consumerState) === SIDE_ATTACHED;
  }

  /** Bytes written and not yet read. */
  get used(): number {
    return (Atomics.load(this.#header.words, WORD.tail) - Atomics.load(this.#header.words, WORD.head)) >>> 0;
  }

  /** Attaches this process as a producer (takes a free producer slot). */
  writer(options: WaitTuning = {}): RingWriter {
    refuseReadOnly(this.memory, "a writer");
    return new RingWriter(this, this.#header, options);
  }

  /** Attaches this process as the consumer; a ring has one. */
  reader(options: WaitTuning = {}): RingReader {
    refuseReadOnly(this.memory, "a reader");
    return new RingReader(this, this.#header, options);
  }
}
