import { afterEach, describe, expect, it } from "vitest";
import { startProgram, type RunningProgram, compiledProgram } from "@linux-ipc/testing/vitest";
import { childPids, isProcessAlive, watchProcessExit } from "@linux-ipc/core";

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

/** Resolves once `check` returns a value other than undefined, polled each millisecond; rejects after `timeoutMs` naming `what`. */
async function until<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function exitWithin(pid: number, what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${what} (pid ${pid}) still running ${timeoutMs} ms after its parent was killed`));
    }, timeoutMs);
    const stop = watchProcessExit(pid, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe("measure", () => {
  it("its echo child ends when measure is killed with SIGKILL, instead of spinning on", async () => {
    const program = startProgram(measure, ["--rounds", "1000000000"]);
    programs.push(program);
    const child = await until(() => childPids(program.pid)[0], "measure to start its echo child");
    strays.push(child);
    // Not program.exited: that waits for stdout to close, and the echo child holds a copy of it.
    const killed = exitWithin(program.pid, "measure", 2000);
    program.kill("SIGKILL");
    await killed;
    await exitWithin(child, "measure's echo child", 2000);
  });
});
