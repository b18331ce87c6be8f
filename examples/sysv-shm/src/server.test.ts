import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { SharedMemorySegment, ftok } from "@linux-ipc/core";
import { cSkipReason, compiledC, runCommand, tempDir } from "@linux-ipc/testing/vitest";
import { ipcsById, ipcsByKey, removeByKey, run, segmentLedger, start } from "./test-support.ts";

const ledger = segmentLedger();

const SHIPPED_ANCHOR = fileURLToPath(new URL("../ftok-anchor", import.meta.url));
const TUTORIAL_PROJ_BYTE = 0x66;
const DEMO_PROJ_BYTE = 0x44;

/** A fresh file to give ftok, with its key (unused, tracked) and the programs' options for it. */
function anchor(projId = 0x6666): { path: string; key: number; args: string[] } {
  const { path, key } = ledger.anchor(projId);
  return { path, key, args: ["--path", path, "--proj-id", `0x${projId.toString(16)}`] };
}

const hex = (key: number): string => (key >>> 0).toString(16);

// client.c, except that it takes PATH, PROJ_ID and how many letters to write, never creates the
// segment, and writes without sleeping.
describe("server (P13)", () => {
  it("prints its usage for --help; a project id with 0 in its low 8 bits is a usage error", async () => {
    const help = await run("server", ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: server [--path PATH] [--proj-id ID] [--ticks N] [--interval MS]");
    const bad = await run("server", ["--proj-id", "0x100"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^server: --proj-id 0x100 has 0 in its low 8 bits, the only ones ftok uses\n/);
  });

  it("creates a 4096-byte segment (perms 666) for ftok(path, id), prints key and id as the C does, and removes it at the end", async () => {
    const { key, args } = anchor();
    const running = start("server", [...args, "--ticks", "100000", "--interval", "10"]);
    try {
      await running.waitForLine(/^shm: \d+$/);
      const id = ipcsByKey(key)!.id;
      ledger.trackId(id);
      expect(running.lines().slice(0, 2)).toEqual([`key: ${hex(key)}`, `shm: ${id}`]);
      expect(ipcsByKey(key)).toMatchObject({ perms: "666", bytes: 4096 });
      running.kill("SIGTERM");
      expect((await running.exited).signal).toBe("SIGTERM");
      expect(ipcsById(id)).toBeUndefined();
    } finally {
      running.kill("SIGKILL");
      removeByKey(key);
    }

    const finished = anchor();
    const result = await run("server", [...finished.args, "--ticks", "2", "--interval", "0"]);
    const id = Number(/^shm: (\d+)$/m.exec(result.stdout)![1]);
    ledger.trackId(id);
    expect(result.stdout).toBe(`key: ${hex(finished.key)}\nshm: ${id}\n\n\n`);
    expect(result.code).toBe(0);
    expect(ipcsById(id)).toBeUndefined();
  });

  it("finds its default ftok file beside the program, whatever the working directory", async () => {
    const cwd = tempDir("sysv-shm-cwd-");
    // A project id picked at random, unused now, never the tutorial's 0x66 (a learner's server) or
    // the demo's 0x44.
    const candidates = [...Array(0xff).keys()].map((i) => i + 1).filter((id) => id !== TUTORIAL_PROJ_BYTE && id !== DEMO_PROJ_BYTE);
    const projId = candidates.sort(() => Math.random() - 0.5).find((id) => ipcsByKey(ftok(SHIPPED_ANCHOR, id)) === undefined)!;
    const key = ledger.track(ftok(SHIPPED_ANCHOR, projId));
    const result = await run("server", ["--proj-id", String(projId), "--ticks", "0"], { cwd: cwd.path }).finally(() => cwd.remove());
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^key: ${hex(key)}\\nshm: \\d+\\n$`));
    expect(ipcsByKey(key)).toBeUndefined();
  });

  it("names the path when ftok fails (exit 1)", async () => {
    const result = await run("server", ["--path", "/nonexistent/ftok-anchor"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("server: ftok '/nonexistent/ftok-anchor': No such file or directory\n");
  });

  it("exits 2 with one line when the key already has a segment (EEXIST), naming the id to ipcrm", async () => {
    const { key, args } = anchor();
    const existing = SharedMemorySegment.create(key, 4096, 0o666);
    try {
      const result = await run("server", args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(
        `server: shmget 'key 0x${hex(key).padStart(8, "0")}': File exists (a segment with key 0x${hex(key).padStart(8, "0")} exists already (shm ${existing.id}): another run still has it, or one was killed without removing it; remove it with: ipcrm -m ${existing.id})\n`,
      );
      expect(ipcsByKey(key)).toMatchObject({ id: existing.id, nattch: 0 });
    } finally {
      existing.remove();
    }
  });

  it("prints what the TypeScript client writes, live, and removes the segment on SIGINT", async () => {
    const { key, args } = anchor(0x41);
    const running = start("server", [...args, "--ticks", "100000", "--interval", "10"]);
    try {
      const id = Number((await running.waitForLine(/^shm: \d+$/)).slice("shm: ".length));
      ledger.trackId(id);
      const writer = await run("client", [...args, "--ticks", "4", "--interval", "10"]);
      expect(writer.stdout).toBe(`key: ${hex(key)}\nshm: ${id}\n`);
      expect(writer.code).toBe(0);
      await running.waitForLine(/^ABCD$/);
      running.kill("SIGINT");
      expect((await running.exited).signal).toBe("SIGINT");
      expect(ipcsById(id)).toBeUndefined();
    } finally {
      running.kill("SIGKILL");
      removeByKey(key);
    }
  });

  describe.skipIf(cSkipReason() !== null)("with the C client (P14)", () => {
    it("gets the same key from ftok and prints the string the C client writes", async () => {
      const { path, key, args } = anchor(0x7a);
      const running = start("server", [...args, "--ticks", "100000", "--interval", "10"]);
      try {
        const id = Number((await running.waitForLine(/^shm: \d+$/)).slice("shm: ".length));
        ledger.trackId(id);
        const cClient = await runCommand(compiledC(import.meta.url, "client"), [path, "0x7a", "5", "0"]);
        expect(cClient.stderr).toBe("");
        expect(cClient.stdout).toBe(`key: ${hex(key)}\nshm: ${id}\n`);
        await running.waitForLine(/^ABCDE$/);
        running.kill("SIGTERM");
        expect((await running.exited).signal).toBe("SIGTERM");
        expect(ipcsById(id)).toBeUndefined();
      } finally {
        running.kill("SIGKILL");
        removeByKey(key);
      }
    });
  });
});
