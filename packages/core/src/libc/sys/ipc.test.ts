import { describe, expect, it } from "vitest";
import { writeFileSync, rmSync, statSync } from "node:fs";
import { ftok, formatKey } from "./ipc.ts";
import { useTempDir } from "@linux-ipc/testing/vitest";

const dir = useTempDir();

describe("ftok", () => {
  it("gives the same key for the same path and id, built from the id, device and inode as glibc does", () => {
    const path = dir.file("anchor");
    writeFileSync(path, "");
    const key = ftok(path, 0x66);
    expect(ftok(path, 0x66)).toBe(key);
    expect(ftok(path, 0x67)).not.toBe(key);
    const { ino, dev } = statSync(path);
    // glibc: (id & 0xff) << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff)
    expect(key >>> 0).toBe((((0x66 & 0xff) << 24) | ((dev & 0xff) << 16) | (ino & 0xffff)) >>> 0);
    // Only the low 8 bits of the id count: 0x6666 gives the key of 0x66.
    expect(ftok(path, 0x6666)).toBe(key);
  });

  it("names the missing path", () => {
    const path = dir.file("gone");
    writeFileSync(path, "");
    rmSync(path);
    expect(() => ftok(path, 1)).toThrow(`ENOENT: no such file or directory, ftok '${path}'`);
  });

  it("formats keys as ipcs does", () => {
    expect(formatKey(1234)).toBe("0x000004d2");
    expect(formatKey(-1)).toBe("0xffffffff");
  });
});
