// The messages of the ring exchange (ring-producer.mjs → ring-consumer.mjs): message `seq` is
// 12 to 1011 bytes, [uint32 seq][payload (seq*31 + i) & 0xff][uint32 FNV-1a of everything before],
// so a lost, repeated, reordered, truncated or corrupted message is detected.
export const MESSAGES = 10_000;

export function messageLength(seq) {
  return 12 + ((seq * 7919) % 1000);
}

function fnv1a(bytes, from, to) {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193) >>> 0;
  return hash;
}

/** Writes message `seq` at `at` (length messageLength(seq)) and returns its checksum. */
export function writeMessage(target, at, seq) {
  const length = messageLength(seq);
  const view = new DataView(target.buffer, target.byteOffset + at, length);
  view.setUint32(0, seq, true);
  for (let i = 4; i < length - 4; i++) target[at + i] = (seq * 31 + i) & 0xff;
  const checksum = fnv1a(target, at, at + length - 4);
  view.setUint32(length - 4, checksum, true);
  return checksum;
}

/** Reads the message at `at`: its seq and checksum, or an error saying what is wrong with it. */
export function readMessage(source, at, length) {
  if (length < 12) return { error: `a message of ${length} bytes (at least 12 expected)` };
  const view = new DataView(source.buffer, source.byteOffset + at, length);
  const seq = view.getUint32(0, true);
  const checksum = view.getUint32(length - 4, true);
  if (length !== messageLength(seq)) return { seq, error: `message ${seq} has ${length} bytes, expected ${messageLength(seq)}` };
  if (fnv1a(source, at, at + length - 4) !== checksum) return { seq, error: `message ${seq} fails its checksum` };
  for (let i = 4; i < length - 4; i++) {
    if (source[at + i] !== ((seq * 31 + i) & 0xff)) return { seq, error: `message ${seq} differs at byte ${i}` };
  }
  return { seq, checksum, error: null };
}
