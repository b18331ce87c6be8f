import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { runProgram, startProgram, unusedIpcKey, type RunningProgram, compiledProgram } from "@linux-ipc/testing/vitest";
import { formatKey, SemaphoreSet, shmStat } from "@linux-ipc/core";

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
  return execFileSync("ipcs", ["-m", "-s"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.startsWith(hex));
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

  /** Resolves with the program's result once it has exited, or rejects after `ms` naming what was awaited. */
  async function exitedWithin(program: RunningProgram, ms: number, what: string) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: still running ${ms} ms after its peer was killed\n${program.transcript()}`)), ms);
    });
    try {
      return await Promise.race([program.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  for (const victim of ["server", "client"] as const) {
    it(`when the ${victim} is killed with SIGKILL half-way, the other side ends (it checks its peer every 200 ms) with one line and exit code 1, leaving nothing in ipcs`, async () => {
      const key = unusedIpcKey();
      const reader = start(server, ["--key", String(key)]);
      await reader.waitForLine(/^sem: \d+$/);
      const writer = start(client, ["--key", String(key), "--interval", "100"]);
      await reader.waitForLine(/^AB$/);
      const [killed, survivor] = victim === "server" ? [reader, writer] : [writer, reader];
      killed.kill("SIGKILL");
      await killed.exited;
      const result = await exitedWithin(survivor, 10_000, `notify-${victim === "server" ? "client" : "server"}`);
      expect(result.code).toBe(1);
      const other = victim === "server" ? "client" : "server";
      expect(result.stderr).toMatch(new RegExp(`^notify-${other}: notify-${victim} \\(pid ${killed.pid}\\) died[^\n]*\n$`));
      expect(ipcs(key)).toEqual([]);
    });
  }

  it("creates its objects owner-only (0600) by default, and takes --mode", async () => {
    const key = unusedIpcKey();
    const reader = start(server, ["--key", String(key), "--mode", "640"]);
    const semid = Number((await reader.waitForLine(/^sem: \d+$/)).split(" ")[1]);
    expect(SemaphoreSet.fromId(semid).stat().sem_perm.mode & 0o777).toBe(0o640);
    reader.kill("SIGTERM");
    await reader.exited;
    const owner = start(server, ["--key", String(key)]);
    const shmid = Number((await owner.waitForLine(/^shm: \d+$/)).split(" ")[1]);
    await owner.waitForLine(/^sem: \d+$/);
    expect(shmStat(shmid).shm_perm.mode & 0o777).toBe(0o600);
    owner.kill("SIGTERM");
    await owner.exited;
    expect(ipcs(key)).toEqual([]);
  });

  it("a restart after SIGKILL replaces the leftover segment and semaphores, naming them, and runs as usual", async () => {
    const key = unusedIpcKey();
    const first = start(server, ["--key", String(key)]);
    const shmid = Number((await first.waitForLine(/^shm: \d+$/)).split(" ")[1]);
    const semid = Number((await first.waitForLine(/^sem: \d+$/)).split(" ")[1]);
    first.kill("SIGKILL");
    await first.exited;
    expect(ipcs(key)).toHaveLength(2);
    const second = start(server, ["--key", String(key), "--ticks", "2"]);
    await second.waitForLine(/^sem: \d+$/);
    expect(second.lines("stderr")).toEqual([
      `notify-server: removed a leftover segment ${formatKey(key)} (shmid ${shmid}) of pid ${first.pid}, which is gone (ipcrm -m ${shmid})`,
      `notify-server: removed a leftover semaphore set ${formatKey(key)} (semid ${semid}) of pid ${first.pid}, which is gone (ipcrm -s ${semid})`,
    ]);
    expect(await runProgram(client, ["--key", String(key), "--ticks", "2", "--interval", "0"])).toMatchObject({ code: 0, stderr: "" });
    expect((await second.exited).code).toBe(0);
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
