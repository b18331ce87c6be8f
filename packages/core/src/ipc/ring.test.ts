import { afterAll, afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Ring, PeerGoneError, RingFormatError, RING_HEADER_SIZE, RING_OFFSETS, RECORD_HEADER_SIZE, SLOT_SIZE, PAD_LENGTH, type RingReader } from "./ring.ts";
import { RingView } from "./ring_view.ts";
import { SharedMemorySegment } from "./shared_memory.ts";
import { IPC_PRIVATE } from "../libc/sys/ipc.ts";
import { mmap } from "./mapping.ts";
import { memfd_create, shm_open, shm_unlink, MAP_SHARED, MAP_ANONYMOUS, PROT_READ, PROT_WRITE } from "../libc/sys/mman.ts";
import { open, O_CREAT, O_RDWR } from "../libc/fcntl.ts";
import { close, ftruncate } from "../libc/unistd.ts";
import { WaitTimeoutError } from "./timeouts.ts";
import { compileC, cSkipReason, removeCompiled, startCommand, startProgram, stopLeftoverPrograms } from "@linux-ipc/testing/vitest";
import { fillMessage, checkMessage, messageLength } from "../../fixtures/memory.ts";
import { ringConsumerC, ringLayoutC, ringProducerC } from "../../fixtures/ring-c.ts";

const fixture = (name: string): string => fileURLToPath(new URL(`../../dist-fixtures/${name}.js`, import.meta.url));

const segments: SharedMemorySegment[] = [];
afterEach(async () => {
  // Programs first: a segment is removed only once nothing can be using it.
  await stopLeftoverPrograms(0);
  for (const segment of segments.splice(0)) segment.remove();
});
afterAll(removeCompiled);

/** A private SysV segment for one ring, removed after the test. Children attach it by id. */
function ringSegment(capacity: number, producers = 1): { spec: string; ring: Ring } {
  const segment = SharedMemorySegment.create(IPC_PRIVATE, Ring.bytesNeeded(capacity));
  segments.push(segment);
  const ring = Ring.create(segment.attach(), { capacity, producers });
  return { spec: `shm:${segment.id}`, ring };
}

/** The ring's header as 32-bit words, to read or corrupt fields as a stray write would. */
function headerWords(ring: Ring): Int32Array {
  const bytes = ring.memory.bytes;
  return new Int32Array(bytes.buffer, bytes.byteOffset + ring.offset, RING_HEADER_SIZE >> 2);
}

function anonymous(length: number): ReturnType<typeof mmap> {
  return mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
}

describe("a ring in read-only memory", () => {
  it("can be watched live (head, tail, used), and refuses a reader, a writer or a create instead of faulting", () => {
    const length = Ring.bytesNeeded(4096);
    const fd = memfd_create("ring-watched", 0);
    try {
      ftruncate(fd, length);
      using writable = mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
      using readOnly = mmap(length, PROT_READ, MAP_SHARED, fd);
      const ring = Ring.create(writable, { capacity: 4096 });
      const watched = Ring.attach(readOnly);
      using writer = ring.writer();
      writer.send(new Uint8Array(24));
      expect([watched.tail, watched.used]).toEqual([ring.tail, 32]);
      for (const attach of [() => watched.reader(), () => watched.writer(), () => Ring.create(readOnly)]) {
        expect(attach).toThrow(expect.objectContaining({ code: "ERR_IPC_MEMORY_ACCESS", message: expect.stringMatching(/read-only, a ring can only be watched: head, tail, used/) }));
      }
    } finally {
      close(fd);
    }
  });
});

describe("flush", () => {
  it("returns once a consumer in another process has read everything, however the two interleave (5,000 rounds)", async () => {
    const { spec, ring } = ringSegment(4096);
    const consumer = startProgram(fixture("ring-consumer"), [spec, "64"]);
    await consumer.waitForLine("attached");
    {
      using writer = ring.writer();
      for (let seq = 0; seq < 5000; seq++) {
        const length = messageLength(seq, 0, 64);
        const at = writer.reserve(length);
        fillMessage(writer.data, at, length, seq, 0);
        writer.commit();
        // Before the fix, a release landing between flush's two reads of head left it waiting for
        // ever; the timeout turns such a hang into a failure that names the round.
        try {
          writer.flush({ timeoutMs: 5_000 });
        } catch (error) {
          throw new Error(`flush did not return in round ${seq}: ${(error as Error).message}`);
        }
      }
    }
    await consumer.waitForLine("received 5000 streams 1 errors 0");
  });
  it("returns once head passes what was written, though another producer keeps the ring from ever being empty", async () => {
    using memory = anonymous(Ring.bytesNeeded(4096));
    const ring = Ring.create(memory, { capacity: 4096, producers: 2 });
    using flusher = ring.writer();
    using busy = ring.writer();
    using reader = ring.reader();
    const into = new Uint8Array(64);
    flusher.send(new Uint8Array(64));
    busy.send(new Uint8Array(64));
    // Each round adds a message and reads one, so head never catches up with tail: a flush that
    // waited for head == tail (as before) waited for as long as the other producer kept writing.
    let feeding = true;
    let rounds = 0;
    const feed = (async () => {
      while (feeding) {
        busy.send(new Uint8Array(64));
        reader.receive(into);
        rounds++;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
    try {
      await flusher.flushAsync({ timeoutMs: 3_000 });
    } finally {
      feeding = false;
      await feed;
    }
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(ring.used).toBeGreaterThan(0);
  });
});

/** Reads (tryPeek and release) until the ring is empty, an error, or `limit` messages: what came. */
function drain(reader: RingReader, limit = 100): { lengths: number[]; error: unknown } {
  const lengths: number[] = [];
  try {
    while (lengths.length < limit) {
      const length = reader.tryPeek();
      if (length < 0) return { lengths, error: null };
      lengths.push(length);
      reader.release();
    }
    return { lengths, error: new Error(`more than ${limit} messages: phantom messages`) };
  } catch (error) {
    return { lengths, error };
  }
}

describe("a corrupt ring", () => {
  const moveTail = (ring: Ring, bytes: number): void => {
    const index = RING_OFFSETS.tail >> 2;
    headerWords(ring)[index] = (headerWords(ring)[index]! + bytes) | 0;
  };
  /** A ring with messages of `lengths` sent; `corrupt` then changes it; what the consumer gets. */
  function corrupted(lengths: number[], corrupt: (ring: Ring, records: Int32Array) => void, before = 0) {
    const memory = anonymous(Ring.bytesNeeded(4096));
    const ring = Ring.create(memory, { capacity: 4096 });
    const writer = ring.writer();
    const reader = ring.reader();
    for (const length of lengths) writer.send(new Uint8Array(length).fill(7));
    const early = drain(reader, before).lengths;
    const records = new Int32Array(memory.bytes.buffer, memory.bytes.byteOffset + RING_HEADER_SIZE, 4096 >> 2);
    corrupt(ring, records);
    const { lengths: got, error } = drain(reader);
    return { ring, memory, writer, reader, got: [...early, ...got], error };
  }

  const cases: Array<{ what: string; lengths: number[]; corrupt: (ring: Ring, records: Int32Array) => void; delivered: number[]; message: RegExp; before?: number }> = [
    {
      what: "a record whose length runs past tail",
      lengths: [16, 16],
      corrupt: (_, r) => void (r[24 >> 2] = 100),
      delivered: [16],
      message: /a record of 100 bytes at position 24 runs past tail 48 \(24 bytes published after head 24\)/,
    },
    {
      what: "a length crossing the end of the data area",
      lengths: [16],
      corrupt: (_, r) => void (r[0] = 5000),
      delivered: [],
      message: /a record of 5000 bytes at position 0 crosses the end of the 4096-byte data area/,
    },
    {
      what: "tail moved by 1 MiB",
      lengths: [16, 16],
      corrupt: (ring) => moveTail(ring, 2 ** 20),
      delivered: [],
      message: /tail 1048624 is 1048624 bytes ahead of head 0, more than the 4096-byte capacity/,
    },
    { what: "tail moved by 3 bytes", lengths: [16, 16], corrupt: (ring) => moveTail(ring, 3), delivered: [], message: /tail 51 or head 0 is not a multiple of 8/ },
    {
      what: "tail moved by 3 bytes after the reader loaded it",
      lengths: [16, 16],
      before: 1,
      corrupt: (ring) => moveTail(ring, 3),
      delivered: [16, 16],
      message: /tail 51 or head 48 is not a multiple of 8/,
    },
    {
      what: "a pad in the middle of the published records",
      lengths: [16, 16],
      corrupt: (_, r) => void (r[24 >> 2] = PAD_LENGTH | 0),
      delivered: [16],
      message: /a pad at position 24 where none belongs \(24 bytes published after head 24\)/,
    },
    { what: "a pad at position 0", lengths: [16], corrupt: (_, r) => void (r[0] = PAD_LENGTH | 0), delivered: [], message: /a pad at position 0 where none belongs/ },
  ];

  for (const c of cases) {
    it(`stops at ${c.what} with a RingFormatError, delivers no phantom message, and ends the stream for both sides`, () => {
      const { ring, memory, writer, reader, got, error } = corrupted(c.lengths, c.corrupt, c.before);
      try {
        expect(got).toEqual(c.delivered);
        expect(error).toBeInstanceOf(RingFormatError);
        expect((error as Error).message).toMatch(c.message);
        // The reader stays stopped (even if tail later makes the record look whole) ...
        expect(() => reader.tryPeek()).toThrow(error as Error);
        expect(() => reader.peek({ timeoutMs: 1_000 })).toThrow(error as Error);
        // ... and producers, once the ring is full, learn why instead of waiting for room: the
        // consumer's state says it found the ring corrupt (not that it closed or died).
        expect(ring.hasConsumer).toBe(false);
        const fill = (): void => {
          while (writer.trySend(new Uint8Array(8)));
        };
        expect(fill).toThrow(RingFormatError);
        expect(fill).toThrow(`corrupt ring: the consumer (pid ${process.pid}) found the ring corrupt and stopped reading`);
      } finally {
        reader.close();
        writer.close();
        memory.unmap();
      }
    });
  }

  it("wakes a producer waiting for room when the consumer stops at a corrupt record", async () => {
    using memory = anonymous(Ring.bytesNeeded(256));
    const ring = Ring.create(memory, { capacity: 256 });
    using writer = ring.writer();
    using reader = ring.reader();
    while (writer.trySend(new Uint8Array(56)));
    const waiting = writer.reserveAsync(56, { timeoutMs: 5_000 });
    new Int32Array(memory.bytes.buffer, memory.bytes.byteOffset + RING_HEADER_SIZE, 1)[0] = PAD_LENGTH | 0;
    expect(() => reader.tryPeek()).toThrow(RingFormatError);
    await expect(waiting).rejects.toThrow(RingFormatError);
    await expect(waiting).rejects.toThrow(/found the ring corrupt/);
  });
});

describe("a producer over a corrupt head", () => {
  for (const [what, head] of [
    ["1 MiB ahead of tail", 2 ** 20 + 256],
    ["misaligned", 4],
  ] as const) {
    for (const producers of [1, 2]) {
      it(`throws a RingFormatError instead of waiting for room for ever when head is ${what} (${producers} producer${producers === 1 ? "" : "s"})`, () => {
        using memory = anonymous(Ring.bytesNeeded(256));
        const ring = Ring.create(memory, { capacity: 256, producers });
        using writer = ring.writer();
        using _reader = ring.reader();
        while (writer.trySend(new Uint8Array(56)));
        // The consumer is idle (it would store head only after reading), so no head move would come.
        headerWords(ring)[RING_OFFSETS.head >> 2] = head;
        expect(() => writer.reserve(56, { timeoutMs: 1_000 })).toThrow(RingFormatError);
        expect(() => writer.tryReserve(56)).toThrow(/corrupt ring: tail 256 and head/);
      });
    }
  }
});

describe("Ring.attach", () => {
  const cases: Array<[field: keyof typeof RING_OFFSETS | number, value: number, message: RegExp]> = [
    ["version", 1, /ring version 1 is not supported \(this is version 2\): it was laid out by an older peer/],
    ["version", 3, /ring version 3 is not supported \(this is version 2\): it was laid out by a newer peer/],
    ...[96, 100, 0, 8, 7680, 32, 2 ** 31].map((capacity): [keyof typeof RING_OFFSETS, number, RegExp] => [
      "capacity",
      capacity | 0,
      new RegExp(`capacity is ${capacity}; it must be a power of two from 64 to 2\\^30`),
    ]),
    ["capacity", 8192, /capacity is 8192; the data area does not fit in the memory \(4096 bytes after the header\)/],
    ["dataOffset", 256, /data_offset is 256; it must be 768/],
    ["producers", 0, /producers is 0; it must be 1 to 16/],
    ["producers", 17, /producers is 17; it must be 1 to 16/],
    ["closedProducers", 2, /closed_producers is 2; it cannot exceed producers \(1\)/],
    ["consumerState", 7, /consumer_state is 7; it must be 0 to 4/],
    [RING_OFFSETS.slots + 4, 4, /slots\[0\].state is 4; it must be 0 to 3/],
    [RING_OFFSETS.slots + 3 * SLOT_SIZE + 4, 1, /slots\[3\].state is 1; the ring has 1 producer slot, so it must be 0/],
    ["head", 4, /head is 4; it must be a multiple of 8/],
    ["tail", 3, /tail is 3; it must be a multiple of 8/],
    ["tail", 4104, /tail is 4104 and head 0, 4104 bytes apart \(mod 2\^32\); at most the capacity \(4096\) may be/],
    ["head", 8, /tail is 0 and head 8, 4294967288 bytes apart/],
  ];
  for (const [field, value, message] of cases) {
    it(`refuses ${typeof field === "number" ? `the word at ${field}` : field} = ${value >>> 0} with a RingFormatError naming it`, () => {
      using memory = anonymous(Ring.bytesNeeded(4096));
      const ring = Ring.create(memory, { capacity: 4096 });
      expect(Ring.attach(memory).capacity).toBe(4096);
      headerWords(ring)[(typeof field === "number" ? field : RING_OFFSETS[field]) >> 2] = value;
      expect(() => Ring.attach(memory)).toThrow(RingFormatError);
      expect(() => Ring.attach(memory)).toThrow(message);
    });
  }
});

describe("ring in one process", () => {
  it("carries messages of every size in order across many wrap-arounds", () => {
    using memory = anonymous(Ring.bytesNeeded(4096));
    const ring = Ring.create(memory, { capacity: 4096 });
    using writer = ring.writer();
    using reader = ring.reader();
    const into = new Uint8Array(ring.maxMessageSize);
    for (let seq = 0; seq < 5000; seq++) {
      const length = seq % 97 === 0 ? ring.maxMessageSize : messageLength(seq, 1, 700);
      let at = writer.tryReserve(length);
      if (at < 0) {
        // A message that needs the whole ring waits for the reader to skip the pad before it.
        expect(reader.tryPeek()).toBe(-1);
        at = writer.tryReserve(length);
      }
      fillMessage(writer.data, at, length, seq, 1);
      writer.commit();
      const got = reader.receive(into);
      expect(got).toBe(length);
      expect(checkMessage(into, 0, got, 700)).toEqual({ seq, stream: 1, error: length === messageLength(seq, 1, 700) ? null : expect.any(String) });
    }
    expect(ring.used).toBe(0);
  });

  it("works over a POSIX shm object and over a mapped file, each mapped twice as two processes would", () => {
    const name = `/ipc-ring-test-${process.pid}`;
    const file = join(mkdtempSync(join(tmpdir(), "ipc-ring-file-")), "ring");
    const size = Ring.bytesNeeded(1024);
    const backings: Array<{ what: string; open: () => number; remove: () => void }> = [
      { what: "POSIX shm", open: () => shm_open(name, O_RDWR | O_CREAT, 0o600), remove: () => shm_unlink(name) },
      { what: "file", open: () => open(file, O_RDWR | O_CREAT, 0o600), remove: () => rmSync(dirname(file), { recursive: true }) },
    ];
    for (const backing of backings) {
      const fd = backing.open();
      try {
        ftruncate(fd, size);
        using producerSide = mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
        using consumerSide = mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
        using writer = Ring.create(producerSide, { capacity: 1024 }).writer();
        using reader = Ring.attach(consumerSide).reader();
        const into = new Uint8Array(100);
        for (let seq = 0; seq < 200; seq++) {
          writer.send(new Uint8Array(100).fill(seq & 0xff));
          expect(reader.receive(into), backing.what).toBe(100);
          expect(
            into.every((byte) => byte === (seq & 0xff)),
            backing.what,
          ).toBe(true);
        }
      } finally {
        close(fd);
        backing.remove();
      }
    }
  });

  it("keeps every message across the 2^32 wrap of the positions, with one producer and with two", () => {
    const nearWrap = 2 ** 32 - 2048;
    const message = new Uint8Array(56);
    const into = new Uint8Array(56);
    for (const producers of [1, 2]) {
      using memory = anonymous(Ring.bytesNeeded(4096));
      const ring = Ring.create(memory, { capacity: 4096, producers });
      const setPositions = (): void => {
        headerWords(ring)[RING_OFFSETS.head >> 2] = nearWrap | 0;
        headerWords(ring)[RING_OFFSETS.tail >> 2] = nearWrap | 0;
      };
      // With two producers, one attached early and sat idle (its cached head is 0) while the other
      // moved ~4 GiB through the ring; one producer simply starts just under the wrap.
      if (producers === 1) setPositions();
      using idle = ring.writer();
      if (producers === 2) setPositions();
      using busy = producers === 2 ? ring.writer() : idle;
      using reader = ring.reader();
      let sent = 0;
      while (busy.trySend(message.fill(sent & 0xff))) sent++;
      expect(sent).toBe(4096 / (RECORD_HEADER_SIZE + 56));
      // The ring is full: the idle producer must see it, not its stale view of the positions.
      expect(idle.tryReserve(56)).toBe(-1);
      for (let seq = 0; seq < sent; seq++) {
        expect(reader.receive(into)).toBe(56);
        expect(into[0]).toBe(seq & 0xff);
      }
      expect(reader.tryPeek()).toBe(-1);
      expect(headerWords(ring)[RING_OFFSETS.head >> 2]! >>> 0 < nearWrap).toBe(true);
      expect(idle.trySend(message.fill(0xaa))).toBe(true);
      expect(reader.receive(into)).toBe(56);
      expect(into[55]).toBe(0xaa);
    }
  });

  it("applies backpressure: tryReserve says -1 when full, and room returns as the reader releases", () => {
    using memory = anonymous(Ring.bytesNeeded(256));
    const ring = Ring.create(memory, { capacity: 256 });
    using writer = ring.writer();
    using reader = ring.reader();
    const message = new Uint8Array(56).fill(9);
    let sent = 0;
    while (writer.trySend(message)) sent++;
    expect(sent).toBe(256 / (RECORD_HEADER_SIZE + 56));
    expect(writer.tryReserve(1)).toBe(-1);
    expect(() => writer.reserve(1, { timeoutMs: 20 })).toThrow(WaitTimeoutError);
    expect(reader.tryPeek()).toBe(56);
    reader.release();
    expect(writer.trySend(message)).toBe(true);
  });

  it("commits fewer bytes than reserved, cancels, sends empty messages and reports the end of the stream", () => {
    using memory = anonymous(Ring.bytesNeeded(1024));
    const ring = Ring.create(memory, { capacity: 1024 });
    const writer = ring.writer();
    using reader = ring.reader();
    const at = writer.reserve(500);
    writer.data.set([1, 2, 3], at);
    writer.commit(3);
    writer.reserve(10);
    writer.cancel();
    writer.send(new Uint8Array(0));
    expect(reader.tryPeek()).toBe(3);
    expect([...reader.data.subarray(reader.offset, reader.offset + 3)]).toEqual([1, 2, 3]);
    expect(reader.tryPeek()).toBe(3);
    reader.release();
    expect(reader.receive(new Uint8Array(0))).toBe(0);
    expect(reader.ended).toBe(false);
    writer.close();
    writer.close();
    expect(reader.ended).toBe(true);
    expect(reader.peek()).toBe(-1);
  });

  it("refuses bad shapes and uses with clear errors", () => {
    using memory = anonymous(8192);
    expect(() => Ring.attach(memory)).toThrow(RingFormatError);
    expect(() => Ring.attach(memory)).toThrow(/no ring here \(magic 0x00000000/);
    expect(() => Ring.create(memory, { capacity: 1000 })).toThrow(/power of two/);
    expect(() => Ring.create(memory, { capacity: 8192 })).toThrow(/needs 8960 bytes; the memory has 8192/);
    expect(() => Ring.create(memory, { offset: 10 })).toThrow(/multiple of 64/);
    expect(() => Ring.create(memory, { producers: 17 })).toThrow(/1 to 16 producers/);
    const ring = Ring.create(memory);
    expect(ring.capacity).toBe(4096);
    using writer = ring.writer();
    expect(() => ring.writer()).toThrow("the ring was created for 1 producer and all have attached");
    expect(() => writer.reserve(ring.maxMessageSize + 1)).toThrow(/0 to 4088 bytes/);
    using reader = ring.reader();
    expect(() => ring.reader()).toThrow(`the ring already has a consumer (pid ${process.pid})`);
    expect(() => reader.release()).toThrow(/without a peeked message/);
    reader.close();
    // The producer reads the consumer's state only where it would wait: once the ring is full.
    const fill = (): void => {
      for (;;) writer.send(new Uint8Array(1), { timeoutMs: 5_000 });
    };
    expect(fill).toThrow(PeerGoneError);
    expect(fill).toThrow(`the consumer (pid ${process.pid}) closed the ring`);
  });

  it("keeps every check on send's and receive's short paths (the common case, taken without reserve or peek)", async () => {
    using memory = anonymous(8192);
    const ring = Ring.create(memory);
    using writer = ring.writer();
    using reader = ring.reader();
    const tooLong = /a message must be 0 to 4088 bytes \(the ring's capacity less 8\)/;
    expect(() => writer.send(new Uint8Array(ring.maxMessageSize + 1))).toThrow(tooLong);
    expect(() => writer.trySend(new Uint8Array(ring.maxMessageSize + 1))).toThrow(tooLong);
    await expect(writer.sendAsync(new Uint8Array(ring.maxMessageSize + 1))).rejects.toThrow(tooLong);
    expect(() => writer.send({} as Uint8Array)).toThrow(/not undefined/);
    expect(ring.tail).toBe(0);

    writer.reserve(8);
    expect(() => writer.send(new Uint8Array(8))).toThrow(/already reserved/);
    writer.cancel();

    const message = Uint8Array.from({ length: 13 }, (_, i) => 0xf0 + i);
    writer.send(message);
    expect(writer.trySend(message)).toBe(true);
    await writer.sendAsync(message);
    expect(() => reader.receive(new Uint8Array(12))).toThrow("a message of 13 bytes does not fit in a buffer of 12");
    // Refused, so not taken: the same message is next. Short messages are copied by words where
    // the buffer allows it; a buffer at an odd offset takes the byte copy.
    const odd = new Uint8Array(32).subarray(1, 14);
    expect(reader.receive(odd)).toBe(13);
    expect(odd).toEqual(message);
    const even = new Uint8Array(16);
    expect(reader.receive(even)).toBe(13);
    expect(even.subarray(0, 13)).toEqual(message);
    expect(reader.receive(even.subarray(0, 13))).toBe(13);
    expect(even.subarray(0, 13)).toEqual(message);
    expect(reader.tryPeek()).toBe(-1);

    writer.close();
    expect(() => writer.send(message)).toThrow("this ring writer is closed");
    expect(() => writer.trySend(message)).toThrow("this ring writer is closed");
    expect(reader.receive(even)).toBe(-1);
  });

  it("waits asynchronously with the event loop free, and gives up at the timeout", async () => {
    using memory = anonymous(Ring.bytesNeeded(1024));
    const ring = Ring.create(memory, { capacity: 1024 });
    using writer = ring.writer();
    using reader = ring.reader({ spinMicros: 0 });
    const arrived = reader.peekAsync();
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (++ticks === 3) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    writer.send(new Uint8Array([42]));
    expect(await arrived).toBe(1);
    reader.release();
    await expect(reader.peekAsync({ timeoutMs: 20 })).rejects.toThrow(WaitTimeoutError);
    const controller = new AbortController();
    const aborted = reader.peekAsync({ signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toThrow(/aborted/);
  });
});

describe("the layout in RING.md", () => {
  it.skipIf(cSkipReason() !== null)("matches the C struct it documents, field by field", () => {
    const output = execFileSync(compileC("ring-layout", ringLayoutC), { encoding: "utf8" });
    const c = Object.fromEntries(
      output
        .trim()
        .split("\n")
        .map((line) => line.split(" "))
        .map(([name, value]) => [name!, Number(value)]),
    );
    const { data, ...fields } = RING_OFFSETS;
    expect({ size: c.size, slot: c.slot, data }).toEqual({ size: RING_HEADER_SIZE, slot: SLOT_SIZE, data: RING_HEADER_SIZE });
    for (const [field, offset] of Object.entries(fields)) expect([field, c[field]]).toEqual([field, offset]);
  });
});

describe("ring between processes", () => {
  it("moves 100,000 mixed-size messages from a producer process to a consumer process over a memfd", async () => {
    const capacity = 16384;
    const length = Ring.bytesNeeded(capacity);
    const fd = memfd_create("ring-test");
    try {
      ftruncate(fd, length);
      using memory = mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
      Ring.create(memory, { capacity });
      const spec = `fd:3:${length}`;
      const consumer = startProgram(fixture("ring-consumer"), [spec, "2000", "async"], { fds: [fd] });
      await consumer.waitForLine("attached");
      const producer = startProgram(fixture("ring-producer"), [spec, "100000", "2000", "7"], { fds: [fd] });
      expect((await producer.exited).stdout).toContain("done");
      const result = await consumer.exited;
      expect(result.stdout).toContain("received 100000 streams 1 errors 0");
      expect(result.code).toBe(0);
    } finally {
      close(fd);
    }
  });

  it("tells the producer when the consumer is killed (SIGKILL), instead of waiting forever", async () => {
    const { spec } = ringSegment(4096);
    const consumer = startProgram(fixture("ring-consumer"), [spec, "500"]);
    await consumer.waitForLine("attached");
    const producer = startProgram(fixture("ring-producer"), [spec, "1000000", "500"]);
    await producer.waitForLine("attached");
    consumer.kill("SIGKILL");
    const result = await producer.exited;
    expect(result.stdout).toContain(`peer gone: the consumer (pid ${consumer.pid}) died`);
    expect(result.code).toBe(3);
  });

  it("tells the consumer when its only producer is killed", async () => {
    const { spec } = ringSegment(4096);
    const producer = startProgram(fixture("ring-producer"), [spec, "1000000", "500", "0", "async"]);
    await producer.waitForLine("attached");
    producer.kill("SIGKILL");
    await producer.exited;
    const consumer = startProgram(fixture("ring-consumer"), [spec, "500", "async"]);
    const result = await consumer.exited;
    expect(result.stdout).toContain(`peer gone: the producer (pid ${producer.pid}) died without closing the ring`);
  });

  it("lets two producer processes share one ring through its lock", async () => {
    const { spec } = ringSegment(4096, 2);
    const consumer = startProgram(fixture("ring-consumer"), [spec, "300"]);
    await consumer.waitForLine("attached");
    const first = startProgram(fixture("ring-producer"), [spec, "30000", "300", "1"]);
    const second = startProgram(fixture("ring-producer"), [spec, "30000", "300", "2", "async"]);
    expect((await first.exited).code).toBe(0);
    expect((await second.exited).code).toBe(0);
    expect((await consumer.exited).stdout).toContain("received 60000 streams 2 errors 0");
  });
});

describe.skipIf(cSkipReason() !== null)("ring with C peers written from RING.md", () => {
  it("a C consumer reads what a TypeScript producer writes", async () => {
    const { spec, ring } = ringSegment(4096);
    const shmid = spec.slice(4);
    const consumer = startCommand(compileC("ring-consumer", ringConsumerC), [shmid, "700"]);
    await consumer.waitForLine("attached");
    const producer = startProgram(fixture("ring-producer"), [spec, "50000", "700", "3"]);
    expect((await producer.exited).stdout).toContain("done");
    const result = await consumer.exited;
    expect(result.stdout).toContain("received 50000 streams 1 errors 0");
    expect(ring.used).toBe(0);
  });

  it("a TypeScript consumer reads what a C producer writes", async () => {
    const { spec } = ringSegment(4096);
    const consumer = startProgram(fixture("ring-consumer"), [spec, "700"]);
    await consumer.waitForLine("attached");
    const producer = startCommand(compileC("ring-producer", ringProducerC), [spec.slice(4), "50000", "700", "4"]);
    expect((await producer.exited).stdout).toContain("done");
    expect((await consumer.exited).stdout).toContain("received 50000 streams 1 errors 0");
  });

  it("a C producer and a TypeScript producer share the ring's lock", async () => {
    const { spec } = ringSegment(2048, 2);
    const consumer = startProgram(fixture("ring-consumer"), [spec, "300"]);
    await consumer.waitForLine("attached");
    const c = startCommand(compileC("ring-producer-mp", ringProducerC), [spec.slice(4), "40000", "300", "5"]);
    const ts = startProgram(fixture("ring-producer"), [spec, "40000", "300", "6"]);
    expect((await c.exited).code).toBe(0);
    expect((await ts.exited).code).toBe(0);
    expect((await consumer.exited).stdout).toContain("received 80000 streams 2 errors 0");
  });
});

describe("views and batches", () => {
  it("reserveView and peekView hand out the message in place, and their bytes throw once it is committed, cancelled or released", () => {
    using memory = anonymous(Ring.bytesNeeded(1024));
    const ring = Ring.create(memory, { capacity: 1024 });
    using writer = ring.writer();
    using reader = ring.reader();
    const cancelled = writer.reserveView(10);
    writer.cancel();
    expect(cancelled.valid).toBe(false);
    expect(() => cancelled.bytes).toThrow("this ring view is no longer valid: its message was cancelled; a view may be used only until then");
    expect(reader.tryPeekView()).toBe(null);
    const out = writer.reserveView(5);
    expect(out).toBeInstanceOf(RingView);
    expect(out.length).toBe(5);
    out.bytes.set([1, 2, 3, 4, 5]);
    // The view is the ring's own memory: the bytes are there before any copy.
    expect([...writer.data.subarray(writer.offset, writer.offset + 5)]).toEqual([1, 2, 3, 4, 5]);
    writer.commit();
    expect(() => out.bytes).toThrow(/its message was committed/);
    const view = reader.peekView()!;
    expect(reader.peekView()).toBe(view);
    expect([...view.bytes]).toEqual([1, 2, 3, 4, 5]);
    expect(view.bytes.buffer).toBe(reader.data.buffer);
    reader.release();
    expect(view.valid).toBe(false);
    expect(() => view.length).toThrow(/its message was released/);
    // A message as large as the ring needs the pad before position 0 read first: no room now.
    expect(writer.tryReserveView(ring.maxMessageSize)).toBe(null);
    expect(reader.tryPeekView()).toBe(null);
    expect(writer.tryReserveView(ring.maxMessageSize)).toBeInstanceOf(RingView);
    writer.commit(0);
    expect(reader.tryPeekView()!.length).toBe(0);
    reader.release();
    writer.close();
    expect(reader.peekView()).toBe(null);
  });

  it("sendMany and receiveMany carry mixed sizes in order across many wrap-arounds, one store of tail and of head per batch", () => {
    using memory = anonymous(Ring.bytesNeeded(4096));
    const ring = Ring.create(memory, { capacity: 4096 });
    using writer = ring.writer();
    using reader = ring.reader();
    const scratch = new Uint8Array(16 * 700);
    let sent = 0;
    let received = 0;
    let batches = 0;
    const check = (data: Uint8Array, offset: number, length: number): void => {
      expect(checkMessage(data, offset, length, 700)).toEqual({ seq: received, stream: 2, error: null });
      received++;
    };
    while (sent < 20_000) {
      const batch: Uint8Array[] = [];
      // As many as fit in the ring: sendMany would otherwise wait for a reader that is this thread.
      for (let room = 4096; batch.length < 16; sent++) {
        const length = messageLength(sent, 2, 700);
        room -= RECORD_HEADER_SIZE + ((length + 7) & ~7) + 700;
        if (room < 0) break;
        fillMessage(scratch, batch.length * 700, length, sent, 2);
        batch.push(scratch.subarray(batch.length * 700, batch.length * 700 + length));
      }
      const tailBefore = ring.tail;
      writer.sendMany(batch);
      expect((ring.tail - tailBefore) >>> 0).toBeGreaterThan(0);
      const headBefore = ring.head;
      expect(reader.receiveMany(check)).toBe(batch.length);
      expect(ring.head).toBe(ring.tail);
      expect((ring.head - headBefore) >>> 0).toBe((ring.tail - tailBefore) >>> 0);
      batches++;
    }
    expect(received).toBe(sent);
    expect(batches).toBeLessThan(sent);
    writer.close();
    expect(reader.receiveMany(check)).toBe(-1);
  });

  it("receiveMany gives back the messages handled before a handler throws, and the next peek returns the one it threw on", () => {
    using memory = anonymous(Ring.bytesNeeded(1024));
    const ring = Ring.create(memory, { capacity: 1024 });
    using writer = ring.writer();
    using reader = ring.reader();
    writer.sendMany([new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])]);
    const seen: number[] = [];
    expect(() =>
      reader.tryReceiveMany((data, offset) => {
        if (data[offset] === 2) throw new Error("handler failed on 2");
        seen.push(data[offset]!);
      }),
    ).toThrow("handler failed on 2");
    expect(seen).toEqual([1]);
    expect(ring.used).toBe(2 * (RECORD_HEADER_SIZE + 8));
    expect(reader.tryPeek()).toBe(1);
    expect(reader.data[reader.offset]).toBe(2);
    expect(reader.tryReceiveMany((data, offset) => void seen.push(data[offset]!), 1)).toBe(1);
    expect(reader.tryReceiveMany((data, offset) => void seen.push(data[offset]!))).toBe(1);
    expect(seen).toEqual([1, 2, 3]);
  });

  it("sendMany refuses a message too large for the ring before sending any; trySendMany sends what fits now", () => {
    using memory = anonymous(Ring.bytesNeeded(256));
    const ring = Ring.create(memory, { capacity: 256 });
    using writer = ring.writer();
    using reader = ring.reader();
    expect(() => writer.sendMany([new Uint8Array(8), new Uint8Array(249)])).toThrow(/a message must be 0 to 248 bytes/);
    expect(ring.used).toBe(0);
    expect(writer.trySendMany(Array.from({ length: 10 }, () => new Uint8Array(56)))).toBe(4);
    expect(writer.trySendMany([new Uint8Array(56)])).toBe(0);
    expect(reader.tryReceiveMany(() => {})).toBe(4);
  });
});

describe.skipIf(cSkipReason() !== null)("a million mixed messages across the 2^32 wrap, through views and batches, with a C peer on either side", () => {
  const COUNT = 1_000_000;
  const MAX_SIZE = 700;
  // 64 MiB before the wrap: about a fifth of the way into the 360 MB the million messages take.
  const START = 2 ** 32 - 2 ** 26;
  function nearWrap(): { spec: string; ring: Ring } {
    const made = ringSegment(65536);
    const words = headerWords(made.ring);
    words[RING_OFFSETS.head >> 2] = START | 0;
    words[RING_OFFSETS.tail >> 2] = START | 0;
    return made;
  }
  const cases: Array<{ producer: string; consumer: string }> = [
    { producer: "view", consumer: "C" },
    { producer: "batch", consumer: "C" },
    { producer: "C", consumer: "view" },
    { producer: "C", consumer: "batch" },
    { producer: "batch", consumer: "view" },
  ];
  for (const { producer, consumer } of cases) {
    const name = (side: string): string => (side === "C" ? "a C" : `a TypeScript (${side === "view" ? "reserveView/peekView" : "sendMany/receiveMany"})`);
    it(`${name(producer)} producer to ${name(consumer)} consumer: none lost, duplicated or corrupt`, { timeout: 300_000 }, async () => {
      const { spec, ring } = nearWrap();
      const shmid = spec.slice(4);
      const reader =
        consumer === "C"
          ? startCommand(compileC("ring-consumer", ringConsumerC), [shmid, String(MAX_SIZE)], { timeoutMs: 280_000 })
          : startProgram(fixture("ring-consumer"), [spec, String(MAX_SIZE), consumer], { timeoutMs: 280_000 });
      await reader.waitForLine("attached");
      const writer =
        producer === "C"
          ? startCommand(compileC("ring-producer", ringProducerC), [shmid, String(COUNT), String(MAX_SIZE), "9"], { timeoutMs: 280_000 })
          : startProgram(fixture("ring-producer"), [spec, String(COUNT), String(MAX_SIZE), "9", producer], { timeoutMs: 280_000 });
      const written = await writer.exited;
      expect(written.stdout).toContain("done");
      const read = await reader.exited;
      expect(read.stdout).toContain(`received ${COUNT} streams 1 errors 0`);
      expect(read.code).toBe(0);
      // The positions went past 2^32 and wrapped to small values.
      expect(ring.head).toBe(ring.tail);
      expect(ring.head).toBeLessThan(START);
    });
  }
});
