import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { runProgram, compiledProgram } from "@linux-ipc/testing/vitest";

const openRules = compiledProgram(import.meta.url, "open-rules");
const leftovers = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith("fifo-open-rules-"));

describe("open-rules", () => {
  it("shows each FIFO open rule on real opens and another process, and removes its FIFO", async () => {
    const before = leftovers();
    const result = await runProgram(openRules);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^open\(O_RDONLY \| O_NONBLOCK\), no writer: +succeeded at once \(fd \d+\)$/);
    expect(lines[1]).toMatch(/^open\(O_WRONLY \| O_NONBLOCK\), no reader: +failed with ENXIO \(No such device or address\)$/);
    expect(lines[2]).toMatch(/^open\(O_RDONLY\), no writer: +sh \(pid \d+\) slept in open\(\) \(kernel: \S+\) until this process opened the FIFO for writing$/);
    expect(lines[3]).toMatch(/^open\(O_WRONLY\), no reader: +sh \(pid \d+\) slept in open\(\) \(kernel: \S+\) until this process opened the FIFO for reading$/);
    expect(lines[4]).toMatch(/^open\(O_RDWR\), nobody else: +succeeded at once on Linux/);
    expect(leftovers()).toEqual(before);
  });

  it("answers --help with exit 0 and an argument with the usage and exit 1", async () => {
    expect(await runProgram(openRules, ["--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("usage: open-rules") });
    expect(await runProgram(openRules, ["extra"])).toMatchObject({ code: 1, stderr: expect.stringContaining("unexpected argument 'extra'") });
  });
});
