/**
 * The shared-memory ring channel of @linux-ipc/core, over a System V segment or a
 * memfd mapping: two rings in one piece of memory, "down" (bench → peer) and "up" (peer → bench),
 * each of RING_CAPACITY data bytes, driven through the ring's blocking forms (send / receive: spin
 * briefly, then sleep on a futex) or, on both sides, its async forms (sendAsync / receiveAsync: the
 * same spin, then a sleep on a word-waiter thread with the event loop free). Each message is copied
 * in by the sender and out by the receiver, the two copies the tutorials count for shared
 * memory, as the C spin reference does. Two more forms show the zero-copy API: reserveView /
 * peekView (the receiver reads in place) and sendMany / receiveMany (batches, read in place).
 * Every second echo of a blocking, view or batch ping-pong carries the peer's CLOCK_MONOTONIC when
 * the ping arrived, so the two one-way times are measured too (HostEnd.measuresOneWay).
 *
 * The ring module is loaded when the bench runs: where it is missing or lacks this API, the ring
 * mechanisms are reported as not available and skipped.
 *
 * Cleanup: the SysV segment is created IPC_PRIVATE and marked for removal (IPC_RMID) right after
 * the bench attaches it, so the kernel frees it when the last side detaches, even if both die; a
 * memfd has no name and is freed with its last mapping.
 */
import {
  type Ring as RingClass,
  type RingReader,
  type RingWriter,
  type WaitTuning,
  memfd_create,
  mmap,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  type Mapping,
  IPC_PRIVATE,
  SharedMemorySegment,
  type Attachment,
  close,
  ftruncate,
} from "@linux-ipc/core";
import { localMs, monotonicMs } from "../clock.ts";
import { whenReady } from "../peer-process.ts";
import { isStamped, type HostEnd, type Mechanism, type PeerEnd } from "./types.ts";

/** Data bytes of each ring: 1 MiB, as the C spin reference's ring. */
export const RING_CAPACITY = 2 ** 20;

type Memory = "sysv" | "memfd";
/**
 * How both sides drive the ring: blocking send / receive; sendAsync / receiveAsync; reserveView /
 * peekView (in place); or sendMany / receiveMany (batches).
 */
export type RingWaiting = "blocking" | "async" | "view" | "batch";
type RingModule = { Ring: typeof RingClass };

let module: Promise<RingModule | string> | null = null;

/** The ring module, or why it cannot be used. */
function loadRing(): Promise<RingModule | string> {
  module ??= import("@linux-ipc/core").then(
    (loaded: Partial<RingModule>) =>
      typeof loaded.Ring?.create === "function" && typeof loaded.Ring.attach === "function" && typeof loaded.Ring.bytesNeeded === "function"
        ? (loaded as RingModule)
        : "@linux-ipc/core has no Ring.create / Ring.attach / Ring.bytesNeeded (its API changed: update bench/src/mechanisms/ring.ts)",
    (error: unknown) => `@linux-ipc/core cannot be loaded (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`,
  );
  return module;
}

async function ringApi(): Promise<RingModule> {
  const loaded = await loadRing();
  if (typeof loaded === "string") throw new Error(loaded);
  return loaded;
}

/** Where the "up" ring starts: right after the "down" ring (a multiple of 64, as a ring requires). */
function layout({ Ring }: RingModule): { upOffset: number; total: number } {
  const one = Ring.bytesNeeded(RING_CAPACITY);
  return { upOffset: one, total: 2 * one };
}

interface Ends {
  sender: RingWriter;
  receiver: RingReader;
  release(): void;
}

/** Float64 words over a ring's data area: a record's message starts 8-aligned, so `words[offset >> 3]` is its first 8 bytes. */
function float64s(data: Uint8Array): Float64Array {
  return new Float64Array(data.buffer, data.byteOffset, data.byteLength >> 3);
}

const unexpected = (length: number, size: number): Error => new Error(length < 0 ? "the peer closed the ring" : `a message of ${length} bytes where ${size} were due`);

/**
 * Fills the one-way times of round trip `i` if its echo was stamped: the echo's first 8 bytes hold
 * the peer's CLOCK_MONOTONIC (ms) when the ping reached it.
 */
function recordOneWay(oneWay: { out: Float64Array; back: Float64Array } | undefined, i: number, sent: number, arrived: number, got: number): void {
  if (oneWay === undefined || !isStamped(i)) return;
  const there = localMs(arrived);
  oneWay.out[i] = (there - sent) / 1e3;
  oneWay.back[i] = (got - there) / 1e3;
}

function hostEnd({ sender, receiver, release }: Ends): HostEnd {
  const buffer = new Uint8Array(RING_CAPACITY);
  const stamp = new Float64Array(buffer.buffer, 0, 1);
  const take = (size: number): void => {
    const length = receiver.receive(buffer);
    if (length !== size) throw unexpected(length, size);
  };
  return {
    measuresOneWay: true,
    receive(size, count) {
      for (let i = 0; i < count; i++) take(size);
    },
    pingPong(size, count, samples, oneWay) {
      const message = new Uint8Array(size).fill(0x70);
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        sender.send(message);
        take(size);
        const got = performance.now();
        samples[i] = (got - sent) / 1e3;
        recordOneWay(oneWay, i, sent, stamp[0]!, got);
      }
    },
    close: release,
  };
}

function peerEnd({ sender, receiver, release }: Ends): PeerEnd {
  const buffer = new Uint8Array(RING_CAPACITY);
  const stamp = new Float64Array(buffer.buffer, 0, 1);
  return {
    send(size, count) {
      const message = new Uint8Array(size).fill(0x78);
      for (let i = 0; i < count; i++) sender.send(message);
    },
    echo(size, count) {
      const echo = buffer.subarray(0, size);
      for (let i = 0; i < count; i++) {
        const length = receiver.receive(buffer);
        if (length !== size) throw unexpected(length, size);
        if (isStamped(i)) stamp[0] = monotonicMs();
        sender.send(echo);
      }
    },
    close: release,
  };
}

/** reserveView/commit and peekView/release: messages written and read in place, one copy (the sender's) per message. */
function viewHostEnd({ sender, receiver, release }: Ends): HostEnd {
  const received = float64s(receiver.data);
  const take = (size: number): number => {
    const view = receiver.peekView();
    if (view === null || view.length !== size) throw unexpected(view === null ? -1 : view.length, size);
    return received[receiver.offset >> 3]!;
  };
  return {
    measuresOneWay: true,
    receive(size, count) {
      for (let i = 0; i < count; i++) {
        take(size);
        receiver.release();
      }
    },
    pingPong(size, count, samples, oneWay) {
      const message = new Uint8Array(size).fill(0x70);
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        sender.reserveView(size).bytes.set(message);
        sender.commit();
        const arrived = take(size);
        receiver.release();
        const got = performance.now();
        samples[i] = (got - sent) / 1e3;
        recordOneWay(oneWay, i, sent, arrived, got);
      }
    },
    close: release,
  };
}

function viewPeerEnd({ sender, receiver, release }: Ends): PeerEnd {
  const sent = float64s(sender.data);
  return {
    send(size, count) {
      const message = new Uint8Array(size).fill(0x78);
      for (let i = 0; i < count; i++) {
        sender.reserveView(size).bytes.set(message);
        sender.commit();
      }
    },
    echo(size, count) {
      for (let i = 0; i < count; i++) {
        const view = receiver.peekView();
        if (view === null || view.length !== size) throw unexpected(view === null ? -1 : view.length, size);
        // From the ring it came in straight into the ring it leaves by: the echo's only copy.
        sender.reserveView(size).bytes.set(view.bytes);
        if (isStamped(i)) sent[sender.offset >> 3] = monotonicMs();
        sender.commit();
        receiver.release();
      }
    },
    close: release,
  };
}

/** The most messages one sendMany call of the batch forms carries. */
const BATCH = 64;

/** sendMany and receiveMany: one store of tail (head) per batch; the receiver reads each message in place. */
function batchHostEnd({ sender, receiver, release }: Ends): HostEnd {
  const received = float64s(receiver.data);
  let expected = 0;
  let arrived = 0;
  const check = (_data: Uint8Array, offset: number, length: number): void => {
    if (length !== expected) throw unexpected(length, expected);
    arrived = received[offset >> 3]!;
  };
  return {
    measuresOneWay: true,
    receive(size, count) {
      expected = size;
      for (let got = 0; got < count; ) {
        const taken = receiver.receiveMany(check, { max: count - got });
        if (taken < 0) throw unexpected(-1, size);
        got += taken;
      }
    },
    pingPong(size, count, samples, oneWay) {
      expected = size;
      const one = [new Uint8Array(size).fill(0x70)];
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        sender.sendMany(one);
        if (receiver.receiveMany(check, { max: 1 }) !== 1) throw unexpected(-1, size);
        const got = performance.now();
        samples[i] = (got - sent) / 1e3;
        recordOneWay(oneWay, i, sent, arrived, got);
      }
    },
    close: release,
  };
}

function batchPeerEnd({ sender, receiver, release }: Ends): PeerEnd {
  const buffer = new Uint8Array(RING_CAPACITY);
  const stamp = new Float64Array(buffer.buffer, 0, 1);
  return {
    send(size, count) {
      const batch = new Array<Uint8Array>(Math.min(count, BATCH)).fill(new Uint8Array(size).fill(0x78));
      for (let left = count; left > 0; left -= batch.length) {
        sender.sendMany(left >= batch.length ? batch : batch.slice(0, left));
      }
    },
    echo(size, count) {
      const one = [buffer.subarray(0, size)];
      const copy = (data: Uint8Array, offset: number, length: number): void => {
        if (length !== size) throw unexpected(length, size);
        buffer.set(data.subarray(offset, offset + length));
      };
      for (let i = 0; i < count; i++) {
        if (receiver.receiveMany(copy, { max: 1 }) !== 1) throw unexpected(-1, size);
        if (isStamped(i)) stamp[0] = monotonicMs();
        sender.sendMany(one);
      }
    },
    close: release,
  };
}

// The async ends are written apart from the blocking ones: a blocking loop must not pay for a
// promise per message that it does not use.
function asyncHostEnd({ sender, receiver, release }: Ends): HostEnd {
  const buffer = new Uint8Array(RING_CAPACITY);
  const take = async (size: number): Promise<void> => {
    const length = await receiver.receiveAsync(buffer);
    if (length !== size) throw unexpected(length, size);
  };
  return {
    async receive(size, count) {
      for (let i = 0; i < count; i++) await take(size);
    },
    async pingPong(size, count, samples) {
      const message = new Uint8Array(size).fill(0x70);
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        await sender.sendAsync(message);
        await take(size);
        samples[i] = (performance.now() - sent) / 1e3;
      }
    },
    close: release,
  };
}

function asyncPeerEnd({ sender, receiver, release }: Ends): PeerEnd {
  const buffer = new Uint8Array(RING_CAPACITY);
  return {
    async send(size, count) {
      const message = new Uint8Array(size).fill(0x78);
      for (let i = 0; i < count; i++) await sender.sendAsync(message);
    },
    async echo(_size, count) {
      for (let i = 0; i < count; i++) {
        const length = await receiver.receiveAsync(buffer);
        if (length < 0) throw new Error("the bench closed the ring");
        await sender.sendAsync(buffer.subarray(0, length));
      }
    },
    close: release,
  };
}

/** This side's ends: the bench writes "down" and reads "up"; the peer the other way round. */
function ends(api: RingModule, memory: Mapping | Attachment, side: "host" | "peer", create: boolean, tuning: WaitTuning, release: () => void): Ends {
  const { upOffset } = layout(api);
  const ring = (offset: number): RingClass => (create ? api.Ring.create(memory, { capacity: RING_CAPACITY, offset }) : api.Ring.attach(memory, offset));
  const down = ring(0);
  const up = ring(upOffset);
  const sender = side === "host" ? down.writer(tuning) : up.writer(tuning);
  const receiver = side === "host" ? up.reader(tuning) : down.reader(tuning);
  return {
    sender,
    receiver,
    release() {
      sender.close();
      receiver.close();
      release();
    },
  };
}

/**
 * `tuning` is the ring's own WaitTuning: the default spins 50 µs before sleeping; { spinMicros: 0 }
 * sleeps on the futex at once, which shows what the spinning buys and what it costs. A ring that
 * sleeps, or waits asynchronously, has its round trip read against C's futex ping-pong: an async
 * wait that does not spin it out ends in a futex wake-up too.
 */
export function ringMechanism(name: string, memory: Memory, tuning: WaitTuning = {}, waiting: RingWaiting = "blocking"): Mechanism {
  const sleeper = waiting === "async" ? "a word-waiter thread" : "a futex";
  const waits = tuning.spinMicros === 0 ? `sleeping on ${sleeper} at once (spinMicros 0)` : `spinning, then sleeping on ${sleeper}`;
  const { forms, hostEndOf, peerEndOf } = {
    blocking: { forms: "blocking send/receive", hostEndOf: hostEnd, peerEndOf: peerEnd },
    async: { forms: "sendAsync/receiveAsync on both sides", hostEndOf: asyncHostEnd, peerEndOf: asyncPeerEnd },
    view: { forms: "reserveView/commit and peekView/release (written and read in place: the sender's copy only)", hostEndOf: viewHostEnd, peerEndOf: viewPeerEnd },
    batch: { forms: `sendMany (up to ${BATCH} per call) and receiveMany (read in place): one store of tail and head per batch`, hostEndOf: batchHostEnd, peerEndOf: batchPeerEnd },
  }[waiting];
  return {
    name,
    description:
      memory === "sysv"
        ? `core ring over a System V segment (shmget IPC_PRIVATE + shmat), ${forms}, ${waits}`
        : `core ring over a memfd (memfd_create + mmap MAP_SHARED, fd passed to the peer), ${forms}, ${waits}`,
    family: "core",
    reference: "spin",
    ...(tuning.spinMicros === 0 || waiting === "async" ? { latencyReference: "futex" as const } : {}),
    async unavailable() {
      const loaded = await loadRing();
      return typeof loaded === "string" ? loaded : null;
    },
    async start(context) {
      const api = await ringApi();
      const { total } = layout(api);
      if (memory === "sysv") {
        const segment = SharedMemorySegment.create(IPC_PRIVATE, total, 0o600);
        let attachment: Attachment;
        try {
          attachment = segment.attach();
        } finally {
          // Marked for removal at once: Linux still lets the peer attach it by id while we are
          // attached, and the kernel frees it when the last side detaches, however they end.
          segment.remove();
        }
        const mine = attachment;
        try {
          const host = ends(api, mine, "host", true, tuning, () => mine.detach());
          const peer = context.startPeer({ args: [memory, String(segment.id)] });
          return await whenReady(peer, hostEndOf(host));
        } catch (error) {
          mine.detach();
          throw error;
        }
      }
      const fd = memfd_create("ipc-bench-ring");
      let mapping: Mapping | null = null;
      try {
        ftruncate(fd, total);
        mapping = mmap(total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        const mine = mapping;
        const host = ends(api, mine, "host", true, tuning, () => mine.unmap());
        const peer = context.startPeer({ fds: [fd], args: [memory, String(total)] });
        return await whenReady(peer, hostEndOf(host));
      } catch (error) {
        mapping?.unmap();
        throw error;
      } finally {
        close(fd); // the mappings keep the memory; the peer has its own descriptor
      }
    },
    async join({ fds: [fd], args: [kind, detail] }) {
      const api = await ringApi();
      if (kind === "sysv") {
        const attachment = SharedMemorySegment.fromId(Number(detail)).attach();
        return peerEndOf(ends(api, attachment, "peer", false, tuning, () => attachment.detach()));
      }
      if (fd === undefined) throw new Error("ring over memfd: the peer needs the memfd as a descriptor");
      const mapping = mmap(Number(detail), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      close(fd);
      return peerEndOf(ends(api, mapping, "peer", false, tuning, () => mapping.unmap()));
    },
  };
}
