import { afterEach, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { ftok, formatKey, isProcessAlive } from "@linux-ipc/core";
import { createServer } from "node:net";
import { startCommand, useTempDir, type RunningProgram } from "@linux-ipc/testing/vitest";
import { ipcsById, removeByKey, run, start } from "./test-support.ts";
import { TUTORIAL_PROJ_ID } from "./common.ts";

const dir = useTempDir("ipc-sweep-");
const running: RunningProgram[] = [];
const keys: number[] = [];
afterEach(async () => {
  for (const program of running.splice(0)) {
    program.kill("SIGKILL");
    await program.exited.catch(() => {});
  }
  for (const key of keys.splice(0)) removeByKey(key);
});

/** A server on a fresh ftok file, once it has printed its segment's id. */
async function server(name: string, extra: string[] = []): Promise<{ program: RunningProgram; key: number; shmid: number; path: string }> {
  const path = dir.file(name);
  writeFileSync(path, "");
  const key = ftok(path, TUTORIAL_PROJ_ID);
  keys.push(key);
  const program = start("server", ["--path", path, "--proj-id", String(TUTORIAL_PROJ_ID), "--interval", "60000", ...extra]);
  running.push(program);
  const shmid = Number((await program.waitForLine(/^shm: \d+$/)).split(" ")[1]);
  return { program, key, shmid, path };
}

describe("server --mode", () => {
  it("keeps the C's 0666 by default, and --mode 600 keeps the segment to this user", async () => {
    const shared = await server("shared");
    expect(ipcsById(shared.shmid)?.perms).toBe("666");
    const own = await server("own", ["--mode", "600"]);
    expect(ipcsById(own.shmid)?.perms).toBe("600");
  });
});

describe("ipc-sweep", () => {
  it("finds a segment left by a server killed with SIGKILL (which a restart names with its ipcrm), never one whose creator is alive, and removes it with --remove", async () => {
    const dead = await server("killed");
    dead.program.kill("SIGKILL");
    await dead.program.exited;
    const alive = await server("alive");
    expect(ipcsById(dead.shmid)).toBeDefined();

    const restart = await run("server", ["--path", dead.path, "--proj-id", String(TUTORIAL_PROJ_ID)]);
    expect(restart.code).toBe(2);
    expect(restart.stderr).toContain(`(shm ${dead.shmid}), left by pid ${dead.program.pid}, which is gone and did not remove it; remove it with: ipcrm -m ${dead.shmid}`);

    const listing = await run("ipc-sweep", [dir.path]);
    expect(listing.code).toBe(0);
    const lines = listing.stdout.split("\n");
    expect(lines).toContain(`${`ipcrm -m ${dead.shmid}`.padEnd(24)} # segment ${formatKey(dead.key)} (shmid ${dead.shmid}) of pid ${dead.program.pid}, which is gone`);
    expect(lines.filter((line) => line.includes(`shmid ${alive.shmid})`) || line.startsWith(`ipcrm -m ${alive.shmid} `))).toEqual([]);
    expect(ipcsById(dead.shmid)).toBeDefined();

    const removal = await run("ipc-sweep", ["--remove", "--key", String(dead.key), dir.path]);
    expect(removal).toMatchObject({ code: 0, stderr: "" });
    expect(removal.stdout).toBe(`removed segment ${formatKey(dead.key)} (shmid ${dead.shmid}) of pid ${dead.program.pid}, which is gone\n`);
    expect(ipcsById(dead.shmid)).toBeUndefined();
    expect(ipcsById(alive.shmid)).toBeDefined();
    expect(isProcessAlive(alive.program.pid)).toBe(true);
  });

  it("lists FIFOs nobody has open and temporary copies of dead filecopy runs, and removes them with --remove", async () => {
    const fifo = dir.file("fifo");
    execFileSync("mkfifo", [fifo]);
    const deadPid = spawnSync("true").pid!;
    const copy = dir.file(`.target.copy-${deadPid}-0a1b2c3d`);
    writeFileSync(copy, "partial");
    writeFileSync(dir.file("kept"), "");
    const listing = await run("ipc-sweep", ["--key", "1", dir.path]);
    expect(listing.stdout.split("\n")).toEqual([
      `${`rm ${copy}`.padEnd(24)} # temporary copy of filecopy's pid ${deadPid}, which is gone`,
      `${`rm ${fifo}`.padEnd(24)} # FIFO that no process has open`,
      "",
    ]);
    const removal = await run("ipc-sweep", ["--key", "1", "--remove", dir.path]);
    expect(removal.code).toBe(0);
    expect(execFileSync("ls", ["-A", dir.path], { encoding: "utf8" })).toBe("kept\n");
  });

  it("lists a socket file whose server was killed with SIGKILL, never one a live socket is bound to, and removes it with --remove", async () => {
    const stale = dir.file("stale.sock");
    const listening = `require("node:net").createServer().listen(process.argv[1], () => console.log("listening"))`;
    const killed = startCommand(process.execPath, ["-e", listening, stale]);
    running.push(killed);
    await killed.waitForLine("listening");
    killed.kill("SIGKILL");
    await killed.exited.catch(() => {});
    const live = dir.file("live.sock");
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(live, resolve));
    try {
      const listing = await run("ipc-sweep", ["--key", "1", dir.path]);
      expect(listing).toMatchObject({ code: 0, stderr: "" });
      expect(listing.stdout).toBe(`${`rm ${stale}`.padEnd(24)} # socket file that no socket is bound to\n`);
      const removal = await run("ipc-sweep", ["--key", "1", "--remove", dir.path]);
      expect(removal.code).toBe(0);
      expect(execFileSync("ls", ["-A", dir.path], { encoding: "utf8" })).toBe("live.sock\n");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
