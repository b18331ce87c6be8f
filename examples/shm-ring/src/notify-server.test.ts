import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { runProgram, startProgram, unusedIpcKey, type RunningProgram, compiledProgram } from "@linux-ipc/testing/vitest";
import { formatKey, SemaphoreSet } from "@linux-ipc/core";

const server = compiledProgram(import.meta.url, "notify-server");
const client = compiledProgram(import.meta.url, "notify-client");

const programs: RunningProgram[] = [];
afterEach(async () => {
  for (const program of programs.splice(0)) {
    program.kill("SIGKILL");
    await program.exited.catch(() => {});
  }
});

function start(script: string, args: string[]): RunningProgram {
  const program = startProgram(script, args);
  programs.push(program);
  return program;
}

function ipcs(key: number): string[] {
  const hex = formatKey(key);
  return execFileSync("ipcs", ["-m", "-s"], { encoding: "utf8" }).split("\n").filter((line) => line.startsWith(hex));
}

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

describe("notify-server and notify-client", () => {
  it("prints every string the client writes exactly once, in order, even with no pause between writes", async () => {
    const key = unusedIpcKey();
    const reader = start(server, ["--key", String(key)]);
    await reader.waitForLine(/^sem: \d+$/);
    expect(reader.lines().slice(0, 2)).toEqual([`key: ${(key >>> 0).toString(16)}`, expect.stringMatching(/^shm: \d+$/)]);
    expect(ipcs(key)).toHaveLength(2);
    const writer = await runProgram(client, ["--key", String(key), "--interval", "0"]);
    expect(writer).toMatchObject({ code: 0, stderr: "" });
    const result = await reader.exited;
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.split("\n").slice(3, -1)).toEqual([...LETTERS].map((_, i) => LETTERS.slice(0, i + 1)));
    expect(ipcs(key)).toEqual([]);
  });

  it("sleeps without polling until the client writes; Ctrl-C then still removes the segment and the semaphores", async () => {
    const key = unusedIpcKey();
    const reader = start(server, ["--key", String(key)]);
    const semid = Number((await reader.waitForLine(/^sem: \d+$/)).split(" ")[1]);
    const semaphores = SemaphoreSet.fromId(semid);
    while (semaphores.waitingCount(0) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    reader.kill("SIGINT");
    const result = await reader.exited;
    expect(result.signal).toBe("SIGINT");
    expect(ipcs(key)).toEqual([]);
  });

  it("the client refuses to start without the server", async () => {
    const key = unusedIpcKey();
    expect(await runProgram(client, ["--key", String(key)])).toMatchObject({
      code: 1,
      stderr: `notify-client: nothing at key ${formatKey(key)}: start notify-server first, with the same --key\n`,
    });
    expect((await runProgram(client, ["--ticks", "27"])).stderr.split("\n")[0]).toBe("notify-client: --ticks must be between 0 and 26, not 27");
  });
});
