import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { runProgram, startProgram } from "@linux-ipc/testing/vitest";
import { processExit } from "@linux-ipc/core";
import { DemoSide } from "./demo.ts";

const runner = fileURLToPath(new URL("../dist-fixtures/demo-runner.js", import.meta.url));

describe("DemoSide", () => {
  it("relays each side's lines with its label, and reports a side that did not end as expected", async () => {
    const result = await runProgram(runner);
    const stdout = result.stdout.split("\n");
    const stderr = result.stderr.split("\n");
    expect(stdout[0]).toBe("=== core: demo sides ===");
    for (const label of ["first", "second", "third"]) {
      expect(stdout).toContain(`[${label}] ready`);
      expect(stdout).toContain(`[${label}] last words`);
      expect(stderr).toContain(`[${label}] a complaint`);
    }
    expect(stderr).toContain("[second] exited with code 3, expected exit code 0");
    expect(stderr.filter((line) => line.includes("expected exit code"))).toHaveLength(1);
    expect(stdout).toContain("results: true false true");
    expect(result.code).toBe(1);
  });

  it("ends its sides (with their cleanup) when the demo itself is killed with SIGKILL", async () => {
    const demo = startProgram(fileURLToPath(new URL("../dist-fixtures/demo-killed.js", import.meta.url)));
    const side = Number((await demo.waitForLine(/^side \d+$/)).split(" ")[1]);
    const sideGone = processExit(side, { timeoutMs: 10_000, what: `the side (pid ${side}) of the killed demo` });
    demo.kill("SIGKILL");
    await sideGone;
  });

  it("runs an executable with its stdin a pipe, keeps its lines without relaying them, and waits on either stream", async () => {
    const side = new DemoSide("sh", "sh", ["-c", 'read -r line; echo "got $line"; echo note >&2; printf last; exit 3'], { executable: true, stdin: "pipe", relay: false });
    side.write("hello\n");
    side.closeStdin();
    expect(await side.waitForLine("got hello")).toBe("got hello");
    expect(await side.waitForLine(/^note$/, { stream: "stderr" })).toBe("note");
    expect(await side.exited).toEqual({ code: 3, signal: null });
    expect(side.stdout).toBe("got hello\nlast\n");
    expect(side.stderr).toBe("note\n");
    await expect(side.waitForLine("never printed")).rejects.toThrow("sh ended before printing a line matching never printed");
  });

  it("passes a signal to every side still running (killAll)", async () => {
    const sleepers = [1, 2].map((n) => new DemoSide(`sleeper ${n}`, "sleep", ["600"], { executable: true, relay: false }));
    DemoSide.killAll("SIGTERM");
    for (const sleeper of sleepers) expect(await sleeper.exited).toEqual({ code: null, signal: "SIGTERM" });
  });
});
