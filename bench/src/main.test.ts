// Benchmarks are programs, not tests: this runs `main.ts --quick` once, as CI's smoke test, and
// checks that it finished, printed its tables and wrote results that parse. No timing is asserted.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runProgram, startProgram, tempDir, compiledProgram } from "@linux-ipc/testing/vitest";
import type { Results } from "./results.ts";
import { wellFormedProblems } from "./svg-check.ts";

const main = compiledProgram(import.meta.url, "main");

/** Lines of `ipcs -m -p` (shmid, owner, creator pid, last pid) that name `pid` as the creator. */
function segmentsCreatedBy(pid: number): string[] {
  return execFileSync("ipcs", ["-m", "-p"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.trim().split(/\s+/)[2] === String(pid));
}

const benchTemporaries = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith("ipc-bench-"));

describe("pnpm bench --quick", () => {
  it("prints its tables, writes latest.json and latest.svg, and leaves nothing behind", async () => {
    const out = tempDir("bench-out-");
    const before = new Set(benchTemporaries());
    try {
      const run = startProgram(main, ["--quick", "--out", out.path], { timeoutMs: 290_000 });
      run.closeStdin();
      const result = await run.exited;
      expect(result.code, result.stderr).toBe(0);
      for (const heading of [
        "Streaming throughput",
        "Ping-pong round trip",
        "One-way times",
        "CPU topology (lscpu -e)",
        "Per-call overhead",
        "Event loop with",
        "Uncontended waits",
        "filecopy of a",
        "The project's targets",
      ]) {
        expect(result.stdout).toContain(heading);
      }

      const results = JSON.parse(readFileSync(join(out.path, "latest.json"), "utf8")) as Results;
      expect(results.format).toBe("ipc-bench/1");
      expect(results.quick).toBe(true);
      expect(results.machine.node).toBe(process.version);
      expect(results.machine.koffi).toMatch(/^\d+\.\d+\.\d+/);
      expect(results.throughput.length).toBeGreaterThan(0);
      expect(results.latency.length).toBeGreaterThan(0);
      expect(results.overhead.length).toBeGreaterThan(0);
      for (const series of results.throughput) {
        expect(series.trials).toHaveLength(results.plan.repeats);
        expect(series.throughput.median, series.name).toBeGreaterThan(0);
      }
      for (const series of results.latency) {
        expect(series.trials).toHaveLength(results.plan.repeats);
        expect(series.median.median, series.name).toBeGreaterThan(0);
        expect(series.p99.median, series.name).toBeGreaterThanOrEqual(series.median.median);
      }
      // Every mechanism is either measured or reported as not available, in every placement.
      const measured = new Set(results.latency.map((series) => series.name));
      const skipped = new Set(results.unavailable.map((entry) => entry.name));
      for (const name of ["C socket", "C seqpacket", "pipe", "fifo", "unix-socket", "core-socket", "core-seqpacket", "core-seqpacket-fds", "process.send", "child-stdout", "sem-sysv-async"])
        expect(measured.has(name), name).toBe(true);
      for (const name of ["ring-sysv", "ring-memfd", "ring-memfd-async", "ring-memfd-view", "ring-memfd-batch"]) expect(measured.has(name) || skipped.has(name), name).toBe(true);
      // The JavaScript floor, and the ring with a C peer on either side (the C references ran, so cc is there).
      expect(measured.has("JS floor")).toBe(true);
      expect(measured.has("ring TS⇄C")).toBe(true);
      const streamed = new Set(results.throughput.map((series) => series.name));
      for (const name of ["ring TS→C", "ring C→TS"]) expect(streamed.has(name), name).toBe(true);
      // Where one-way times are measured, the two directions make up the round trip (they are parts of it).
      for (const series of results.latency.filter((s) => s.oneWay !== undefined)) {
        expect(series.oneWay!.out.median.median, series.name).toBeGreaterThan(0);
        expect(series.oneWay!.back.median.median, series.name).toBeGreaterThan(0);
        expect(series.oneWay!.out.median.median, series.name).toBeLessThan(series.p999.median);
      }
      expect(results.waiting?.loop.map((series) => `${series.operation} ${series.condition}`)).toEqual(["readFile idle", "readFile pending", "setImmediate idle", "setImmediate pending"]);
      expect(results.waiting?.uncontended).toHaveLength(4);
      expect(results.targets).toHaveLength(14);

      const svg = readFileSync(join(out.path, "latest.svg"), "utf8");
      expect(svg.startsWith("<svg ")).toBe(true);
      expect(wellFormedProblems(svg)).toEqual([]);

      expect(segmentsCreatedBy(run.pid)).toEqual([]);
      expect(benchTemporaries().filter((name) => !before.has(name))).toEqual([]);
    } finally {
      out.remove();
    }
  }, 300_000);

  it("--help exits 0 and a bad --only exits 1 naming it", async () => {
    const help = await runProgram(main, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--quick");
    const bad = await runProgram(main, ["--only", "nonsense"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("'nonsense'");
  });
});

describe("wellFormedProblems", () => {
  it("accepts a small well-formed document and finds what breaks one", () => {
    expect(wellFormedProblems(`<svg a="1"><g><text x="1">a &amp; b</text></g><rect x="2"/></svg>`)).toEqual([]);
    expect(wellFormedProblems(`<svg><g></svg>`)).not.toEqual([]);
    expect(wellFormedProblems(`<svg x="1" x="2"></svg>`)).toEqual(["<svg> has the attribute x twice"]);
    expect(wellFormedProblems(`<svg><text>a & b</text></svg>`)).not.toEqual([]);
  });
});
