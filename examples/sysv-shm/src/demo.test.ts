import { describe, expect, it } from "vitest";
import { formatKey, SharedMemorySegment } from "@linux-ipc/core";
import { ipcsByKey, run, segmentLedger } from "./test-support.ts";

const ledger = segmentLedger();
const PROJ_ID = 0x44;

/** The demo's options for keys of this test only: a fresh key and a fresh file for ftok. */
function demoArgs(): { args: string[]; key: number; serverKey: number; anchor: string } {
  const { path: anchor, key: serverKey } = ledger.anchor(PROJ_ID);
  const key = ledger.key();
  return { args: ["--key", formatKey(key), "--path", anchor, "--proj-id", `0x${PROJ_ID.toString(16)}`], key, serverKey, anchor };
}

describe("demo", () => {
  it("runs both pairs as separate processes, shows what each printed, and leaves no segment", async () => {
    const { args, key, serverKey, anchor } = demoArgs();
    const result = await run("demo", args);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(`=== System V shared memory: shmwrite/shmread (P5/P6), key ${formatKey(key)} ===`);
    expect(lines).toContain(`=== System V shared memory: ftok server/client (P13/P14), ftok(${anchor}, 0x44) ===`);
    expect(lines.filter((line) => /^\[shmread\] ip = 127\.0\.0\.1 ,count: \d+$/.test(line))).toHaveLength(6);
    const serverId = /^\[server\] shm: (\d+)$/m.exec(result.stdout)![1];
    for (const side of ["server", "client"]) {
      expect(lines).toContain(`[${side}] key: ${(serverKey >>> 0).toString(16)}`);
      expect(lines).toContain(`[${side}] shm: ${serverId}`);
    }
    expect(ipcsByKey(key)).toBeUndefined();
    expect(ipcsByKey(serverKey)).toBeUndefined();
  });

  it("exits non-zero when a side fails, and leaves alone a segment it did not create", async () => {
    const { args, key, serverKey } = demoArgs();
    const someoneElses = SharedMemorySegment.create(serverKey, 4096, 0o600);
    try {
      const result = await run("demo", args);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`[server] server: shmget 'key ${formatKey(serverKey)}': File exists`);
      expect(result.stderr).toContain("[server] exited with code 2, expected exit code 0\n");
      expect(result.stderr).not.toContain("left behind");
      expect(result.stdout).not.toContain("$ client");
      expect(ipcsByKey(serverKey)).toMatchObject({ id: someoneElses.id, perms: "600" });
      expect(ipcsByKey(key)).toBeUndefined();
    } finally {
      someoneElses.remove();
    }
  });
});
