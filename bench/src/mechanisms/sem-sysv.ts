/**
 * System V semaphores between the bench and its peer, every wait an `acquireAsync`: a System V
 * segment holds one slot of SLOT_SIZE bytes each way, "down" (bench → peer) and "up" (peer →
 * bench), and each slot has two semaphores of one set, FULL and EMPTY, as in the textbook bounded
 * buffer with one place. A ping-pong uses the two FULL semaphores only: an answer proves that its
 * message was read, so the slot is free again. Streaming also waits for EMPTY before each write.
 * The operations go without SEM_UNDO: the turn belongs to neither process.
 *
 * Cleanup: the segment is created IPC_PRIVATE and marked for removal as soon as the bench attaches
 * it (as the ring's is); the semaphore set has no such mark, so the bench removes it when the
 * measure ends, when the run ends or fails, on a termination signal, and as soon as the peer exits,
 * which also ends a wait of the bench on it (EIDRM) as end of file ends a pipe reader's.
 */
import { IPC_PRIVATE, SemaphoreSet, SharedMemorySegment, type Attachment } from "@linux-ipc/core";
import { track } from "../cleanup.ts";
import { whenReady } from "../peer-process.ts";
import type { HostEnd, Mechanism, PeerEnd } from "./types.ts";

/** The largest message the bench sends (see Plan.sizes). */
const SLOT_SIZE = 65536;
const DOWN = 0;
const UP = SLOT_SIZE;
// Semaphore numbers in the set: the value of FULL is 1 while the slot holds a message to read,
// the value of EMPTY 1 while it may be written.
const DOWN_FULL = 0;
const DOWN_EMPTY = 1;
const UP_FULL = 2;
const UP_EMPTY = 3;
const INITIAL = [0, 1, 0, 1];
const noUndo = { undo: false } as const;

/** One direction: its slot and its two semaphores. */
class Slot {
  readonly #set: SemaphoreSet;
  readonly #bytes: Uint8Array;
  readonly #full: number;
  readonly #empty: number;

  constructor(set: SemaphoreSet, memory: Attachment, offset: number, full: number, empty: number) {
    this.#set = set;
    this.#bytes = memory.bytes.subarray(offset, offset + SLOT_SIZE);
    this.#full = full;
    this.#empty = empty;
  }

  /** Writes `message` once the slot is free: a side `takingTurns` knows it is, and does not wait. */
  async put(message: Uint8Array, takingTurns: boolean): Promise<void> {
    if (!takingTurns) await this.#set.acquireAsync(this.#empty, 1, noUndo);
    this.#bytes.set(message);
    this.#set.release(this.#full, 1, noUndo);
  }

  /** Copies the next message of `size` bytes into `into`, waiting for it; frees the slot unless `takingTurns` (the answer will). */
  async take(into: Uint8Array, size: number, takingTurns: boolean): Promise<void> {
    await this.#set.acquireAsync(this.#full, 1, noUndo);
    into.set(this.#bytes.subarray(0, size));
    if (!takingTurns) this.#set.release(this.#empty, 1, noUndo);
  }
}

function hostEnd(set: SemaphoreSet, memory: Attachment, release: () => void): HostEnd {
  const down = new Slot(set, memory, DOWN, DOWN_FULL, DOWN_EMPTY);
  const up = new Slot(set, memory, UP, UP_FULL, UP_EMPTY);
  const buffer = new Uint8Array(SLOT_SIZE);
  return {
    async receive(size, count) {
      for (let i = 0; i < count; i++) await up.take(buffer, size, false);
    },
    async pingPong(size, count, samples) {
      const message = new Uint8Array(size).fill(0x70);
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        await down.put(message, true);
        await up.take(buffer, size, true);
        samples[i] = (performance.now() - sent) / 1e3;
      }
    },
    close: release,
  };
}

function peerEnd(set: SemaphoreSet, memory: Attachment): PeerEnd {
  const down = new Slot(set, memory, DOWN, DOWN_FULL, DOWN_EMPTY);
  const up = new Slot(set, memory, UP, UP_FULL, UP_EMPTY);
  const buffer = new Uint8Array(SLOT_SIZE);
  return {
    async send(size, count) {
      const message = new Uint8Array(size).fill(0x78);
      for (let i = 0; i < count; i++) await up.put(message, false);
    },
    async echo(size, count) {
      const answer = buffer.subarray(0, size);
      for (let i = 0; i < count; i++) {
        await down.take(buffer, size, true);
        await up.put(answer, true);
      }
    },
    close: () => memory.detach(),
  };
}

export const semSysvMechanism: Mechanism = {
  name: "sem-sysv-async",
  description: "System V semaphores (one set, FULL and EMPTY for a 64 KiB slot each way in a System V segment), acquireAsync on both sides",
  family: "core",
  reference: "pipe",
  latencyReference: "futex",
  unavailable: async () => null,
  async start(context) {
    const segment = SharedMemorySegment.create(IPC_PRIVATE, 2 * SLOT_SIZE, 0o600);
    let memory: Attachment;
    try {
      memory = segment.attach();
    } finally {
      segment.remove(); // see the ring: the kernel frees it when both sides have detached
    }
    const attached = memory;
    let set: SemaphoreSet;
    try {
      set = SemaphoreSet.create(IPC_PRIVATE, INITIAL.length, INITIAL, 0o600);
    } catch (error) {
      attached.detach();
      throw error;
    }
    const removeSet = track(() => set.remove());
    const release = (): void => {
      try {
        removeSet();
      } finally {
        attached.detach();
      }
    };
    try {
      const peer = context.startPeer({ args: [String(segment.id), String(set.id)] });
      peer.child.once("exit", removeSet);
      return await whenReady(peer, hostEnd(set, attached, release));
    } catch (error) {
      release();
      throw error;
    }
  },
  async join({ args: [segmentId, setId] }) {
    const memory = SharedMemorySegment.fromId(Number(segmentId)).attach();
    return peerEnd(SemaphoreSet.fromId(Number(setId)), memory);
  },
};
