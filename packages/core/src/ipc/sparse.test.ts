import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { dataRegion } from "./sparse.ts";
import { fallocate, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../libc/fcntl.ts";
import { open, O_RDONLY, O_RDWR, O_CREAT } from "../libc/fcntl.ts";
import { close, ftruncate, lseek, write, PAGE_SIZE, SEEK_SET } from "../libc/unistd.ts";
import { fstat } from "../libc/sys/stat.ts";
import { useTempDir } from "@linux-ipc/testing/vitest";

const MiB = 1024 * 1024;

const dir = useTempDir();

describe("dataRegion", () => {
  it("finds the data of a sparse file past 4 GiB and returns null after it", () => {
    const fd = open(dir.file("sparse"), O_RDWR | O_CREAT);
    try {
      const size = 5 * 1024 * MiB;
      const dataAt = 4 * 1024 * MiB + 3 * PAGE_SIZE;
      ftruncate(fd, size);
      lseek(fd, dataAt, SEEK_SET);
      write(fd, Buffer.alloc(PAGE_SIZE, 7));
      const region = dataRegion(fd, 0);
      expect(region).not.toBeNull();
      // File systems that track holes give the written block; others give the whole file.
      expect(region!.start).toBeLessThanOrEqual(dataAt);
      expect(region!.end).toBeGreaterThanOrEqual(dataAt + PAGE_SIZE);
      expect(region!.end).toBeLessThanOrEqual(size);
      expect(dataRegion(fd, size)).toBeNull();
    } finally {
      close(fd);
    }
  });

  it("gives one region for a dense file and none for an empty one", () => {
    const dense = dir.file("dense");
    writeFileSync(dense, Buffer.alloc(3 * PAGE_SIZE + 5, 1));
    const empty = dir.file("empty");
    writeFileSync(empty, "");
    const fd = open(dense, O_RDONLY);
    const emptyFd = open(empty, O_RDONLY);
    try {
      expect(dataRegion(fd, 0)).toEqual({ start: 0, end: 3 * PAGE_SIZE + 5 });
      expect(dataRegion(fd, PAGE_SIZE + 1)).toEqual({ start: PAGE_SIZE + 1, end: 3 * PAGE_SIZE + 5 });
      expect(dataRegion(emptyFd, 0)).toBeNull();
    } finally {
      close(fd);
      close(emptyFd);
    }
  });

  it("throws a SystemError for a bad descriptor", () => {
    expect(() => dataRegion(9999, 0)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "lseek" }));
  });
});

describe("fallocate", () => {
  it("allocates blocks and grows the file, or keeps its size with FALLOC_FL_KEEP_SIZE", () => {
    const path = dir.file("allocated");
    const fd = open(path, O_RDWR | O_CREAT);
    try {
      fallocate(fd, 0, 0, 4 * PAGE_SIZE, path);
      expect(fstat(fd).size).toBe(4 * PAGE_SIZE);
      expect(fstat(fd).blocks * 512).toBeGreaterThanOrEqual(4 * PAGE_SIZE);
      fallocate(fd, FALLOC_FL_KEEP_SIZE, 4 * PAGE_SIZE, 4 * PAGE_SIZE, path);
      expect(fstat(fd).size).toBe(4 * PAGE_SIZE);
      const allocated = fstat(fd).blocks;
      expect(allocated * 512).toBeGreaterThanOrEqual(8 * PAGE_SIZE);
      fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 8 * PAGE_SIZE, path);
      expect(fstat(fd).blocks).toBeLessThan(allocated);
      expect(fstat(fd).size).toBe(4 * PAGE_SIZE);
    } finally {
      close(fd);
    }
  });

  it("fails like the C call: EBADF for a read-only descriptor, EINVAL for a zero length", () => {
    const path = dir.file("readonly");
    writeFileSync(path, "x");
    const fd = open(path, O_RDONLY);
    try {
      expect(() => fallocate(fd, 0, 0, PAGE_SIZE, path)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "fallocate", path }));
    } finally {
      close(fd);
    }
    const writable = open(path, O_RDWR);
    try {
      expect(() => fallocate(writable, 0, 0, 0)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "fallocate" }));
    } finally {
      close(writable);
    }
  });
});
