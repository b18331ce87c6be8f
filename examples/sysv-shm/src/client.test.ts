import { describe, expect, it } from "vitest";
import { SharedMemorySegment, formatKey } from "@linux-ipc/core";
import { cSkipReason, compiledC } from "@linux-ipc/testing/vitest";
import { ipcsById, ipcsByKey, removeByKey, run, segmentLedger, startExecutable } from "./test-support.ts";

const ledger = segmentLedger();

const PROJ_ID = 0x6666;
const FILLER = 0x23;

/** A fresh file to give ftok, with its key (unused, tracked) and the client's options for it. */
function anchor(): { path: string; key: number; args: string[] } {
  const { path, key } = ledger.anchor(PROJ_ID);
  return { path, key, args: ["--path", path, "--proj-id", String(PROJ_ID)] };
}

describe("client (P14)", () => {
  it("prints its usage for --help; more than 26 letters is a usage error", async () => {
    const help = await run("client", ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: client [--path PATH] [--proj-id ID] [--ticks N] [--interval MS]");
    const bad = await run("client", ["--ticks", "27"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^client: --ticks must be between 0 and 26, not 27\n/);
  });

  it("never creates the segment: without a server it exits 2 with one line, and ipcs -m shows nothing new", async () => {
    const { key, args } = anchor();
    const result = await run("client", args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `client: shmget 'key ${formatKey(key)}': No such file or directory (no segment has this key; the client never creates it: start the server first, with the same --path and --proj-id)\n`,
    );
    expect(ipcsByKey(key)).toBeUndefined();
  });

  it("exits 2 with one line when the segment is smaller than 4096 bytes (EINVAL)", async () => {
    const { key, args } = anchor();
    const small = SharedMemorySegment.create(key, 100, 0o666);
    try {
      const result = await run("client", args);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`client: shmget 'key ${formatKey(key)}': Invalid argument (the segment with key ${formatKey(key)} (shm ${small.id}) has 100 bytes, fewer than the 4096 asked for)\n`);
    } finally {
      small.remove();
    }
  });

  it("writes A, AB, … each with its NUL, touches nothing after it, and leaves removal to the server", async () => {
    const { key, args } = anchor();
    const segment = SharedMemorySegment.create(key, 4096, 0o666);
    try {
      using view = segment.attach();
      view.bytes.fill(FILLER);
      const result = await run("client", [...args, "--ticks", "5", "--interval", "0"]);
      expect(result.stdout).toBe(`key: ${(key >>> 0).toString(16)}\nshm: ${segment.id}\n`);
      expect(result.code).toBe(0);
      expect([...view.bytes.subarray(0, 7)]).toEqual([..."ABCDE"].map((c) => c.charCodeAt(0)).concat([0, FILLER]));
      expect(ipcsById(segment.id)).toMatchObject({ nattch: 1 });
    } finally {
      segment.remove();
    }
  });

  describe.skipIf(cSkipReason() !== null)("with a C server", () => {
    it("writes the string the tutorial's C server (P13) prints", async () => {
      const { path, key, args } = anchor();
      const server = startExecutable(compiledC(import.meta.url, "server"), [path, String(PROJ_ID), "1000000", "10"]);
      try {
        const id = Number((await server.waitForLine(/^shm: \d+$/)).slice("shm: ".length));
        ledger.trackId(id);
        const result = await run("client", [...args, "--ticks", "3", "--interval", "0"]);
        expect(result).toMatchObject({ code: 0, stdout: `${server.lines()[0]}\nshm: ${id}\n` });
        await server.waitForLine(/^ABC$/);
        // Killed, the C server leaves its segment behind: the finally removes it.
        server.kill("SIGTERM");
        expect((await server.exited).signal).toBe("SIGTERM");
      } finally {
        server.kill("SIGKILL");
        removeByKey(key);
      }
    });

    it("attaches the C server's segment and writes the string the C server then reads", async () => {
      const { path, key, args } = anchor();
      const server = startExecutable(compiledC(import.meta.url, "test/ftok-server"), [path, String(PROJ_ID)]);
      try {
        const id = Number((await server.waitForLine(/^shm: \d+$/)).slice("shm: ".length));
        ledger.trackId(id);
        const result = await run("client", [...args, "--ticks", "3", "--interval", "0"]);
        expect(result.stdout).toBe(`${server.lines()[0]}\nshm: ${id}\n`);
        expect(result.code).toBe(0);
        server.write("\n");
        const serverResult = await server.exited;
        expect(serverResult.stdout).toBe(`${server.lines()[0]}\nshm: ${id}\nABC\nthen: 0 ${FILLER}\n`);
        expect(serverResult.code).toBe(0);
        expect(ipcsById(id)).toBeUndefined();
      } finally {
        server.kill("SIGKILL");
        removeByKey(key);
      }
    });
  });
});
