import { describe, expect, it } from "vitest";
import { SharedMemorySegment, formatKey } from "@linux-ipc/core";
import { ConnStat } from "@linux-ipc/programs";
import { cSkipReason, compiledC, runCommand } from "@linux-ipc/testing/vitest";
import { ipcsById, ipcsByKey, removeByKey, run, segmentLedger, start } from "./test-support.ts";

const ledger = segmentLedger();

describe("shmwrite (P5)", () => {
  it("prints its usage for --help and refuses bad options with exit code 1", async () => {
    const help = await run("shmwrite", ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: shmwrite [--key K] [--ticks N] [--interval MS]");
    for (const args of [["--key", "abc"], ["--key", "0"], ["--ticks", "-1"], ["extra"]]) {
      const bad = await run("shmwrite", args);
      expect(bad.code, args.join(" ")).toBe(1);
      expect(bad.stderr).toMatch(/^shmwrite: /);
    }
  });

  it("creates a segment ipcs -m shows with its key, perms 666 and 68 bytes; interrupted before any reader came, it removes it", async () => {
    const key = ledger.key();
    const writer = start("shmwrite", ["--key", formatKey(key), "--ticks", "1000", "--interval", "20"]);
    try {
      expect(await writer.waitForLine(/^Memory attached at 0x[0-9a-f]+$/)).toBeTruthy();
      const row = ipcsByKey(key);
      expect(row).toMatchObject({ key, perms: "666", bytes: ConnStat.size, nattch: 1, status: "" });
      ledger.trackId(row!.id);
      writer.kill("SIGTERM");
      const result = await writer.exited;
      expect(result.signal).toBe("SIGTERM");
      expect(result.stderr).toBe("");
      expect(ipcsByKey(key)).toBeUndefined();
      expect(ipcsById(row!.id)).toBeUndefined();
    } finally {
      writer.kill("SIGKILL");
      removeByKey(key);
    }
  });

  it.each(["SIGINT", "SIGTERM"] as const)("on %s leaves the segment to a reader that is attached to it", async (signal) => {
    const key = ledger.key();
    const writer = start("shmwrite", ["--key", formatKey(key), "--ticks", "1000", "--interval", "20"]);
    try {
      await writer.waitForLine("Memory attached at");
      using reader = SharedMemorySegment.open(key, ConnStat.size).attach({ readOnly: true });
      writer.kill(signal);
      expect((await writer.exited).signal).toBe(signal);
      expect(ipcsByKey(key)).toMatchObject({ nattch: 1 });
      expect(reader.struct(ConnStat).ip).toBe("127.0.0.1");
    } finally {
      writer.kill("SIGKILL");
      removeByKey(key);
    }
  });

  it("on SIGTERM leaves a segment it did not create, after counting in it", async () => {
    const key = ledger.key();
    const existing = SharedMemorySegment.create(key, ConnStat.size, 0o666);
    const writer = start("shmwrite", ["--key", formatKey(key), "--ticks", "1000", "--interval", "0"]);
    try {
      await writer.waitForLine("Memory attached at");
      writer.kill("SIGTERM");
      expect((await writer.exited).signal).toBe("SIGTERM");
      expect(ipcsByKey(key)).toMatchObject({ id: existing.id, nattch: 0 });
      using view = existing.attach({ readOnly: true });
      expect(view.struct(ConnStat).ip).toBe("127.0.0.1");
      expect(view.struct(ConnStat).count).toBeGreaterThanOrEqual(1);
    } finally {
      writer.kill("SIGKILL");
      existing.remove();
    }
  });

  describe.skipIf(cSkipReason() !== null)("with the C shmread (P6)", () => {
    it("leaves the segment on normal exit, holding the bytes the C stores, which the tutorial's C shmread reads and removes", async () => {
      const key = ledger.key();
      try {
        const result = await run("shmwrite", ["--key", formatKey(key), "--ticks", "3", "--interval", "0"]);
        expect(result.code).toBe(0);
        const id = ipcsByKey(key)!.id;
        ledger.trackId(id);
        expect(result.stdout).toMatch(
          new RegExp(`^Memory attached at 0x[0-9a-f]+\\nsegment ${formatKey(key)} \\(shm ${id}\\) stays until shmread --key ${formatKey(key)} removes it \\(or: ipcrm -m ${id}\\)\\n$`),
        );
        expect(ipcsByKey(key)).toMatchObject({ perms: "666", bytes: ConnStat.size, nattch: 0 });

        // The bytes the C's memcpy of {0, "127.0.0.1"} would leave, count aside: the rest of ip[] all zeros.
        const segment = SharedMemorySegment.open(key);
        {
          using attachment = segment.attach({ readOnly: true });
          const expected = Buffer.alloc(ConnStat.size);
          expected.writeInt32LE(3, 0);
          expected.write("127.0.0.1", 4);
          expect(Buffer.from(attachment.read(0, ConnStat.size))).toEqual(expected);
        }
        // The tutorial's shmread (c/shmread.c) reads it once and removes the segment.
        const reader = await runCommand(compiledC(import.meta.url, "shmread"), [formatKey(key), "1", "0"]);
        expect(reader.stderr).toBe("");
        expect(reader.stdout).toMatch(/^\nMemory attached at 0x[0-9a-f]+\nip = 127\.0\.0\.1 ,count: 3\t\t\n$/);
        expect(reader.code).toBe(0);
        expect(ipcsByKey(key)).toBeUndefined();
      } finally {
        removeByKey(key);
      }
    });
  });

  it("exits 1 with one line when the key's segment is smaller than struct Conn_stat (EINVAL)", async () => {
    const key = ledger.key();
    const small = SharedMemorySegment.create(key, 10, 0o666);
    try {
      const result = await run("shmwrite", ["--key", formatKey(key)]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toBe(
        `shmwrite: shmget 'key ${formatKey(key)}': Invalid argument (the segment with key ${formatKey(key)} (shm ${small.id}) has 10 bytes, fewer than the ${ConnStat.size} asked for)\n`,
      );
    } finally {
      small.remove();
    }
  });
});
