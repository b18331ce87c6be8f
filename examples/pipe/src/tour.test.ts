import { describe, expect, it } from "vitest";
import { runProgram, compiledProgram } from "@linux-ipc/testing/vitest";

const tour = compiledProgram(import.meta.url, "tour");

describe("tour", () => {
  it("runs fds, parent-child, capacity and rules, each under its heading, their lines labelled", async () => {
    const result = await runProgram(tour, ["--count", "2", "--interval", "0"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const headings = result.stdout.split("\n").filter((line) => line.startsWith("=== "));
    expect(headings).toEqual([
      "=== pipe: the two descriptors of a new pipe (P9) ===",
      "=== pipe: a parent reads what its child writes (P10) ===",
      "=== pipe: capacity, measured until EAGAIN, and F_SETPIPE_SZ ===",
      "=== pipe: the four rules, with real processes ===",
    ]);
    expect(result.stdout).toContain(
      ["parent get message from child : I am a child!!!", "parent get message from child : I am a child!!!", "child is quit!!!", "child is quit success"]
        .map((line) => `[parent-child] ${line}\n`)
        .join(""),
    );
    expect(result.stdout).toMatch(/^\[fds\] \d+, \d+$/m);
    expect(result.stdout).toContain("write() failed with EAGAIN after 65536 bytes");
    expect(result.stdout).toContain("killed by SIGPIPE");
  });
});
