import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { bytesInPipe, readAsync, readLines, readSync, writeAllAsync } from "./pipe_io.ts";
import { O_CLOEXEC, O_NONBLOCK, F_GETFL, F_GETPIPE_SZ, fcntl } from "../libc/fcntl.ts";
import { close, pipe2, read, write, PIPE_BUF } from "../libc/unistd.ts";
import { spawnWithFds } from "./process.ts";
import { openDescriptors } from "./procfs.ts";
import { startProgram } from "@linux-ipc/testing/vitest";

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
      for (let n; (n = await readAsync(readEnd, buffer)) > 0; ) received.push(Buffer.from(buffer.subarray(0, n)));
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
      await expect(writeAllAsync(writeEnd, "anyone?")).rejects.toMatchObject({ code: "EPIPE", syscall: "write" });
    } finally {
      close(writeEnd);
    }
  });

  it("keeps messages of PIPE_BUF bytes whole when two processes write them at once", async () => {
    const [readEnd, writeEnd] = pipe2();
    const count = 300;
    const writers = ["A", "B"].map((letter) =>
      spawnWithFds(fixture("pipe-message-writer"), [letter, String(count), String(PIPE_BUF)], { fds: [writeEnd], stdio: ["ignore", "ignore", "inherit"] }),
    );
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
      for (let n; (n = await readAsync(readEnd, buffer)) > 0; total += n) hash.update(buffer.subarray(0, n));
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
      for (let n; (n = readSync(readEnd, buffer)) > 0; total += n) hash.update(buffer.subarray(0, n));
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
