import { describe, expect, it } from "vitest";
import { formatKey } from "@linux-ipc/core";
import { ipcsById, ipcsByKey, isRoot, run, segmentLedger, startUnprivileged } from "./test-support.ts";

const ledger = segmentLedger();

/** The ids of the segments a run created (its `-> shm: N` lines), tracked for the ledger. */
function createdIds(stdout: string): number[] {
  const ids = [...stdout.matchAll(/-> shm: (\d+),/g)].map((match) => Number(match[1]));
  for (const id of ids) ledger.trackId(id);
  return ids;
}

describe("perm-pitfall", () => {
  it.runIf(isRoot)("as root: its own shmat of a mode-0 segment succeeds (CAP_IPC_OWNER), nobody's fails with EACCES, and 0666 lets nobody in", async () => {
    const key = ledger.key();
    const result = await run("perm-pitfall", ["--key", formatKey(key)]);
    const [refusedId, admittedId] = createdIds(result.stdout);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(
      [
        "=== perm-pitfall: shmget without permission bits (mode 0), then the fix (0666) ===",
        `shmget(${formatKey(key)}, 4096, IPC_CREAT|IPC_EXCL|0) -> shm: ${refusedId}, perms 000`,
        "shmat as root (uid 0): attached",
        "  (root's CAP_IPC_OWNER capability bypasses System V permission checks; a process without it shows the pitfall:)",
        `shmat as nobody (uid 65534): failed: EACCES: permission denied, shmat 'id ${refusedId}'`,
        `shmctl(shm ${refusedId}, IPC_RMID): removed`,
        "--- the fix: permission bits in shmflg ---",
        `shmget(${formatKey(key)}, 4096, IPC_CREAT|IPC_EXCL|0666) -> shm: ${admittedId}, perms 666`,
        "shmat as nobody (uid 65534): attached",
        `shmctl(shm ${admittedId}, IPC_RMID): removed`,
        "",
      ].join("\n"),
    );
    expect(result.code).toBe(0);
    expect(ipcsById(refusedId!)).toBeUndefined();
    expect(ipcsById(admittedId!)).toBeUndefined();
  });

  it("as an unprivileged user: its own shmat of the mode-0 segment fails with EACCES, and the fix works", async () => {
    const key = ledger.key();
    const result = await startUnprivileged("perm-pitfall", ["--key", formatKey(key)]).exited;
    const [refusedId, admittedId] = createdIds(result.stdout);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(new RegExp(`^shmat as \\S+ \\(uid \\d+\\): failed: EACCES: permission denied, shmat 'id ${refusedId}'$`, "m"));
    expect(result.stdout).toMatch(/^shmat as \S+ \(uid \d+\): attached$/m);
    expect(result.stdout).not.toContain("CAP_IPC_OWNER");
    expect(result.code).toBe(0);
    expect(ipcsById(refusedId!)).toBeUndefined();
    expect(ipcsById(admittedId!)).toBeUndefined();
    expect(ipcsByKey(key)).toBeUndefined();
  });
});
