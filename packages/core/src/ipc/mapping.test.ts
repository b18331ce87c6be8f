import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { mmap, mapFile, MapArgumentError } from "./mapping.ts";
import { ReleasedMemoryError } from "./memory.ts";
import { memfd_create, shm_open, shm_unlink, MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS, PROT_READ, PROT_WRITE, MS_SYNC, MS_ASYNC, MADV_SEQUENTIAL } from "../libc/sys/mman.ts";
import { open, O_RDONLY, O_RDWR, O_CREAT, O_EXCL } from "../libc/fcntl.ts";
import { close, ftruncate, PAGE_SIZE, write } from "../libc/unistd.ts";
import { fstat } from "../libc/sys/stat.ts";
import { ConnStat } from "../../fixtures/conn-stat.ts";
import { SystemError } from "../libc/errno.ts";
import { startProgram, runProgram, useTempDir, unusedIpcKey } from "@linux-ipc/testing/vitest";
import { SharedMemorySegment } from "./shared_memory.ts";

const fixture = (name: string): string => fileURLToPath(new URL(`../../dist-fixtures/${name}.js`, import.meta.url));

const dir = useTempDir();

describe("mmap", () => {
  it("shares writes with the file and keeps the mapping after the fd is closed", () => {
    const path = dir.file("shared");
    writeFileSync(path, Buffer.alloc(PAGE_SIZE));
    const fd = open(path, O_RDWR);
    const mapping = mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    close(fd);
    mapping.bytes.set(Buffer.from("hello"), 10);
    mapping.sync(MS_SYNC);
    mapping.advise(MADV_SEQUENTIAL);
    expect(readFileSync(path).subarray(10, 15).toString()).toBe("hello");
    mapping.unmap();
  });

  it("keeps MAP_PRIVATE changes out of the file", () => {
    const path = dir.file("private");
    writeFileSync(path, Buffer.alloc(100));
    const fd = open(path, O_RDWR);
    using mapping = mmap(100, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
    close(fd);
    mapping.bytes[0] = 42;
    expect(mapping.bytes[0]).toBe(42);
    expect(readFileSync(path)[0]).toBe(0);
  });

  it("refuses a length of 0 and a misaligned offset before calling the kernel", () => {
    const path = dir.file("f");
    writeFileSync(path, Buffer.alloc(2 * PAGE_SIZE));
    const fd = open(path, O_RDWR);
    try {
      expect(() => mmap(0, PROT_READ, MAP_SHARED, fd)).toThrow(MapArgumentError);
      expect(() => mmap(0, PROT_READ, MAP_SHARED, fd)).toThrow(/length must be a positive integer/);
      expect(() => mmap(10, PROT_READ, MAP_SHARED, fd, 100)).toThrow(/not a multiple of the page size/);
    } finally {
      close(fd);
    }
  });

  it("refuses to map pages past the end of the file (they would raise SIGBUS)", () => {
    const path = dir.file("small");
    writeFileSync(path, Buffer.alloc(10));
    expect(() => mapFile(path, 2 * PAGE_SIZE)).toThrow(/reach past the end of the file \(10 bytes\)/);
    // Within the file's last page is fine: the kernel zero-fills the rest of that page.
    using within = mapFile(path, PAGE_SIZE);
    expect(within.bytes[PAGE_SIZE - 1]).toBe(0);
  });

  it("fails with EACCES when the fd's open mode does not allow the protection", () => {
    const path = dir.file("ro");
    writeFileSync(path, Buffer.alloc(100));
    const fd = open(path, O_RDONLY);
    try {
      let caught: unknown;
      try {
        mmap(100, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, { path });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SystemError);
      expect(caught).toMatchObject({ code: "EACCES", syscall: "mmap", path });
      expect((caught as Error).message).toBe(`EACCES: permission denied, mmap '${path}'`);
    } finally {
      close(fd);
    }
  });

  it("refuses struct assignments on a PROT_READ mapping instead of faulting", () => {
    const path = dir.file("read-only");
    writeFileSync(path, Buffer.alloc(ConnStat.size));
    using mapping = mapFile(path, ConnStat.size, { access: "r" });
    expect(mapping.writable).toBe(false);
    const record = mapping.struct(ConnStat);
    expect(record.count).toBe(0);
    expect(() => (record.count = 5)).toThrow(TypeError);
  });

  it("fails with EBADF for a closed descriptor", () => {
    expect(() => mmap(100, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1)).not.toThrow();
    expect(() => mmap(100, PROT_READ, MAP_SHARED, 9999)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "fstat" }));
  });

  it("throws on the mapping after unmap, idempotently, and old views read harmless zeros", () => {
    using mapping = mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    mapping.bytes[0] = 7;
    const old = mapping.bytes;
    mapping.unmap();
    mapping.unmap();
    expect(mapping.released).toBe(true);
    expect(() => mapping.bytes).toThrow(ReleasedMemoryError);
    expect(old[0]).toBe(0);
  });

  it("copyFrom copies between mappings with one memmove, checking bounds on both sides", () => {
    const path = dir.file("copy-source");
    writeFileSync(path, Buffer.from("0123456789abcdef".repeat(512)));
    using source = mapFile(path, PAGE_SIZE, { access: "r" });
    using target = mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    target.copyFrom(source);
    expect(Buffer.from(target.bytes.subarray(0, 20)).toString()).toBe("0123456789abcdef0123");
    target.copyFrom(source, { offset: 100, sourceOffset: 10, length: 6 });
    expect(Buffer.from(target.bytes.subarray(100, 106)).toString()).toBe("abcdef");
    expect(() => target.copyFrom(source, { offset: PAGE_SIZE - 2, length: 3 })).toThrow(/3 bytes at target offset 4094 do not fit in 4096 bytes/);
    expect(() => target.copyFrom(source, { sourceOffset: 1 })).not.toThrow();
    expect(() => target.copyFrom(source, { sourceOffset: 1, length: PAGE_SIZE })).toThrow(/source offset 1/);
    source.unmap();
    expect(() => target.copyFrom(source)).toThrow(ReleasedMemoryError);
  });

  it("unmaps a mapping that never had a view at once, and keeps a viewed one's range as a placeholder", () => {
    const mapsHas = (address: bigint): boolean =>
      readFileSync("/proc/self/maps", "utf8")
        .split("\n")
        .filter(Boolean)
        .some((line) => {
          const [start, end] = line
            .split(" ")[0]!
            .split("-")
            .map((hex) => BigInt(`0x${hex}`)) as [bigint, bigint];
          return start <= address && address < end;
        });
    const unviewed = mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    expect(mapsHas(unviewed.address)).toBe(true);
    unviewed.unmap();
    expect(mapsHas(unviewed.address)).toBe(false);
    const viewed = mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    const view = viewed.bytes;
    viewed.unmap();
    expect(mapsHas(viewed.address)).toBe(true);
    expect(view[0]).toBe(0);
  });

  it("survives a child process touching views after unmap (no SIGSEGV)", async () => {
    const result = await runProgram(fixture("use-after-unmap"), [dir.file("uaf")]);
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("before unmap: 65\nafter unmap: 0 0 0\nwrote after unmap: 9\nfile still holds: 65\n");
    expect(result.code).toBe(0);
  });
});

describe("failures of msync, madvise and memfd_create", () => {
  it("give EINVAL for flags the kernel rejects", () => {
    using mapping = mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    expect(() => mapping.sync(MS_SYNC | MS_ASYNC)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "msync" }));
    expect(() => mapping.advise(9999)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "madvise" }));
    expect(() => memfd_create("bad-flags", 0x8000_0000)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "memfd_create" }));
  });
});

describe("memfd_create, shm_open", () => {
  it("memfd_create gives an anonymous file that can be sized and mapped", () => {
    const fd = memfd_create("mman-test");
    try {
      ftruncate(fd, PAGE_SIZE);
      expect(fstat(fd).size).toBe(PAGE_SIZE);
      using mapping = mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
      mapping.bytes[5] = 1;
      expect(mapping.bytes[5]).toBe(1);
    } finally {
      close(fd);
    }
  });

  it("shm_open passes its mode and fails with EEXIST / ENOENT", () => {
    const name = `/ipc-core-test-${process.pid}-${Date.now()}`;
    const fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o640);
    try {
      expect(fstat(fd).mode & 0o777).toBe(0o640 & ~currentUmask());
      expect(statSync(`/dev/shm${name}`).isFile()).toBe(true);
      expect(() => shm_open(name, O_RDWR | O_CREAT | O_EXCL)).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "shm_open", path: name }));
      write(fd, "x");
    } finally {
      close(fd);
      shm_unlink(name);
    }
    expect(() => shm_open(name, O_RDWR)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => shm_unlink(name)).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "shm_unlink" }));
  });
});

describe("two unrelated processes", () => {
  it("see each other's writes through one mapped file", async () => {
    const path = dir.file("shared-between");
    const writer = startProgram(fixture("map-writer"), [path, "hello from another process"]);
    try {
      await writer.waitForLine("written");
      const reader = await runProgram(fixture("map-reader"), [path]);
      expect(reader.stdout).toBe("read: hello from another process\n");
      expect(reader.code).toBe(0);
    } finally {
      writer.write("done\n");
      writer.closeStdin();
      expect((await writer.exited).code).toBe(0);
    }
  });
});

function currentUmask(): number {
  const mask = process.umask(0);
  process.umask(mask);
  return mask;
}

describe("accesses the protection forbids (in a child process: unchecked, each is a SIGSEGV)", () => {
  const refused = (what: string, access: string) => `${what}: refused ERR_IPC_MEMORY_ACCESS cannot ${access} this`;

  it("copyFrom into a PROT_READ mapping, or a write through its bytes, is refused; read() copies", async () => {
    const result = await runProgram(fixture("protection"), ["read-only-file", dir.file("ro")]);
    expect(result).toMatchObject({ code: 0, signal: null, stderr: "" });
    const lines = result.stdout.split("\n");
    expect(lines[0]).toContain(refused("copyFrom", "write"));
    expect(lines[1]).toContain(refused("bytes write", "write"));
    expect(lines[1]).toContain("use read() for a copy, or struct() views");
    expect(lines.slice(2)).toEqual(["read: done 1,1", "file holds: 1", "alive", ""]);
  });

  it("copyFrom into an SHM_RDONLY attachment is refused", async () => {
    const segment = SharedMemorySegment.create(unusedIpcKey(), PAGE_SIZE);
    try {
      const result = await runProgram(fixture("protection"), ["read-only-attachment", String(segment.id)]);
      expect(result).toMatchObject({ code: 0, signal: null, stderr: "" });
      const lines = result.stdout.split("\n");
      expect(lines[0]).toContain(refused("copyFrom", "write"));
      expect(lines[1]).toContain(refused("bytes write", "write"));
      expect(lines.slice(2)).toEqual(["read: done 0,0", "alive", ""]);
    } finally {
      segment.remove();
    }
  });

  it("reading a PROT_NONE mapping through bytes, a struct or copyFrom is refused", async () => {
    const result = await runProgram(fixture("protection"), ["prot-none"]);
    expect(result).toMatchObject({ code: 0, signal: null, stderr: "" });
    const lines = result.stdout.split("\n");
    expect(lines[0]).toContain(refused("bytes read", "read"));
    expect(lines[1]).toContain(refused("read", "read"));
    expect(lines[2]).toContain(refused("struct read", "read"));
    expect(lines[3]).toContain(refused("copyFrom out of it", "read"));
    expect(lines.slice(4)).toEqual(["alive", ""]);
  });
});
