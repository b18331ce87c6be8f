import { describe, expect, it } from "vitest";
import { runProgram, runCommand, compiledC, cSkipReason, compiledProgram } from "@linux-ipc/testing/vitest";

const fds = compiledProgram(import.meta.url, "fds");

describe("fds (P9)", () => {
  it("prints the read end, then the write end, of a new pipe: two distinct descriptors above those Node already holds", async () => {
    const result = await runProgram(fds);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const match = /^(\d+), (\d+)\n$/.exec(result.stdout);
    expect(match).not.toBeNull();
    const [readEnd, writeEnd] = [Number(match![1]), Number(match![2])];
    expect(readEnd).not.toBe(writeEnd);
    // A fresh Node process already uses 3, 4 and more for its event loops (see the README).
    expect(Math.min(readEnd, writeEnd)).toBeGreaterThan(4);
  });

  it.skipIf(cSkipReason() !== null)("where the tutorial's C program (c/fds.c), holding only 0, 1 and 2, gets 3 and 4", async () => {
    const p9 = compiledC(import.meta.url, "fds");
    // Started with only stdin, stdout and stderr open, as from a shell.
    expect(await runCommand(p9)).toMatchObject({ code: 0, stdout: "3, 4\n" });
  });
});
