import { afterEach, describe, it } from "vitest";
import { startProgram, type RunningProgram, compiledProgram } from "@linux-ipc/testing/vitest";
import { childPids, isProcessAlive, processExit } from "@linux-ipc/core";
import { until } from "./test-support.ts";

const measure = compiledProgram(import.meta.url, "measure");

const programs: RunningProgram[] = [];
const strays: number[] = [];
afterEach(async () => {
  for (const pid of strays.splice(0)) if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
  for (const program of programs.splice(0)) {
    program.kill("SIGKILL");
    await program.exited.catch(() => {});
  }
});

describe("measure", () => {
  it("its echo child ends when measure is killed with SIGKILL, instead of spinning on", async () => {
    const program = startProgram(measure, ["--rounds", "1000000000"]);
    programs.push(program);
    const child = await until(() => childPids(program.pid)[0], "measure to start its echo child");
    strays.push(child);
    // Not program.exited: that waits for stdout to close, and the echo child holds a copy of it.
    const killed = processExit(program.pid, { timeoutMs: 10_000, what: "measure" });
    program.kill("SIGKILL");
    await killed;
    await processExit(child, { timeoutMs: 10_000, what: "measure's echo child" });
  });
});
