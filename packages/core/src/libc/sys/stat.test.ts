import { describe, expect, it } from "vitest";
import { statSync, writeFileSync, symlinkSync } from "node:fs";
import { fstat, stat, mkfifo, umask, S_ISFIFO, S_ISREG, S_ISDIR } from "./stat.ts";
import { open, O_RDONLY, O_NONBLOCK } from "../fcntl.ts";
import { close } from "../unistd.ts";
import { useTempDir } from "@linux-ipc/testing/vitest";

const dir = useTempDir();

describe("fstat and stat", () => {
  it("agree with Node's stat on every field they share", () => {
    const path = dir.file("f");
    writeFileSync(path, Buffer.alloc(12345));
    const fd = open(path, O_RDONLY);
    try {
      const ours = fstat(fd);
      const node = statSync(path);
      expect(ours).toMatchObject({ dev: node.dev, ino: node.ino, mode: node.mode, nlink: node.nlink, uid: node.uid, gid: node.gid, size: 12345, blocks: node.blocks, blksize: node.blksize });
      expect(ours.mtimeMs).toBeCloseTo(node.mtimeMs, 3);
      expect(S_ISREG(ours.mode)).toBe(true);
    } finally {
      close(fd);
    }
    symlinkSync(path, dir.file("link"));
    expect(stat(dir.file("link")).ino).toBe(statSync(path).ino);
    expect(S_ISDIR(stat(dir.path).mode)).toBe(true);
    expect(() => stat(dir.file("none"))).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "stat" }));
  });
});

describe("mkfifo", () => {
  it("creates a FIFO with the mode less the umask, and fails with EEXIST on a second call", () => {
    const path = dir.file("fifo");
    const previous = umask(0o022);
    try {
      mkfifo(path, 0o666);
    } finally {
      umask(previous);
    }
    const info = stat(path);
    expect(S_ISFIFO(info.mode)).toBe(true);
    expect(info.mode & 0o777).toBe(0o644);
    expect(() => mkfifo(path, 0o644)).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "mkfifo", path }));
    // A non-blocking read open of a FIFO succeeds at once, with no writer.
    close(open(path, O_RDONLY | O_NONBLOCK));
    expect(() => mkfifo(dir.file("missing/fifo"), 0o644)).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
