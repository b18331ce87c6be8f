import { describe, expect, it } from "vitest";
import { readFileSync, existsSync, readdirSync } from "node:fs";
import { open, O_RDWR, O_CREAT, O_RDONLY, O_CLOEXEC, O_NONBLOCK } from "./fcntl.ts";
import { readAsync } from "../ipc/pipe_io.ts";
import { close, read, write, writeAll, lseek, ftruncate, unlink, pipe, pipe2, getpid, PAGE_SIZE, pageRoundUp, SEEK_END, SEEK_SET } from "./unistd.ts";
import { fstat } from "./sys/stat.ts";
import { useTempDir } from "@linux-ipc/testing/vitest";

const dir = useTempDir();

describe("file descriptors", () => {
  it("writes, seeks, reads, truncates and unlinks", () => {
    const path = dir.file("file");
    const fd = open(path, O_RDWR | O_CREAT, 0o644);
    try {
      expect(write(fd, "héllo")).toBe(6);
      expect(lseek(fd, 0, SEEK_END)).toBe(6);
      lseek(fd, 0, SEEK_SET);
      const buffer = new Uint8Array(16);
      expect(read(fd, buffer)).toBe(6);
      expect(Buffer.from(buffer.subarray(0, 6)).toString()).toBe("héllo");
      expect(read(fd, buffer)).toBe(0);
      ftruncate(fd, 3);
      expect(fstat(fd).size).toBe(3);
    } finally {
      close(fd);
    }
    expect(readFileSync(path).toString()).toBe("hé");
    unlink(path);
    expect(existsSync(path)).toBe(false);
    expect(() => unlink(path)).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "unlink", path }));
  });

  it("keeps 64-bit offsets exact past 4 GiB", () => {
    const fd = open(dir.file("sparse"), O_RDWR | O_CREAT);
    try {
      const size = 5 * 2 ** 30 + 123;
      ftruncate(fd, size);
      expect(fstat(fd).size).toBe(size);
      expect(lseek(fd, 0, SEEK_END)).toBe(size);
    } finally {
      close(fd);
    }
  });

  it("fails with EBADF after close, and on a read-only descriptor's write", () => {
    const fd = open("/etc/hostname", O_RDONLY);
    expect(() => write(fd, "x")).toThrow(expect.objectContaining({ code: "EBADF", syscall: "write" }));
    close(fd);
    expect(() => close(fd)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "close" }));
    expect(() => read(fd, new Uint8Array(1))).toThrow(expect.objectContaining({ code: "EBADF" }));
  });

  it("fails with EINVAL for a negative length and ENOENT for a missing path", () => {
    const fd = open(dir.file("t"), O_RDWR | O_CREAT);
    try {
      expect(() => ftruncate(fd, -1)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "ftruncate" }));
    } finally {
      close(fd);
    }
  });

  it("refuses a read range outside the buffer", () => {
    expect(() => read(0, new Uint8Array(4), 2, 8)).toThrow(RangeError);
  });
});

describe("pipes", () => {
  it("pipe() returns inheritable ends and pipe2(O_CLOEXEC) close-on-exec ones", () => {
    const before = readdirSync("/proc/self/fd").length;
    const [r1, w1] = pipe();
    const [r2, w2] = pipe2(O_CLOEXEC | O_NONBLOCK);
    try {
      expect(new Set([r1, w1, r2, w2]).size).toBe(4);
      writeAll(w1, "ping");
      const buffer = new Uint8Array(8);
      expect(read(r1, buffer)).toBe(4);
      expect(() => read(r2, buffer)).toThrow(expect.objectContaining({ code: "EAGAIN" }));
    } finally {
      for (const fd of [r1, w1, r2, w2]) close(fd);
    }
    expect(readdirSync("/proc/self/fd").length).toBe(before);
  });

  it("readAsync keeps the event loop running while it waits, and sees end of file", async () => {
    const [readEnd, writeEnd] = pipe2();
    try {
      const buffer = new Uint8Array(16);
      const pending = readAsync(readEnd, buffer);
      let ticks = 0;
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          ticks++;
          resolve();
        }),
      );
      expect(ticks).toBe(1);
      write(writeEnd, "data");
      expect(await pending).toBe(4);
      close(writeEnd);
      expect(await readAsync(readEnd, buffer)).toBe(0);
    } finally {
      close(readEnd);
    }
  });
});

describe("process and page size", () => {
  it("getpid is this process and the page size is a power of two", () => {
    expect(getpid()).toBe(process.pid);
    expect(PAGE_SIZE & (PAGE_SIZE - 1)).toBe(0);
    expect(pageRoundUp(1)).toBe(PAGE_SIZE);
    expect(pageRoundUp(PAGE_SIZE)).toBe(PAGE_SIZE);
  });
});
