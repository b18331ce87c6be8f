import { afterAll, afterEach, describe, expect, it } from "vitest";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { koffi } from "../ffi/libc.ts";
import { NamedSemaphore, UnnamedSemaphore, ReleasedSemaphoreError } from "./posix_semaphore.ts";
import { SEM_T_SIZE, sem_t } from "../libc/semaphore.ts";
import { SharedMemorySegment } from "./shared_memory.ts";
import { IPC_PRIVATE } from "../libc/sys/ipc.ts";
import { mmap } from "./mapping.ts";
import { MAP_SHARED, MAP_ANONYMOUS, PROT_READ, PROT_WRITE } from "../libc/sys/mman.ts";
import { WaitTimeoutError } from "./timeouts.ts";
import { compileC, cSkipReason, removeCompiled, startCommand, startProgram, type RunningProgram, stopLeftoverPrograms } from "@linux-ipc/testing/vitest";

const fixture = (name: string): string => fileURLToPath(new URL(`../../dist-fixtures/${name}.js`, import.meta.url));

const names: string[] = [];
const segments: SharedMemorySegment[] = [];
afterEach(async () => {
  // Programs first: a segment is removed only once nothing can be using it.
  await stopLeftoverPrograms(0);
  for (const name of names.splice(0)) {
    try {
      NamedSemaphore.unlink(name);
    } catch {
      // already unlinked by the test
    }
  }
  for (const segment of segments.splice(0)) segment.remove();
});
afterAll(removeCompiled);

function uniqueName(): string {
  const name = `/ipc-test-${randomBytes(6).toString("hex")}`;
  names.push(name);
  return name;
}

const start = (script: string, args: string[]): RunningProgram => startProgram(fixture(script), args);

function sharedSegment(): { id: number; memory: ReturnType<SharedMemorySegment["attach"]> } {
  const segment = SharedMemorySegment.create(IPC_PRIVATE, 4096);
  segments.push(segment);
  return { id: segment.id, memory: segment.attach() };
}

describe("NamedSemaphore", () => {
  it("is created with the mode and value sem_open's variadic arguments carry, lives in /dev/shm, and is unlinked", () => {
    const name = uniqueName();
    const file = `/dev/shm/sem.${name.slice(1)}`;
    const umask = process.umask();
    using semaphore = NamedSemaphore.create(name, 3, 0o640);
    expect(statSync(file).mode & 0o777).toBe(0o640 & ~umask);
    expect(semaphore.value).toBe(3);
    expect(() => NamedSemaphore.create(name, 1)).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "sem_open", path: name }));
    using again = NamedSemaphore.openOrCreate(name, 9);
    expect(again.value).toBe(3);
    semaphore.unlink();
    semaphore.unlink();
    expect(existsSync(file)).toBe(false);
    expect(() => NamedSemaphore.open(name)).toThrow(`ENOENT: no such file or directory, sem_open '${name}'`);
    expect(() => NamedSemaphore.unlink(name)).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "sem_unlink" }));
  });

  it("posts, waits, tries and times out", async () => {
    using semaphore = NamedSemaphore.create(uniqueName(), 1);
    semaphore.wait();
    expect(semaphore.tryWait()).toBe(false);
    expect(() => semaphore.wait({ timeoutMs: 5 })).toThrow(WaitTimeoutError);
    await expect(semaphore.waitAsync({ timeoutMs: 5 })).rejects.toThrow(WaitTimeoutError);
    semaphore.post();
    semaphore.post();
    expect(semaphore.tryWait()).toBe(true);
    await semaphore.waitAsync();
    expect(semaphore.value).toBe(0);
  });

  it("is shared by name with another process: its posts wake an async wait here", async () => {
    const name = uniqueName();
    using semaphore = NamedSemaphore.create(name, 0);
    const waiting = semaphore.waitAsync();
    const poster = start("sem-poster", [`named:${name}`, "0", "1"]);
    await waiting;
    expect((await poster.exited).stdout).toBe("posted\n");
  });

  it("refuses to be used once closed, and close ends an async wait in flight before it closes", async () => {
    const semaphore = NamedSemaphore.create(uniqueName(), 0);
    const waiting = semaphore.waitAsync();
    semaphore.close();
    expect(semaphore.released).toBe(false);
    await expect(waiting).rejects.toThrow(ReleasedSemaphoreError);
    expect(semaphore.released).toBe(true);
    semaphore.close();
    expect(() => semaphore.post()).toThrow(ReleasedSemaphoreError);
    expect(() => semaphore.value).toThrow(`semaphore '${semaphore.name}' has been closed or destroyed`);
  });
});

describe("UnnamedSemaphore in shared memory", () => {
  it("is initialised in a SysV segment and posted from another process", async () => {
    const { id, memory } = sharedSegment();
    const semaphore = UnnamedSemaphore.init(memory, 64, 0);
    const poster = start("sem-poster", [`shm:${id}`, "64", "5"]);
    for (let i = 0; i < 5; i++) await semaphore.waitAsync();
    expect((await poster.exited).stdout).toBe("posted\n");
    expect(semaphore.tryWait()).toBe(false);
    semaphore.destroy();
    semaphore.destroy();
    expect(() => semaphore.post()).toThrow(ReleasedSemaphoreError);
  });

  it("checks where the sem_t goes, and refuses once its memory is unmapped", () => {
    using memory = mmap(4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    expect(() => UnnamedSemaphore.init(memory, 4, 0)).toThrow(/8-byte aligned/);
    expect(() => UnnamedSemaphore.init(memory, 4096 - 16, 0)).toThrow(/does not fit/);
    const semaphore = UnnamedSemaphore.init(memory, 0, 2);
    expect(UnnamedSemaphore.at(memory, 0).value).toBe(2);
    memory.unmap();
    expect(() => semaphore.post()).toThrow(/released/);
  });
});

describe.skipIf(cSkipReason() !== null)("with C", () => {
  it("sem_t has glibc's size, and a C process posts to and waits on the same sem_t in a segment", async () => {
    expect(koffi.sizeof(sem_t)).toBe(SEM_T_SIZE);
    const source = `
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/shm.h>
int main(int argc, char **argv) {
  printf("sizeof %zu align %zu\\n", sizeof(sem_t), _Alignof(sem_t));
  char *memory = shmat(atoi(argv[1]), NULL, 0);
  if (memory == (void *) -1) { perror("shmat"); return 1; }
  sem_t *to_c = (sem_t *) (memory + 64), *to_ts = (sem_t *) (memory + 128);
  for (int i = 0; i < 1000; i++) {
    if (sem_wait(to_c) != 0) { perror("sem_wait"); return 1; }
    if (sem_post(to_ts) != 0) { perror("sem_post"); return 1; }
  }
  printf("done\\n");
  return 0;
}`;
    const { id, memory } = sharedSegment();
    const toC = UnnamedSemaphore.init(memory, 64, 0);
    const toTs = UnnamedSemaphore.init(memory, 128, 0);
    const peer = startCommand(compileC("sem-peer", source, ["-pthread"]), [String(id)]);
    for (let i = 0; i < 1000; i++) {
      toC.post();
      await toTs.waitAsync();
    }
    const result = await peer.exited;
    expect(result.stdout).toBe(`sizeof ${SEM_T_SIZE} align 8\ndone\n`);
  });
});
