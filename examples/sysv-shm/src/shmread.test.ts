import { describe, expect, it } from "vitest";
import { SharedMemorySegment, formatKey } from "@linux-ipc/core";
import { ConnStat } from "@linux-ipc/programs";
import { cSkipReason, compiledC, runCommand, type RunningProgram } from "@linux-ipc/testing/vitest";
import { ipcsById, ipcsByKey, isRoot, removeByKey, run, segmentLedger, start, startExecutable, startUnprivileged } from "./test-support.ts";

const ledger = segmentLedger();

/** A segment made by the test itself, holding {count, ip}, detached again. */
function connStatSegment(key: number, count: number, mode = 0o666): SharedMemorySegment {
  const segment = SharedMemorySegment.create(key, ConnStat.size, mode);
  ledger.trackId(segment.id);
  if (mode !== 0) {
    using attachment = segment.attach();
    const stat = attachment.struct(ConnStat);
    stat.count = count;
    stat.ip = "192.168.1.9";
  }
  return segment;
}

/** The `count` printed on line `index` of the reader's stdout, waiting until that line exists. */
async function countOnLine(reader: RunningProgram, index: number): Promise<number | undefined> {
  await reader.waitForLine(/(?:)/, { after: index });
  const match = /,count: (-?\d+)$/.exec(reader.lines()[index]!);
  return match ? Number(match[1]) : undefined;
}

describe("shmread (P6)", () => {
  it("prints its usage for --help and refuses bad options with exit code 1", async () => {
    const help = await run("shmread", ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: shmread [--key K] [--reads N] [--interval MS]");
    const bad = await run("shmread", ["--reads", "many"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^shmread: --reads must be an integer/);
  });

  it("never creates a segment: a missing one is one line naming the key, exit 1", async () => {
    const key = ledger.key();
    const result = await run("shmread", ["--key", formatKey(key)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`shmread: shmget 'key ${formatKey(key)}': No such file or directory (no segment has this key; shmread only attaches: start shmwrite --key ${formatKey(key)} first)\n`);
    expect(ipcsByKey(key)).toBeUndefined();
  });

  it("exits 1 with one line when the segment is smaller than struct Conn_stat (EINVAL)", async () => {
    const key = ledger.key();
    const small = SharedMemorySegment.create(key, 10, 0o666);
    try {
      const result = await run("shmread", ["--key", formatKey(key)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `shmread: shmget 'key ${formatKey(key)}': Invalid argument (the segment with key ${formatKey(key)} (shm ${small.id}) has 10 bytes, fewer than the ${ConnStat.size} asked for)\n`,
      );
      expect(ipcsByKey(key)).toMatchObject({ id: small.id, bytes: 10 });
    } finally {
      small.remove();
    }
  });

  it("reads, detaches and removes the segment (ipcs -m shows it gone)", async () => {
    const key = ledger.key();
    const segment = connStatSegment(key, 7);
    try {
      const result = await run("shmread", ["--key", formatKey(key), "--reads", "2", "--interval", "0"]);
      expect(result.stderr).toBe("");
      expect(result.stdout).toMatch(/^\nMemory attached at 0x[0-9a-f]+\nip = 192\.168\.1\.9 ,count: 7\nip = 192\.168\.1\.9 ,count: 7\n$/);
      expect(result.code).toBe(0);
      expect(ipcsById(segment.id)).toBeUndefined();
    } finally {
      segment.remove();
    }
  });

  it.each(["SIGINT", "SIGTERM"] as const)("on %s while sleeping between reads, removes the segment before it ends", async (signal) => {
    const key = ledger.key();
    const segment = connStatSegment(key, 3);
    const reader = start("shmread", ["--key", formatKey(key), "--reads", "100000", "--interval", "20"]);
    try {
      await reader.waitForLine("ip = 192.168.1.9 ,count: 3");
      reader.kill(signal);
      const result = await reader.exited;
      expect(result.signal).toBe(signal);
      expect(result.stderr).toBe("");
      expect(ipcsById(segment.id)).toBeUndefined();
      expect(ipcsByKey(key)).toBeUndefined();
    } finally {
      reader.kill("SIGKILL");
      segment.remove();
    }
  });

  it("reads live: every count it prints is read from the segment at that moment while shmwrite ticks", async () => {
    const key = ledger.key();
    const writer = start("shmwrite", ["--key", formatKey(key), "--ticks", "100000", "--interval", "5"]);
    let reader: RunningProgram | undefined;
    try {
      await writer.waitForLine("Memory attached at");
      reader = start("shmread", ["--key", formatKey(key), "--reads", "100000", "--interval", "10"]);
      const counts: number[] = [];
      for (let index = 0; new Set(counts).size < 4; index++) {
        const count = await countOnLine(reader, index);
        if (count !== undefined) counts.push(count);
      }
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      const id = ipcsByKey(key)!.id;
      ledger.trackId(id);
      reader.kill("SIGTERM");
      expect((await reader.exited).signal).toBe("SIGTERM");
      writer.kill("SIGTERM");
      expect((await writer.exited).signal).toBe("SIGTERM");
      expect(ipcsById(id)).toBeUndefined();
    } finally {
      reader?.kill("SIGKILL");
      writer.kill("SIGKILL");
      removeByKey(key);
    }
  });

  it("keeps reading after `ipcrm -m` (IPC_RMID only marks the segment), then finishes cleanly and says it was removed", async () => {
    const key = ledger.key();
    const writer = start("shmwrite", ["--key", formatKey(key), "--ticks", "100000", "--interval", "5"]);
    let reader: RunningProgram | undefined;
    try {
      await writer.waitForLine("Memory attached at");
      reader = start("shmread", ["--key", formatKey(key), "--reads", "40", "--interval", "50"]);
      await reader.waitForLine(/,count: \d+$/);
      const id = ipcsByKey(key)!.id;
      ledger.trackId(id);

      const ipcrm = await runCommand("ipcrm", ["-m", String(id)]);
      expect(ipcrm.code).toBe(0);
      expect(ipcsByKey(key)).toBeUndefined();
      expect(ipcsById(id)).toMatchObject({ key: 0, nattch: 2, status: "dest" });

      const afterRemoval = reader.lines().length;
      const first = (await countOnLine(reader, afterRemoval))!;
      let later = first;
      for (let index = afterRemoval + 1; later === first; index++) later = (await countOnLine(reader, index))!;
      expect(later).toBeGreaterThan(first);

      const result = await reader.exited;
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(reader.lines().at(-1)).toBe(`segment ${formatKey(key)} (shm ${id}) was removed by another process (ipcrm?) while attached; nothing left to remove`);
      writer.kill("SIGTERM");
      await writer.exited;
      expect(ipcsById(id)).toBeUndefined();
    } finally {
      reader?.kill("SIGKILL");
      writer.kill("SIGKILL");
      removeByKey(key);
    }
  });

  it("after `ipcrm -m` with nobody else attached, the segment vanishes as the reader detaches", async () => {
    const key = ledger.key();
    const segment = connStatSegment(key, 5);
    const reader = start("shmread", ["--key", formatKey(key), "--reads", "20", "--interval", "50"]);
    try {
      await reader.waitForLine("ip = 192.168.1.9 ,count: 5");
      expect((await runCommand("ipcrm", ["-m", String(segment.id)])).code).toBe(0);
      expect(ipcsById(segment.id)).toMatchObject({ key: 0, nattch: 1, status: "dest" });
      const result = await reader.exited;
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout.match(/ip = 192\.168\.1\.9 ,count: 5\n/g)).toHaveLength(20);
      expect(result.stdout).toContain(`was removed by another process (ipcrm?) while attached; nothing left to remove\n`);
      expect(ipcsById(segment.id)).toBeUndefined();
    } finally {
      reader.kill("SIGKILL");
      segment.remove();
    }
  });

  it("exits 1 with one line when the segment's permissions refuse this user (EACCES)", async () => {
    const key = ledger.key();
    const locked = connStatSegment(key, 0, 0o000);
    try {
      const result = await startUnprivileged("shmread", ["--key", formatKey(key)]).exited;
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`shmread: shmat 'id ${locked.id}': Permission denied\n`);
      expect(ipcsById(locked.id)).toMatchObject({ perms: "0", nattch: 0 });
    } finally {
      locked.remove();
    }
  });

  it.runIf(isRoot)("reports a refused IPC_RMID as the C does (another user's segment: EPERM), exit 3", async () => {
    const key = ledger.key();
    const segment = connStatSegment(key, 11);
    try {
      const result = await startUnprivileged("shmread", ["--key", formatKey(key), "--reads", "1", "--interval", "0"]).exited;
      expect(result.stdout).toContain("ip = 192.168.1.9 ,count: 11\n");
      expect(result.stderr).toBe("shmctl(IPC_RMID) failed, reason: Operation not permitted\n");
      expect(result.code).toBe(3);
      expect(ipcsById(segment.id)).toMatchObject({ nattch: 0, status: "" });
    } finally {
      segment.remove();
    }
  });

  describe.skipIf(cSkipReason() !== null)("with a C writer", () => {
    it("reads the tutorial's C shmwrite (P5) as it counts, and removes its segment, which goes when shmwrite is gone", async () => {
      const key = ledger.key();
      const writer = startExecutable(compiledC(import.meta.url, "shmwrite"), [formatKey(key), "1000000", "10"]);
      try {
        await writer.waitForLine(/^Memory attached at 0x[0-9a-f]+$/);
        const id = ipcsByKey(key)!.id;
        ledger.trackId(id);
        const result = await run("shmread", ["--key", formatKey(key), "--reads", "2", "--interval", "0"]);
        expect(result.stdout).toMatch(/\nip = 127\.0\.0\.1 ,count: \d+\nip = 127\.0\.0\.1 ,count: \d+\n$/);
        expect(result.code).toBe(0);
        expect(ipcsById(id)).toMatchObject({ key: 0, nattch: 1, status: "dest" });
        writer.kill("SIGTERM");
        expect((await writer.exited).signal).toBe("SIGTERM");
        expect(ipcsById(id)).toBeUndefined();
      } finally {
        writer.kill("SIGKILL");
        removeByKey(key);
      }
    });

    it("reads the struct Conn_stat a C writer stores, live as the C writer counts, and removes the segment", async () => {
      const key = ledger.key();
      const writer = startExecutable(compiledC(import.meta.url, "test/conn-stat-writer"), [formatKey(key), "41"]);
      let reader: RunningProgram | undefined;
      try {
        const id = Number((await writer.waitForLine(/^ready \d+$/)).split(" ")[1]);
        ledger.trackId(id);
        reader = start("shmread", ["--key", formatKey(key), "--reads", "100000", "--interval", "10"]);
        await reader.waitForLine("ip = 10.0.0.7 ,count: 41");
        for (const count of [42, 43, 44]) {
          writer.write("\n");
          await writer.waitForLine(`count ${count}`);
          await reader.waitForLine(`ip = 10.0.0.7 ,count: ${count}`);
        }
        reader.kill("SIGINT");
        expect((await reader.exited).signal).toBe("SIGINT");
        expect(ipcsById(id)).toMatchObject({ key: 0, nattch: 1, status: "dest" });
        writer.closeStdin();
        expect((await writer.exited).code).toBe(0);
        expect(ipcsById(id)).toBeUndefined();
      } finally {
        reader?.kill("SIGKILL");
        writer.kill("SIGKILL");
        removeByKey(key);
      }
    });

    it("a reader that runs to the end removes the C writer's segment, which goes when the C writer detaches", async () => {
      const key = ledger.key();
      const writer = startExecutable(compiledC(import.meta.url, "test/conn-stat-writer"), [formatKey(key), "41"]);
      try {
        const id = Number((await writer.waitForLine(/^ready \d+$/)).split(" ")[1]);
        ledger.trackId(id);
        const result = await run("shmread", ["--key", formatKey(key), "--reads", "2", "--interval", "0"]);
        expect(result.stdout).toMatch(/\nip = 10\.0\.0\.7 ,count: 41\nip = 10\.0\.0\.7 ,count: 41\n$/);
        expect(result.code).toBe(0);
        expect(ipcsById(id)).toMatchObject({ key: 0, nattch: 1, status: "dest" });
        writer.closeStdin();
        expect((await writer.exited).code).toBe(0);
        expect(ipcsById(id)).toBeUndefined();
      } finally {
        writer.kill("SIGKILL");
        removeByKey(key);
      }
    });
  });
});
