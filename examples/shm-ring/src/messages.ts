/**
 * The messages producer and consumer exchange through the ring, and the options they share.
 *
 * Every message starts with a 16-byte header of uint32 words (little-endian):
 *
 *   0  producer  the producer's pid
 *   4  seq       0, 1, 2, … counted by the producer over all the rings it feeds; message `seq` goes
 *                to ring `seq % lanes`
 *   8  lanes     how many rings the producer deals its messages over
 *  12  checksum  FNV-1a (32-bit) over the message's 32-bit words with this field counted as 0, then
 *                its trailing bytes (see `checksum`)
 *
 * followed by random bytes. The last message a producer puts in each ring is its end marker:
 * seq = END_OF_STREAM, then uint32 `sent` (how many messages it sent in all) and uint32 `lane` (which
 * of its rings this is), so the consumer can count what never arrived.
 */
import { randomBytes } from "node:crypto";
import { parseInteger, type OptionSpec } from "@linux-ipc/programs";

export const HEADER_SIZE = 16;
export const END_MARKER_SIZE = HEADER_SIZE + 8;
export const END_OF_STREAM = 0xffffffff | 0;
export const PRODUCER = 0;
export const SEQ = 1;
export const LANES = 2;
export const CHECKSUM = 3;
export const SENT = 4;
export const LANE = 5;

/** The key the ring programs use unless told otherwise: the bytes "shmr". */
export const DEFAULT_RING_KEY = 0x73686d72;
/** The default ring: 64 KiB of data. */
export const DEFAULT_CAPACITY = 65536;

export const keyOption = {
  type: "integer",
  value: "K",
  description: "System V key of the ring's segment, decimal or 0x hex",
  default: DEFAULT_RING_KEY,
  min: 1,
  max: 0x7fffffff,
} as const satisfies OptionSpec;

/** Parses `--key 0x10,0x11`: one key per ring. Throws a RangeError naming the bad one. */
export function parseKeys(text: string): number[] {
  const keys = text.split(",").map((part) => parseInteger(part, "--key"));
  for (const key of keys) {
    if (key < 1 || key > 0x7fffffff) throw new RangeError(`--key ${key} is outside 1..0x7fffffff`);
  }
  if (new Set(keys).size !== keys.length) throw new RangeError(`--key ${text} names a ring twice`);
  return keys;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/**
 * The checksum of the message of `length` bytes at `at` (a multiple of 4) in `bytes`; `words` is an
 * Int32Array over the same memory. Word 3 (the checksum field) counts as 0.
 */
export function checksum(bytes: Uint8Array, words: Int32Array, at: number, length: number): number {
  const first = at >> 2;
  const whole = length >>> 2;
  let hash = FNV_OFFSET;
  hash = Math.imul(hash ^ words[first]!, FNV_PRIME);
  hash = Math.imul(hash ^ words[first + 1]!, FNV_PRIME);
  hash = Math.imul(hash ^ words[first + 2]!, FNV_PRIME);
  hash = Math.imul(hash, FNV_PRIME);
  for (let i = 4; i < whole; i++) hash = Math.imul(hash ^ words[first + i]!, FNV_PRIME);
  for (let j = whole * 4; j < length; j++) hash = Math.imul(hash ^ bytes[at + j]!, FNV_PRIME);
  return hash;
}

/** The size of message `seq`: from HEADER_SIZE to `maxSize`, spread evenly and mixed. */
export function messageSize(seq: number, maxSize: number): number {
  return HEADER_SIZE + ((Math.imul(seq + 1, 0x9e3779b1) >>> 0) % (maxSize - HEADER_SIZE + 1));
}

/** Random bytes to copy payloads from (a window per message, so payloads differ). */
export function payloadPool(maxSize: number): Uint8Array {
  return randomBytes(65536 + maxSize);
}

export function payloadStart(seq: number): number {
  return Math.imul(seq, 7919) & 0xffff;
}

/** Lets the event loop run (signal handlers, output) every `ms` of busy work. */
export function yielder(ms = 50): () => Promise<void> | null {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < ms) return null;
    last = now;
    return new Promise((resolve) => setImmediate(resolve));
  };
}
