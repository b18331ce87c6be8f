import { describe, expect, it } from "vitest";
import { statSync, writeFileSync, chmodSync } from "node:fs";
import { open, fcntl, setNonBlocking, O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_NONBLOCK, F_GETFL, F_GETPIPE_SZ, F_SETPIPE_SZ } from "./fcntl.ts";
import { close, pipe2 } from "./unistd.ts";
import { umask } from "./sys/stat.ts";
import { runProgram, useTempDir } from "@linux-ipc/testing/vitest";
import { fileURLToPath } from "node:url";

const dir = useTempDir();

describe("open", () => {
  it("passes the variadic mode through to the kernel", () => {
    const previous = umask(0);
    try {
      for (const mode of [0o600, 0o640, 0o755]) {
        const path = dir.file(`mode-${mode.toString(8)}`);
        close(open(path, O_RDWR | O_CREAT | O_EXCL, mode));
        expect(statSync(path).mode & 0o777).toBe(mode);
      }
    } finally {
      umask(previous);
    }
  });

  it("fails with EEXIST, ENOENT and EACCES shaped like Node's errors", () => {
    const path = dir.file("exists");
    writeFileSync(path, "x");
    expect(() => open(path, O_RDWR | O_CREAT | O_EXCL)).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "open", path }));
    expect(() => open(dir.file("missing"), O_RDONLY)).toThrow(`ENOENT: no such file or directory, open '${dir.file("missing")}'`);
    expect(() => open(dir.path, O_RDWR)).toThrow(expect.objectContaining({ code: "EISDIR" }));
  });

  it("fails with EACCES on a file of mode 0 (tried as nobody when the tests run as root, who bypasses it)", async () => {
    const path = dir.file("locked");
    writeFileSync(path, "x");
    chmodSync(path, 0o000);
    chmodSync(dir.path, 0o755);
    if (process.getuid?.() === 0) {
      const result = await runProgram(fileURLToPath(new URL("../../dist-fixtures/open-as-nobody.js", import.meta.url)), [path]);
      expect(result.stdout).toBe(`EACCES: permission denied, open '${path}'\n`);
    } else {
      expect(() => open(path, O_RDONLY)).toThrow(expect.objectContaining({ code: "EACCES", syscall: "open", path }));
    }
  });
});

describe("fcntl", () => {
  it("reads and changes O_NONBLOCK and the pipe size", () => {
    const [readEnd, writeEnd] = pipe2();
    try {
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(0);
      setNonBlocking(readEnd, true);
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
      expect(fcntl(writeEnd, F_GETPIPE_SZ)).toBe(65536);
      fcntl(writeEnd, F_SETPIPE_SZ, 1 << 20);
      expect(fcntl(writeEnd, F_GETPIPE_SZ)).toBe(1 << 20);
    } finally {
      close(readEnd);
      close(writeEnd);
    }
  });

  it("fails with EBADF on a closed descriptor", () => {
    expect(() => fcntl(123456, F_GETFL)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "fcntl" }));
  });
});
