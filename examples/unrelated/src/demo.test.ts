import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { runProgram, useTempDir, compiledProgram } from "@linux-ipc/testing/vitest";

const demo = compiledProgram(import.meta.url, "demo");
const dir = useTempDir("unrelated-demo-test-");

describe("demo", () => {
  it("runs both pairs as separate processes, prints what each printed, and removes its files", async () => {
    const result = await runProgram(demo, [], { env: { ...process.env, TMPDIR: dir.path } });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe("=== unrelated: writer/reader (P2/P3) ===");
    expect(lines).toContain("[reader] read from the mapping: 我是你爹");
    expect(lines).toContain("=== unrelated: map-write/map-read (P7/P8) ===");
    expect(lines).toContain("[map-write] count: 8");
    expect(lines.filter((line) => /^\[map-read\] ip = 127\.0\.0\.1 ,count: [1-8]$/.test(line))).toHaveLength(5);
    // tsx keeps its cache there too (tsx-<uid>): only the demo's own folder must be gone.
    expect(readdirSync(dir.path).filter((name) => name.startsWith("unrelated-demo-"))).toEqual([]);
  });
});
