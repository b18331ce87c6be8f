import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AsyncFd, bytesInPipe, readAsync, readLines, readSync, writeAllAsync } from "./pipe_io.ts";
import { ClosedDescriptorError, waitForFd } from "./poll.ts";
import { libc } from "../ffi/libc.ts";
import { check } from "../libc/errno.ts";
import { open, O_CLOEXEC, O_NONBLOCK, O_RDONLY, F_DUPFD_CLOEXEC, F_GETFL, F_GETPIPE_SZ, fcntl } from "../libc/fcntl.ts";
import { close, pipe2, read, write, PIPE_BUF } from "../libc/unistd.ts";
import { spawnWithFds } from "./process.ts";
import { openDescriptors } from "./procfs.ts";
import { startProgram, useTempDir } from "@linux-ipc/testing/vitest";

const dir = useTempDir();

const fixture = (name: string): string => fileURLToPath(new URL(`../../dist-fixtures/${name}.js`, import.meta.url));

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

describe("readLines", () => {
  it("gives one string per line however the writes and reads cut the stream", async () => {
    const [readEnd, writeEnd] = pipe2();
    try {
      write(writeEnd, "a\nbc");
      write(writeEnd, "d\n\ne");
      close(writeEnd);
      expect(await collect(readLines(readEnd))).toEqual(["a", "bcd", "", "e"]);
    } finally {
      close(readEnd);
    }
  });

  it("keeps multi-byte characters whole when a read splits them", async () => {
    const [readEnd, writeEnd] = pipe2();
    try {
      write(writeEnd, "héllo\nwörld ✓\n");
      close(writeEnd);
      expect(await collect(readLines(readEnd, { chunkSize: 1 }))).toEqual(["héllo", "wörld ✓"]);
    } finally {
      close(readEnd);
    }
  });

  it("delivers a line longer than maxLineBytes in pieces, losing nothing", async () => {
    const [readEnd, writeEnd] = pipe2();
    try {
      write(writeEnd, `${"x".repeat(10)}\nshort\n`);
      close(writeEnd);
      expect(await collect(readLines(readEnd, { chunkSize: 4, maxLineBytes: 8 }))).toEqual(["xxxxxxxx", "xx", "short"]);
    } finally {
      close(readEnd);
    }
  });

  it("stops waiting when aborted", async () => {
    const [readEnd, writeEnd] = pipe2();
    const controller = new AbortController();
    try {
      const reading = collect(readLines(readEnd, { signal: controller.signal }));
      controller.abort(new Error("stop"));
      await expect(reading).rejects.toThrow("stop");
    } finally {
      close(readEnd);
      close(writeEnd);
    }
  });
});

describe("writeAllAsync", () => {
  it("waits for room in a full nonblocking pipe and delivers every byte in order", async () => {
    const [readEnd, writeEnd] = pipe2(O_CLOEXEC | O_NONBLOCK);
    try {
      const data = Buffer.alloc(5 * fcntl(writeEnd, F_GETPIPE_SZ) + 123);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      const writing = writeAllAsync(writeEnd, data).then(() => close(writeEnd));
      const received: Buffer[] = [];
      const buffer = new Uint8Array(10000);
      for (let n: number; (n = await readAsync(readEnd, buffer)) > 0; ) received.push(Buffer.from(buffer.subarray(0, n)));
      await writing;
      expect(Buffer.concat(received).equals(data)).toBe(true);
    } finally {
      close(readEnd);
    }
  });

  it("fails with EPIPE once no reader is left (Node ignores SIGPIPE)", async () => {
    const [readEnd, writeEnd] = pipe2(O_CLOEXEC | O_NONBLOCK);
    close(readEnd);
    try {
      await expect(writeAllAsync(writeEnd, "anyone?")).rejects.toMatchObject({ code: "EPIPE", syscall: "pwritev2" });
    } finally {
      close(writeEnd);
    }
  });

  it("keeps messages of PIPE_BUF bytes whole when two processes write them at once", async () => {
    const [readEnd, writeEnd] = pipe2();
    const count = 300;
    const writers = ["A", "B"].map((letter) => spawnWithFds(fixture("pipe-message-writer"), [letter, String(count), String(PIPE_BUF)], { fds: [writeEnd], stdio: ["ignore", "ignore", "inherit"] }));
    close(writeEnd);
    try {
      const seen = { A: 0, B: 0 };
      for await (const line of readLines(readEnd)) {
        expect(line).toMatch(/^(A+|B+)$/);
        expect(line.length).toBe(PIPE_BUF - 1);
        seen[line[0] as "A" | "B"]++;
      }
      expect(seen).toEqual({ A: count, B: count });
    } finally {
      close(readEnd);
      for (const writer of writers) writer.kill();
    }
  });
});

describe("a 1 MiB stream between two processes", () => {
  it("arrives byte-exact and in order, and the reading process keeps no descriptor", async () => {
    const before = openDescriptors();
    const [readEnd, writeEnd] = pipe2();
    const writer = startProgram(fixture("pipe-stream-writer"), [String(1 << 20), "12345"], { fds: [writeEnd] });
    close(writeEnd);
    const hash = createHash("sha256");
    let total = 0;
    try {
      const buffer = new Uint8Array(65536);
      for (let n: number; (n = await readAsync(readEnd, buffer)) > 0; total += n) hash.update(buffer.subarray(0, n));
    } finally {
      close(readEnd);
    }
    const result = await writer.exited;
    expect(result.code).toBe(0);
    expect(total).toBe(1 << 20);
    expect(hash.digest("hex")).toBe(result.stdout.trim());
    expect(openDescriptors()).toEqual(before);
  });
});

describe("readAsync", () => {
  it("leaves a blocking descriptor blocking, so a later plain read() waits as in C instead of failing with EAGAIN", async () => {
    const [readEnd, writeEnd] = pipe2(O_CLOEXEC);
    try {
      const reading = readAsync(readEnd, new Uint8Array(16));
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(0);
      write(writeEnd, "first");
      expect(await reading).toBe(5);
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(0);
      write(writeEnd, "second");
      expect(read(readEnd, new Uint8Array(16))).toBe(6);
    } finally {
      close(readEnd);
      close(writeEnd);
    }
  });

  it("is not fooled when a number it waited on comes back as another pipe while the old pipe lives on", async () => {
    const [readEnd, writeEnd] = pipe2();
    // A copy keeps the old pipe open, and with it the epoll entry of the aborted wait, still armed.
    const copy = fcntl(readEnd, F_DUPFD_CLOEXEC, 100);
    const controller = new AbortController();
    const abandoned = readAsync(readEnd, new Uint8Array(16), 0, undefined, { signal: controller.signal });
    controller.abort(new Error("given up"));
    await expect(abandoned).rejects.toThrow("given up");
    close(readEnd);
    const [again, writeAgain] = pipe2();
    try {
      expect(again).toBe(readEnd);
      const buffer = new Uint8Array(16);
      const reading = readAsync(again, buffer);
      // The old entry reports under the same number, in the same epoll_wait as the copy's own wait:
      // the read finds nothing and waits on.
      write(writeEnd, "old");
      await waitForFd(copy, "readable");
      write(writeAgain, "new");
      expect(await reading).toBe(3);
      expect(Buffer.from(buffer.subarray(0, 3)).toString()).toBe("new");
    } finally {
      for (const fd of [copy, writeEnd, again, writeAgain]) close(fd);
    }
  });

  it("leaves a nonblocking descriptor nonblocking", async () => {
    const [readEnd, writeEnd] = pipe2(O_CLOEXEC | O_NONBLOCK);
    try {
      const reading = readAsync(readEnd, new Uint8Array(16));
      write(writeEnd, "x");
      expect(await reading).toBe(1);
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    } finally {
      close(readEnd);
      close(writeEnd);
    }
  });
});

describe("bytesInPipe", () => {
  it("counts unread bytes, asked of either end", () => {
    const [readEnd, writeEnd] = pipe2();
    try {
      expect(bytesInPipe(readEnd)).toBe(0);
      write(writeEnd, "hello");
      expect(bytesInPipe(readEnd)).toBe(5);
      expect(bytesInPipe(writeEnd)).toBe(5);
    } finally {
      close(readEnd);
      close(writeEnd);
    }
  });

  it("fails with a system error on something that is not open", () => {
    expect(() => bytesInPipe(987654)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "ioctl" }));
  });
});

describe("readSync", () => {
  it("waits for each chunk of a stream from another process, O_NONBLOCK or not, and reads 0 at end of file", async () => {
    const [readEnd, writeEnd] = pipe2(O_CLOEXEC | O_NONBLOCK);
    const writer = startProgram(fixture("pipe-stream-writer"), [String(1 << 20), "54321"], { fds: [writeEnd] });
    close(writeEnd);
    const hash = createHash("sha256");
    let total = 0;
    try {
      const buffer = new Uint8Array(65536);
      for (let n: number; (n = readSync(readEnd, buffer)) > 0; total += n) hash.update(buffer.subarray(0, n));
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    } finally {
      close(readEnd);
    }
    const result = await writer.exited;
    expect(result.code).toBe(0);
    expect(total).toBe(1 << 20);
    expect(hash.digest("hex")).toBe(result.stdout.trim());
  });
});

const eventfd_c = libc.func("int eventfd(unsigned int initval, int flags)");
const socketpair_c = libc.func("int socketpair(int domain, int type, int protocol, _Out_ int *sv)");
const AF_UNIX = 1;
const SOCK_STREAM = 1;

describe("AsyncFd", () => {
  it("reads what is there at once, waits for the rest, and never changes the flags: a later sync read works", async () => {
    const [readEnd, writeEnd] = pipe2(O_CLOEXEC);
    const reader = new AsyncFd(readEnd);
    const buffer = new Uint8Array(16);
    try {
      write(writeEnd, "now");
      expect(await reader.read(buffer)).toBe(3);
      const later = reader.read(buffer, 4, 8);
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(0);
      write(writeEnd, "later");
      expect(await later).toBe(5);
      expect(Buffer.from(buffer.subarray(4, 9)).toString()).toBe("later");
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(0);
      write(writeEnd, "sync");
      expect(read(readEnd, buffer)).toBe(4);
    } finally {
      reader.close();
      close(writeEnd);
    }
  });

  it("leaves a nonblocking descriptor nonblocking", async () => {
    const [readEnd, writeEnd] = pipe2(O_CLOEXEC | O_NONBLOCK);
    const reader = new AsyncFd(readEnd);
    try {
      const reading = reader.read(new Uint8Array(16));
      write(writeEnd, "x");
      expect(await reading).toBe(1);
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    } finally {
      reader.close();
      close(writeEnd);
    }
  });

  it("rejects an aborted read with the signal's reason, and the next read gets the data", async () => {
    const [readEnd, writeEnd] = pipe2();
    const reader = new AsyncFd(readEnd);
    const buffer = new Uint8Array(16);
    try {
      const controller = new AbortController();
      const reading = reader.read(buffer, 0, undefined, { signal: controller.signal });
      controller.abort(new Error("stop"));
      await expect(reading).rejects.toThrow("stop");
      await expect(reader.read(buffer, 0, undefined, { signal: controller.signal })).rejects.toThrow("stop");
      write(writeEnd, "kept");
      expect(await reader.read(buffer)).toBe(4);
    } finally {
      reader.close();
      close(writeEnd);
    }
  });

  it("close() rejects the pending read with ClosedDescriptorError, closes the descriptor, and refuses later calls", async () => {
    const before = openDescriptors();
    const [readEnd, writeEnd] = pipe2();
    const reader = new AsyncFd(readEnd);
    const reading = reader.read(new Uint8Array(16));
    reader.close();
    reader.close();
    close(writeEnd);
    await expect(reading).rejects.toBeInstanceOf(ClosedDescriptorError);
    await expect(reader.read(new Uint8Array(1))).rejects.toMatchObject({ code: "ERR_IPC_DESCRIPTOR_CLOSED", fd: readEnd });
    await expect(reader.writeAll("x")).rejects.toBeInstanceOf(ClosedDescriptorError);
    await expect(reader.wait("readable")).rejects.toBeInstanceOf(ClosedDescriptorError);
    expect(openDescriptors()).toEqual(before);
  });

  it("refuses a descriptor another AsyncFd has, and readAsync on it waits through the owner's handle", async () => {
    const [readEnd, writeEnd] = pipe2();
    const reader = new AsyncFd(readEnd);
    try {
      expect(() => new AsyncFd(readEnd)).toThrow(`descriptor ${readEnd} is already waited on by an AsyncFd`);
      const first = new Uint8Array(4);
      const second = new Uint8Array(4);
      // Both wait on the one handle: the first takes the data, the second goes on waiting for more.
      const owned = reader.read(first);
      const free = readAsync(readEnd, second);
      write(writeEnd, "one");
      expect(await owned).toBe(3);
      write(writeEnd, "two");
      expect(await free).toBe(3);
      expect(Buffer.from(second.subarray(0, 3)).toString()).toBe("two");
    } finally {
      reader.close();
      close(writeEnd);
    }
  });

  it("streams through a full blocking pipe, the writer waiting for room without holding the thread", async () => {
    const [readEnd, writeEnd] = pipe2();
    const reader = new AsyncFd(readEnd);
    const writer = new AsyncFd(writeEnd);
    try {
      const data = Buffer.alloc(5 * fcntl(writeEnd, F_GETPIPE_SZ) + 123);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      // A blocking write(2) of this much would never return: nobody reads until it does.
      const writing = writer.writeAll(data).then(() => writer.close());
      const received: Buffer[] = [];
      const buffer = new Uint8Array(10000);
      for (let n: number; (n = await reader.read(buffer)) > 0; ) received.push(Buffer.from(buffer.subarray(0, n)));
      await writing;
      expect(Buffer.concat(received).equals(data)).toBe(true);
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(0);
    } finally {
      reader.close();
      writer.close();
    }
  });

  it("fails a pending write with EPIPE when the reader leaves", async () => {
    const [readEnd, writeEnd] = pipe2();
    const writer = new AsyncFd(writeEnd);
    try {
      const writing = writer.writeAll(Buffer.alloc(2 * fcntl(writeEnd, F_GETPIPE_SZ)));
      close(readEnd);
      await expect(writing).rejects.toMatchObject({ code: "EPIPE", syscall: "pwritev2" });
    } finally {
      writer.close();
    }
  });

  it("resolves hundreds of reads pending at once on different pipes, each with its own data, and leaves no descriptor open", async () => {
    const before = openDescriptors();
    const pipes = Array.from({ length: 300 }, () => pipe2());
    // Every third one read with readAsync, in the thread's epoll set; the rest through an AsyncFd each.
    const readers = pipes.map(([readEnd], i) => (i % 3 === 2 ? null : new AsyncFd(readEnd)));
    try {
      const buffers = pipes.map(() => new Uint8Array(16));
      const reads = readers.map((reader, i) => reader?.read(buffers[i]!) ?? readAsync(pipes[i]![0], buffers[i]!));
      for (let i = pipes.length - 1; i >= 0; i--) write(pipes[i]![1], `pipe ${i}`);
      const counts = await Promise.all(reads);
      expect(counts.map((count, i) => Buffer.from(buffers[i]!.subarray(0, count)).toString())).toEqual(pipes.map((_, i) => `pipe ${i}`));
    } finally {
      for (const [i, reader] of readers.entries()) {
        if (reader === null) close(pipes[i]![0]);
        else reader.close();
      }
      for (const [, writeEnd] of pipes) close(writeEnd);
    }
    expect(openDescriptors()).toEqual(before);
  });

  it("survives descriptors closed and their numbers reused at once by Node's own watchers, and never keeps the process alive idle", async () => {
    const program = startProgram(fixture("async-fd-cycles"), ["300"], { timeoutMs: 20_000 });
    const result = await program.exited;
    expect(result).toMatchObject({ code: 0, signal: null, stderr: "" });
    const [, reused] = /^reused (\d+) of 300 numbers\n$/.exec(result.stdout) ?? [];
    expect(Number(reused)).toBeGreaterThan(0);
  });

  it("reads an eventfd and a UNIX socket", async () => {
    const counter = check(eventfd_c(0, O_CLOEXEC) as number, "eventfd");
    const sv = [0, 0];
    check(socketpair_c(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0, sv) as number, "socketpair");
    const events = new AsyncFd(counter);
    const socket = new AsyncFd(sv[0]!);
    const peer = new AsyncFd(sv[1]!);
    try {
      const value = new BigUint64Array(1);
      const counted = events.read(new Uint8Array(value.buffer));
      const answer = new Uint8Array(8);
      const answered = socket.read(answer);
      write(counter, new Uint8Array(new BigUint64Array([3n]).buffer));
      await peer.writeAll("pong");
      expect(await counted).toBe(8);
      expect(value[0]).toBe(3n);
      expect(await answered).toBe(4);
      expect(Buffer.from(answer.subarray(0, 4)).toString()).toBe("pong");
    } finally {
      events.close();
      socket.close();
      peer.close();
    }
  });

  it("reads a regular file at once, epoll having nothing to wait for", async () => {
    const path = dir.file("plain");
    writeFileSync(path, "contents");
    const file = new AsyncFd(open(path, O_RDONLY | O_CLOEXEC));
    try {
      const buffer = new Uint8Array(64);
      expect(await file.read(buffer)).toBe(8);
      expect(await file.read(buffer)).toBe(0);
    } finally {
      file.close();
    }
  });

  it("reads lines until end of file", async () => {
    const [readEnd, writeEnd] = pipe2();
    const reader = new AsyncFd(readEnd);
    try {
      const lines = collect(reader.readLines({ chunkSize: 3 }));
      write(writeEnd, "first\nsec");
      write(writeEnd, "ond\nthird");
      close(writeEnd);
      expect(await lines).toEqual(["first", "second", "third"]);
    } finally {
      reader.close();
    }
  });
});
