/**
 * producer: the writing end of shmfifo. Attaches the ring(s) a consumer created and sends COUNT
 * messages of mixed sizes (16 to BYTES), each with a sequence number and a checksum (messages.ts),
 * then an end marker per ring. With several keys it deals its messages over the rings in turn
 * (message seq to ring seq % rings), which is how the demo lets two consumers share the work.
 *
 * Each message is written in place (reserve, fill, commit: no copy but the payload's own), and waiting
 * happens only when a ring is full: it spins briefly, then sleeps on the ring's futex off the event
 * loop. Before it ends it waits until each consumer has read everything.
 *
 * Differences from the C shmfifo, and why:
 * - a full ring makes the producer wait (backpressure) as in the C, but a consumer that died is
 *   noticed within a fraction of a second: the producer then removes the consumer's segment (nobody
 *   else would) and exits 1 with one line saying so, where the C waited on its semaphore forever;
 * - it never creates the segment: start the consumer first.
 */
import { ExitError, UsageError, parseCommand, runMain, usageText } from "@linux-ipc/programs";
import { isSystemError, SharedMemorySegment, type Attachment, formatKey, Ring, PeerGoneError, RingFormatError, type RingWriter } from "@linux-ipc/core";
import {
  CHECKSUM,
  DEFAULT_RING_KEY,
  END_MARKER_SIZE,
  END_OF_STREAM,
  HEADER_SIZE,
  LANE,
  LANES,
  PRODUCER,
  SENT,
  SEQ,
  checksum,
  messageSize,
  parseKeys,
  payloadPool,
  payloadStart,
  yielder,
} from "./messages.ts";

const command = {
  name: "producer",
  summary: "Sends numbered, checksummed messages of mixed sizes into the ring(s) a consumer created.",
  options: {
    key: { type: "string", value: "K[,K…]", description: "System V key of the ring's segment; several, comma-separated, share the messages out", default: `0x${DEFAULT_RING_KEY.toString(16)}` },
    count: { type: "integer", value: "N", description: "how many messages to send", default: 100_000, min: 0, max: 0x7ffffffe },
    size: { type: "integer", value: "BYTES", description: `the largest message; sizes vary from ${HEADER_SIZE} to BYTES`, default: 1024, min: END_MARKER_SIZE },
  },
} as const;

await runMain("producer", async () => {
  const { values } = parseCommand(command);
  let keys: number[];
  try {
    keys = parseKeys(values.key);
  } catch (error) {
    throw new UsageError(`producer: ${(error as Error).message}`, usageText(command));
  }

  const segments = keys.map((key) => openSegment(key));
  const attachments: Attachment[] = [];
  const writers: RingWriter[] = [];
  try {
    for (const [lane, segment] of segments.entries()) {
      const attachment = segment.attach();
      attachments.push(attachment);
      const ring = attachRing(attachment, keys[lane]!);
      if (values.size > ring.maxMessageSize)
        throw new ExitError(`--size ${values.size} does not fit in the ring at key ${formatKey(keys[lane]!)}: its messages are at most ${ring.maxMessageSize} bytes`, 1);
      writers.push(ring.writer());
    }
    const started = performance.now();
    const bytes = await send(writers, values.count, values.size);
    const seconds = (performance.now() - started) / 1000;
    console.log(`producer ${process.pid}: sent ${values.count} messages (${(bytes / 1e6).toFixed(1)} MB) to ${writers.length} ring(s) in ${seconds.toFixed(2)} s`);
  } catch (error) {
    if (!(error instanceof PeerGoneError)) throw error;
    // The consumer owned the segments; gone, it cannot remove them any more.
    for (const segment of segments) segment.remove();
    throw new ExitError(`${error.message}; segment ${keys.map(formatKey).join(", ")} removed`, 1);
  } finally {
    for (const writer of writers) writer.close();
    for (const attachment of attachments) attachment.detach();
  }
});

function openSegment(key: number): SharedMemorySegment {
  try {
    return SharedMemorySegment.open(key);
  } catch (error) {
    if (isSystemError(error, "ENOENT")) throw new ExitError(`no ring at key ${formatKey(key)}: start the consumer first, with the same --key`, 1);
    throw error;
  }
}

function attachRing(attachment: Attachment, key: number): Ring {
  try {
    return Ring.attach(attachment);
  } catch (error) {
    if (error instanceof RingFormatError) throw new ExitError(`the segment at key ${formatKey(key)} holds no ring: ${error.message}`, 1);
    throw error;
  }
}

/** Sends `count` messages dealt over `writers`, then an end marker to each; returns the bytes sent. */
async function send(writers: RingWriter[], count: number, maxSize: number): Promise<number> {
  const lanes = writers.length;
  const views = writers.map((writer) => new Int32Array(writer.data.buffer, writer.data.byteOffset, writer.data.byteLength >> 2));
  const pool = payloadPool(maxSize);
  const pause = yielder();
  let bytes = 0;
  for (let seq = 0; seq < count; seq++) {
    const lane = seq % lanes;
    const writer = writers[lane]!;
    const words = views[lane]!;
    const size = messageSize(seq, maxSize);
    let at = writer.tryReserve(size);
    if (at < 0) at = await writer.reserveAsync(size);
    const index = at >> 2;
    words[index + PRODUCER] = process.pid;
    words[index + SEQ] = seq;
    words[index + LANES] = lanes;
    const start = payloadStart(seq);
    writer.data.set(pool.subarray(start, start + size - HEADER_SIZE), at + HEADER_SIZE);
    words[index + CHECKSUM] = checksum(writer.data, words, at, size);
    writer.commit();
    bytes += size;
    if ((seq & 1023) === 0) await pause();
  }
  for (const [lane, writer] of writers.entries()) {
    const words = views[lane]!;
    const at = await writer.reserveAsync(END_MARKER_SIZE);
    const index = at >> 2;
    words[index + PRODUCER] = process.pid;
    words[index + SEQ] = END_OF_STREAM;
    words[index + LANES] = lanes;
    words[index + SENT] = count;
    words[index + LANE] = lane;
    words[index + CHECKSUM] = checksum(writer.data, words, at, END_MARKER_SIZE);
    writer.commit();
  }
  for (const writer of writers) await writer.flushAsync();
  return bytes;
}
