import { describe, expect, it } from "vitest";
import { runProgram, compiledProgram } from "@linux-ipc/testing/vitest";

const rules = compiledProgram(import.meta.url, "rules");

describe("rules", () => {
  it("shows the four cases of the pipe table with real processes, one row each", async () => {
    const result = await runProgram(rules);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trimEnd()
      .split("\n")
      .map((line) => line.split(" | ").map((cell) => cell.trim()));
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual(["read end", "write end", "what happened"]);
    expect(rows[1]!.slice(0, 2)).toEqual(["not reading", "writing"]);
    expect(rows[1]![2]).toMatch(/^yes \(pid \d+\) slept in write\(\) \(kernel: \S+\) with (\d+) of \1 bytes in the pipe$/);
    expect(rows[2]!.slice(0, 2)).toEqual(["reading", "not writing"]);
    expect(rows[2]![2]).toMatch(/^sh \(pid \d+\) slept in read\(\) \(kernel: \S+\) on the empty pipe; it returned once a line was written$/);
    expect(rows[3]!.slice(0, 2)).toEqual(["closed", "writing"]);
    expect(rows[3]![2]).toMatch(/^node writer \(pid \d+\): write\(\) failed with EPIPE, exit code 1 \(Node ignores SIGPIPE\); sh writer \(pid \d+\): killed by SIGPIPE$/);
    expect(rows[4]!.slice(0, 2)).toEqual(["reading", "closed"]);
    expect(rows[4]![2]).toMatch(/^node reader \(pid \d+\): read the 4 bytes written, then read\(\) returned 0 \(end of file\)$/);
  });
});
