import { afterAll, describe, expect, it } from "vitest";
import { SharedMemorySegment, formatKey } from "@linux-ipc/core";
import { cSkipReason, compileC, removeCompiled } from "@linux-ipc/testing/vitest";
import { ipcsById, ipcsByKey, removeByKey, run, segmentLedger, startExecutable } from "./test-support.ts";

const ledger = segmentLedger();
afterAll(() => removeCompiled());

const PROJ_ID = 0x6666;
const FILLER = 0x23;

/** A fresh file to give ftok, with its key (unused, tracked) and the client's options for it. */
function anchor(): { path: string; key: number; args: string[] } {
  const { path, key } = ledger.anchor(PROJ_ID);
  return { path, key, args: ["--path", path, "--proj-id", String(PROJ_ID)] };
}

// server.c, except that it takes PATH and PROJ_ID, fills the segment with '#', and prints the string
// (and the two bytes after it) once, when a line arrives on stdin.
const C_SERVER = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
int main(int argc, char **argv) {
  key_t key = ftok(argv[1], (int)strtol(argv[2], NULL, 0));
  if (key < 0) { perror("ftok"); return 1; }
  int shm = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0666);
  if (shm < 0) { perror("shmget"); return 2; }
  char *mem = shmat(shm, NULL, 0);
  if (mem == (void *)-1) { perror("shmat"); shmctl(shm, IPC_RMID, NULL); return 3; }
  memset(mem, '#', 4096);
  printf("key: %x\n", key);
  printf("shm: %d\n", shm);
  fflush(stdout);
  getchar();
  size_t length = strnlen(mem, 4096);
  printf("%s\nthen: %d %d\n", mem, mem[length], mem[length + 1]);
  shmdt(mem);
  shmctl(shm, IPC_RMID, NULL);
  return 0;
}
`;

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
      expect(result.stderr).toBe(
        `client: shmget 'key ${formatKey(key)}': Invalid argument (the segment with key ${formatKey(key)} (shm ${small.id}) has 100 bytes, fewer than the 4096 asked for)\n`,
      );
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
    it("attaches the C server's segment and writes the string the C server then reads", async () => {
      const { path, key, args } = anchor();
      const server = startExecutable(compileC("shm_server", C_SERVER), [path, String(PROJ_ID)]);
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
