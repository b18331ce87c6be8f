// Opens the shared memory a test names: "shm:<id>" attaches a SysV segment, "fd:<fd>:<length>"
// maps an inherited descriptor (a memfd) shared.
import { SharedMemorySegment } from "../sys/shm.ts";
import { mmap, MAP_SHARED, PROT_READ, PROT_WRITE } from "../sys/mman.ts";
import type { SharedMemory } from "../futex.ts";

export function openMemory(spec: string): SharedMemory & Disposable {
  const [kind, first, second] = spec.split(":");
  if (kind === "shm") return SharedMemorySegment.fromId(Number(first)).attach();
  if (kind === "fd") return mmap(Number(second), PROT_READ | PROT_WRITE, MAP_SHARED, Number(first));
  throw new Error(`unknown memory spec '${spec}'`);
}

/** Message `seq` of stream `stream` as the ring tests (and their C peers) write it. */
export function messageLength(seq: number, stream: number, maxSize: number): number {
  return 8 + ((seq * 7919 + stream * 13) % (maxSize - 7));
}

export function fillMessage(target: Uint8Array, at: number, length: number, seq: number, stream: number): void {
  target[at] = seq & 0xff;
  target[at + 1] = (seq >>> 8) & 0xff;
  target[at + 2] = (seq >>> 16) & 0xff;
  target[at + 3] = (seq >>> 24) & 0xff;
  target[at + 4] = stream & 0xff;
  target[at + 5] = (stream >>> 8) & 0xff;
  target[at + 6] = (stream >>> 16) & 0xff;
  target[at + 7] = (stream >>> 24) & 0xff;
  for (let j = 8; j < length; j++) target[at + j] = (seq * 31 + j + stream) & 0xff;
}

/** Checks a received message: null if it is message `seq` of `stream`, else what is wrong. */
export function checkMessage(source: Uint8Array, at: number, length: number, maxSize: number): { seq: number; stream: number; error: string | null } {
  const seq = (source[at]! | (source[at + 1]! << 8) | (source[at + 2]! << 16) | (source[at + 3]! << 24)) >>> 0;
  const stream = (source[at + 4]! | (source[at + 5]! << 8) | (source[at + 6]! << 16) | (source[at + 7]! << 24)) >>> 0;
  if (length !== messageLength(seq, stream, maxSize)) return { seq, stream, error: `message ${seq} of stream ${stream} has ${length} bytes` };
  for (let j = 8; j < length; j++) {
    if (source[at + j] !== ((seq * 31 + j + stream) & 0xff)) return { seq, stream, error: `message ${seq} of stream ${stream} differs at byte ${j}` };
  }
  return { seq, stream, error: null };
}
