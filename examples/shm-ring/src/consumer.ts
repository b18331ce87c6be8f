/**
 * consumer: the reading end of shmfifo (the System V shared memory FIFO the tutorials list among
 * their next topics, after UNIX Network Programming vol. 2): creates a segment with a message ring
 * in it, reads every message the producers send, checks each one's sequence number and checksum,
 * and reports what was received, lost, duplicated and corrupt. It owns the segment: it removes it at the end, on SIGINT/SIGTERM,
 * and when a producer dies.
 *
 * Differences from the C shmfifo, and why:
 * - the ring carries messages of any length up to the ring's size, not fixed-size blocks, and is
 *   synchronised by the ring's own futex protocol (core RING.md), not by three SysV semaphores:
 *   reading or writing a message makes no system call unless a side has to sleep;
 * - a producer that dies is noticed (PeerGoneError) instead of the reader waiting forever;
 * - the reader checks every message (sequence number and checksum), which the C never did.
 */
import { ExitError, createReplacingLeftover, modeOption, onTerminationSignal, parseCommand, runMain } from "@linux-ipc/programs";
import { SharedMemorySegment, formatKey, Ring, PeerGoneError, RING_MAX_PRODUCERS, MIN_CAPACITY, type RingReader } from "@linux-ipc/core";
import { CHECKSUM, DEFAULT_CAPACITY, END_MARKER_SIZE, END_OF_STREAM, HEADER_SIZE, LANE, LANES, PRODUCER, SENT, SEQ, checksum, keyOption, yielder } from "./messages.ts";

/** What has arrived from one producer. */
interface Stream {
  /** The next sequence number expected (-1 before the first message). */
  expected: number;
  lanes: number;
  ended: boolean;
}

/** The consumer's counts, kept per producer: each producer's messages arrive in order in one ring. */
class Tally {
  received = 0;
  lost = 0;
  duplicated = 0;
  corrupt = 0;
  bytes = 0;
  readonly #streams = new Map<number, Stream>();

  /** Checks and counts the message of `length` bytes at `at` in the ring's data (`words` over the same bytes). */
  record(data: Uint8Array, words: Int32Array, at: number, length: number): void {
    const index = at >> 2;
    this.bytes += length;
    if (length < HEADER_SIZE || words[index + CHECKSUM] !== checksum(data, words, at, length)) {
      this.corrupt++;
      return;
    }
    const stream = this.#streamOf(words[index + PRODUCER]!, words[index + LANES]!);
    if (words[index + SEQ] === END_OF_STREAM && length === END_MARKER_SIZE) {
      // Whatever this ring should still have carried from that producer never came.
      const sent = words[index + SENT]!;
      const next = stream.expected < 0 ? words[index + LANE]! : stream.expected;
      if (sent > next) this.lost += Math.ceil((sent - next) / stream.lanes);
      stream.ended = true;
      return;
    }
    this.received++;
    const seq = words[index + SEQ]!;
    if (stream.expected < 0) stream.expected = seq % stream.lanes;
    if (seq < stream.expected || stream.ended) {
      this.duplicated++;
    } else {
      this.lost += (seq - stream.expected) / stream.lanes;
      stream.expected = seq + stream.lanes;
    }
  }

  /** How many producers have sent their end marker. */
  get ended(): number {
    return [...this.#streams.values()].filter((stream) => stream.ended).length;
  }

  #streamOf(producer: number, lanes: number): Stream {
    let stream = this.#streams.get(producer);
    if (stream === undefined) {
      stream = { expected: -1, lanes: Math.max(1, lanes), ended: false };
      this.#streams.set(producer, stream);
    }
    return stream;
  }
}

await runMain("consumer", async () => {
  const { values } = parseCommand({
    name: "consumer",
    summary: "Creates a message ring in a System V segment, reads what the producers send, and reports received, lost, duplicated and corrupt messages.",
    options: {
      key: keyOption,
      producers: { type: "integer", value: "N", description: "how many producers will write", default: 1, min: 1, max: RING_MAX_PRODUCERS },
      capacity: { type: "integer", value: "BYTES", description: "data bytes in the ring (a power of two)", default: DEFAULT_CAPACITY, min: MIN_CAPACITY, max: 1 << 30 },
      mode: modeOption(0o600, "only your user's producers can open it"),
    },
    details: "Start it first; then start the producers with the same --key. It ends when every producer has closed.",
  });
  if ((values.capacity & (values.capacity - 1)) !== 0) throw new ExitError(`--capacity ${values.capacity} is not a power of two`, 1);

  const mode = values.mode;
  const segment = createReplacingLeftover("consumer", "segment", values.key, () => SharedMemorySegment.create(values.key, Ring.bytesNeeded(values.capacity), mode));
  const attachment = segment.attach();
  let reader: RingReader | undefined;
  // Closing the reader first tells waiting producers "the consumer closed the ring" at once.
  const removeSegment = (): void => {
    reader?.close();
    attachment.detach();
    segment.remove();
  };
  const stopHandlingSignals = onTerminationSignal(removeSegment);
  const tally = new Tally();
  let failure: PeerGoneError | null = null;
  let firstAt = 0;
  try {
    reader = Ring.create(attachment, { capacity: values.capacity, producers: values.producers }).reader();
    console.log(`consumer: ring of ${values.capacity} bytes at key ${formatKey(values.key)} (shm ${segment.id}) for ${values.producers} producer(s); waiting`);
    const words = new Int32Array(reader.data.buffer, reader.data.byteOffset, values.capacity >> 2);
    const pause = yielder();
    for (let count = 0; ; count++) {
      let length = reader.tryPeek();
      if (length < 0) length = await reader.peekAsync();
      if (length < 0) break;
      if (count === 0) firstAt = performance.now();
      tally.record(reader.data, words, reader.offset, length);
      reader.release();
      if ((count & 1023) === 0) await pause();
    }
  } catch (error) {
    if (!(error instanceof PeerGoneError)) throw error;
    failure = error;
  } finally {
    stopHandlingSignals();
    removeSegment();
  }

  const seconds = (performance.now() - firstAt) / 1000;
  const rate = tally.received > 0 && seconds > 0 ? ` (${(tally.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s, ${(tally.bytes / 1e6 / seconds).toFixed(0)} MB/s)` : "";
  console.log(`consumer: received ${tally.received}, lost ${tally.lost}, duplicated ${tally.duplicated}, corrupt ${tally.corrupt}${rate}`);
  if (failure !== null) throw new ExitError(`${failure.message}; segment ${formatKey(values.key)} removed`, 1);
  if (tally.ended < values.producers) throw new ExitError(`${values.producers - tally.ended} producer(s) closed without an end marker`, 1);
  return tally.lost + tally.duplicated + tally.corrupt === 0 ? 0 : 1;
});
