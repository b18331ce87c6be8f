/**
 * The one shared buffer of lock-demo (a 64 KiB segment), which lock-peer sides (TypeScript or C)
 * take turns to answer.
 * uint32 fields, little-endian:
 *
 *   0   writer   whose message the buffer holds: 0 nobody yet, 1 side A, 2 side B
 *   4   round    the writer's turn number
 *   8   length   body bytes
 *  12   answers  the hash of the message this one answers (0 in A's first message)
 *  16   hash     FNV-1a over bytes 0..15 and the body: lets the reader check the whole message
 *  20   doneA    1 once side A has finished
 *  24   doneB    1 once side B has finished
 *  32   body     `length` bytes
 *
 * Side A writes when `writer` is 0 or 2, side B when it is 1. Each sleeps on the futex of `writer`
 * while it is not its turn; a side that takes the buffer sets `writer` and wakes the other at once,
 * then fills in the rest, as a naive program does.
 */
export const SEGMENT_SIZE = 65536;
export const WRITER = 0;
export const ROUND = 1;
export const LENGTH = 2;
export const ANSWERS = 3;
export const HASH = 4;
export const DONE_A = 5;
export const DONE_B = 6;
export const BODY = 32;
export const BODY_MAX = 60000;
export const SIDE_A = 1;
export const SIDE_B = 2;
/** The semaphore (number 0 of the set with the segment's key) used as the lock: 1 free, 0 taken. */
export const LOCK = 0;

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the message header (bytes 0..15) and its body, as the C peer computes it. */
export function messageHash(bytes: Uint8Array, length: number): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < 16; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  const end = BODY + Math.min(length, BODY_MAX);
  for (let i = BODY; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  return hash >>> 0;
}
