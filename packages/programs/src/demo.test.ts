import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { runProgram, startProgram } from "@linux-ipc/testing/vitest";
import { processExit } from "@linux-ipc/core";

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
});
