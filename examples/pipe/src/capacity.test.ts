import { describe, expect, it } from "vitest";
import { runProgram, compiledProgram } from "@linux-ipc/testing/vitest";

const capacity = compiledProgram(import.meta.url, "capacity");

describe("capacity", () => {
  it("finds 65536 bytes in a default pipe (not the tutorial's 4 KB), and F_SETPIPE_SZ changing it", async () => {
    const result = await runProgram(capacity, ["--size", "8192"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const lines = result.stdout
      .trimEnd()
      .split("\n")
      .map((line) => line.replace(/ {2,}/g, " "));
    expect(lines).toEqual([
      "default pipe: F_GETPIPE_SZ = 65536, write() failed with EAGAIN after 65536 bytes",
      "shrinking it when full: F_SETPIPE_SZ(4096) failed with EBUSY (Device or resource busy): it holds 65536 bytes",
      "F_SETPIPE_SZ(4096): F_GETPIPE_SZ = 4096, write() failed with EAGAIN after 4096 bytes",
      // Rounded up to a power-of-two number of pages.
      "F_SETPIPE_SZ(100000): F_GETPIPE_SZ = 131072, write() failed with EAGAIN after 131072 bytes",
      "F_SETPIPE_SZ(8192): F_GETPIPE_SZ = 8192, write() failed with EAGAIN after 8192 bytes",
      "PIPE_BUF: 4096 bytes: the largest write kept whole (atomic), not the capacity",
    ]);
  });

  it("refuses a size of 0 with the usage, exit 1", async () => {
    const result = await runProgram(capacity, ["--size", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^capacity: --size must be at least 1, not 0\n\nusage: capacity \[--size BYTES\]/);
  });
});
