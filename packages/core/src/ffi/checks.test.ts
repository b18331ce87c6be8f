import { afterEach, describe, expect, it } from "vitest";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { unusedIpcKey, useTempDir } from "@linux-ipc/testing/vitest";
import { checkKey, checkPath, checkSize } from "./checks.ts";
import { open, O_RDONLY, O_CREAT, O_WRONLY } from "../libc/fcntl.ts";
import { close, ftruncate, lseek, read, unlink, SEEK_SET } from "../libc/unistd.ts";
import { mkfifo, stat } from "../libc/sys/stat.ts";
import { ftok, IPC_CREAT, IPC_EXCL } from "../libc/sys/ipc.ts";
import { memfd_create, shm_open, shm_unlink, mmap as mmapAddress, PROT_READ, MAP_SHARED, MAP_ANONYMOUS } from "../libc/sys/mman.ts";
import { shmget } from "../libc/sys/shm.ts";
import { sem_open, sem_unlink } from "../libc/semaphore.ts";
import { mapFile } from "../ipc/mapping.ts";
import { createOrReuseFifo, removeFifoIfPresent } from "../ipc/fifo.ts";
import { openRegularFile } from "../ipc/regular_file.ts";
import { NamedSemaphore } from "../ipc/posix_semaphore.ts";
import { SharedMemorySegment } from "../ipc/shared_memory.ts";

const dir = useTempDir("checks-");
const invalidPath = expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE", message: expect.stringMatching(/without null bytes/) });
const outOfRange = (name: string) => expect.objectContaining({ name: "RangeError", code: "ERR_OUT_OF_RANGE", message: expect.stringContaining(`The value of "${name}" is out of range.`) });

const segments: SharedMemorySegment[] = [];
afterEach(() => {
  for (const segment of segments.splice(0)) segment.remove();
});

describe("paths with a NUL byte", () => {
  it("are refused by every call that takes a path or a name, before C cuts them short", () => {
    const victim = dir.file("x");
    writeFileSync(victim, "keep me");
    const cut = `${victim}\0.bak`;
    // Cut at the NUL, each of these would act on `victim`.
    expect(() => unlink(cut)).toThrow(invalidPath);
    expect(() => open(cut, O_RDONLY)).toThrow(invalidPath);
    expect(() => stat(cut)).toThrow(invalidPath);
    expect(() => ftok(cut, 1)).toThrow(invalidPath);
    expect(() => mapFile(cut, 7)).toThrow(invalidPath);
    expect(() => openRegularFile(cut, O_RDONLY)).toThrow(invalidPath);
    expect(() => removeFifoIfPresent(cut)).toThrow(invalidPath);
    expect(() => mkfifo(`${dir.file("fifo")}\0x`, 0o600)).toThrow(invalidPath);
    expect(() => createOrReuseFifo(`${dir.file("fifo")}\0x`, 0o600)).toThrow(invalidPath);
    expect(() => memfd_create("a\0b")).toThrow(invalidPath);
    const name = `/checks-${process.pid}`;
    expect(() => shm_open(`${name}\0x`, O_CREAT | O_WRONLY)).toThrow(invalidPath);
    expect(() => shm_unlink(`${name}\0x`)).toThrow(invalidPath);
    expect(() => sem_open(`${name}\0x`, O_CREAT)).toThrow(invalidPath);
    expect(() => sem_unlink(`${name}\0x`)).toThrow(invalidPath);
    expect(() => NamedSemaphore.create(`${name}\0x`)).toThrow(invalidPath);
    expect(readdirSync(dir.path)).toEqual(["x"]);
    expect(existsSync(`/dev/shm${name}`) || existsSync(`/dev/shm/sem.${name.slice(1)}`)).toBe(false);
    expect(() => checkPath("/tmp/x\0.bak")).toThrow("The argument 'path' must be a string without null bytes. Received '/tmp/x\\x00.bak'");
  });
});

describe("integer arguments", () => {
  it("refuse keys a key_t cannot hold rather than truncating them (2^40 would be IPC_PRIVATE)", () => {
    expect(() => SharedMemorySegment.create(2 ** 40, 4096)).toThrow(outOfRange("key"));
    expect(() => shmget(1.5, 4096, IPC_CREAT | IPC_EXCL | 0o600)).toThrow(outOfRange("key"));
    // Both spellings of a key are the same key: the int and the unsigned number ipcs prints.
    expect(checkKey(0xdeadbeef)).toBe(0xdeadbeef | 0);
    expect(checkKey(-1)).toBe(-1);
    const key = unusedIpcKey();
    const segment = SharedMemorySegment.create(key, 4096);
    segments.push(segment);
    expect(SharedMemorySegment.open(key >>> 0).id).toBe(segment.id);
  });

  it("refuse sizes, ids, descriptors and offsets that are not integers of the C type", () => {
    expect(() => shmget(unusedIpcKey(), 1.5, IPC_CREAT | IPC_EXCL | 0o600)).toThrow(outOfRange("size"));
    expect(() => SharedMemorySegment.create(unusedIpcKey(), -1)).toThrow(outOfRange("size"));
    const file = dir.file("f");
    writeFileSync(file, "data");
    expect(() => ftok(file, 0)).toThrow(outOfRange("projId"));
    expect(() => ftok(file, 2 ** 40)).toThrow(outOfRange("projId"));
    expect(() => ftok(file, 0x100)).toThrow(outOfRange("projId"));
    expect(ftok(file, 1)).toBe(ftok(file, 1));
    expect(() => close(2 ** 32)).toThrow(outOfRange("fd"));
    expect(() => close(1.5)).toThrow(outOfRange("fd"));
    const fd = open(file, O_RDONLY);
    try {
      expect(() => lseek(fd, 0.5, SEEK_SET)).toThrow(outOfRange("offset"));
      expect(() => read(fd, new Uint8Array(4), 0, 1.5)).toThrow(outOfRange("length"));
      expect(() => ftruncate(fd, 2 ** 60)).toThrow(outOfRange("length"));
    } finally {
      close(fd);
    }
    expect(() => mmapAddress(null, 4096.5, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1)).toThrow(outOfRange("length"));
    expect(() => open(file, O_RDONLY, 2 ** 40)).toThrow(outOfRange("mode"));
    expect(() => checkSize(1.5, "size")).toThrow('The value of "size" is out of range. It must be an integer >= 0. Received 1.5');
    expect(readdirSync(dir.path)).toEqual(["f"]);
  });
});
