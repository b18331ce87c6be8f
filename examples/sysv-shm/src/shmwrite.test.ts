import { afterAll, describe, expect, it } from "vitest";
import { SharedMemorySegment, formatKey } from "@linux-ipc/core";
import { ConnStat } from "@linux-ipc/programs";
import { cSkipReason, compileC, removeCompiled, runCommand } from "@linux-ipc/testing/vitest";
import { ipcsById, ipcsByKey, removeByKey, run, segmentLedger, start } from "./test-support.ts";

const ledger = segmentLedger();
afterAll(() => removeCompiled());

// A C reader with the tutorial's struct: prints what it finds, checks the bytes after the string are
// zero (as shmwrite.c's memcpy of `{0, "127.0.0.1"}` leaves them), then removes the segment.
const C_READER = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
struct Conn_stat { int count; char ip[64]; };
int main(int argc, char **argv) {
  key_t key = (key_t)strtol(argv[1], NULL, 0);
  int id = shmget(key, sizeof(struct Conn_stat), 0);
  if (id == -1) { perror("shmget"); return 1; }
  struct shmid_ds info;
  if (shmctl(id, IPC_STAT, &info) == -1) { perror("shmctl"); return 1; }
  struct Conn_stat *stat = shmat(id, NULL, SHM_RDONLY);
  if (stat == (void *)-1) { perror("shmat"); return 2; }
  size_t used = strlen(stat->ip) + 1, zero = 1;
  for (size_t i = used; i < sizeof stat->ip; i++) if (stat->ip[i] != 0) zero = 0;
  printf("ip = %s ,count: %d\n", stat->ip, stat->count);
  printf("segsz %zu, mode %o, rest of ip zero: %s\n", (size_t)info.shm_segsz, info.shm_perm.mode & 0777, zero ? "yes" : "no");
  shmdt(stat);
  if (shmctl(id, IPC_RMID, NULL) == -1) { perror("shmctl(IPC_RMID)"); return 3; }
  return 0;
}
`;

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

  describe.skipIf(cSkipReason() !== null)("with a C reader", () => {
    it("leaves the segment on normal exit, and a C reader with struct Conn_stat reads exactly what the C writer stores", async () => {
      const key = ledger.key();
      try {
        const result = await run("shmwrite", ["--key", formatKey(key), "--ticks", "3", "--interval", "0"]);
        expect(result.code).toBe(0);
        const id = ipcsByKey(key)!.id;
        ledger.trackId(id);
        expect(result.stdout).toMatch(new RegExp(`^Memory attached at 0x[0-9a-f]+\\nsegment ${formatKey(key)} \\(shm ${id}\\) stays until shmread --key ${formatKey(key)} removes it \\(or: ipcrm -m ${id}\\)\\n$`));
        expect(ipcsByKey(key)).toMatchObject({ perms: "666", bytes: ConnStat.size, nattch: 0 });

        const reader = await runCommand(compileC("conn_stat_reader", C_READER), [formatKey(key)]);
        expect(reader.stderr).toBe("");
        expect(reader.stdout).toBe(`ip = 127.0.0.1 ,count: 3\nsegsz ${ConnStat.size}, mode 666, rest of ip zero: yes\n`);
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
