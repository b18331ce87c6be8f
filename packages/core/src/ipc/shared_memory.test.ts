import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SharedMemorySegment } from "./shared_memory.ts";
import { shmget, shmat, shmdt, shmStat, ShmidDs, SHM_RDONLY } from "../libc/sys/shm.ts";
import { IPC_CREAT, IPC_EXCL, formatKey } from "../libc/sys/ipc.ts";
import { ConnStat } from "../../fixtures/conn-stat.ts";
import { ReleasedMemoryError } from "./memory.ts";
import { unusedIpcKey, runProgram } from "@linux-ipc/testing/vitest";
import { getpid } from "../libc/unistd.ts";

const created: SharedMemorySegment[] = [];
afterEach(() => {
  for (const segment of created.splice(0)) segment.remove();
});

function createSegment(size: number, mode = 0o600): SharedMemorySegment {
  const segment = SharedMemorySegment.create(unusedIpcKey(), size, mode);
  created.push(segment);
  return segment;
}

function ipcsLine(key: number): string | undefined {
  return execFileSync("ipcs", ["-m"], { encoding: "utf8" })
    .split("\n")
    .find((line) => line.startsWith(formatKey(key)));
}

describe("SharedMemorySegment", () => {
  it("creates exclusively, shows in ipcs with its key, mode and size, and is removed", () => {
    const segment = createSegment(ConnStat.size, 0o640);
    expect(ipcsLine(segment.key)?.trim().split(/\s+/)).toEqual([formatKey(segment.key), String(segment.id), expect.any(String), "640", String(ConnStat.size), "0"]);
    expect(() => SharedMemorySegment.create(segment.key, 10)).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "shmget" }));
    expect(SharedMemorySegment.open(segment.key).id).toBe(segment.id);
    expect(() => SharedMemorySegment.open(segment.key, 1 << 20)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    segment.remove();
    segment.remove();
    expect(ipcsLine(segment.key)).toBeUndefined();
    expect(() => SharedMemorySegment.open(segment.key)).toThrow(`ENOENT: no such file or directory, shmget 'key ${formatKey(segment.key)}'`);
  });

  it("attaches with live struct views, and stat reports attach counts and pids", () => {
    const segment = createSegment(ConnStat.size);
    using writer = segment.attach();
    using reader = segment.attach({ readOnly: true });
    const written = writer.struct(ConnStat);
    const seen = reader.struct(ConnStat);
    written.ip = "127.0.0.1";
    written.count = 41;
    written.count++;
    expect(seen.count).toBe(42);
    expect(() => (seen.count = 0)).toThrow(TypeError);
    expect(seen.ip).toBe("127.0.0.1");
    const info = segment.stat();
    expect(info.shm_nattch).toBe(2);
    expect(info.shm_segsz).toBe(ConnStat.size);
    expect(info.shm_cpid).toBe(getpid());
    expect(info.shm_perm.mode & 0o777).toBe(0o600);
  });

  it("detach drops the attachment (nattch falls), is idempotent, and never removes the segment", () => {
    const segment = createSegment(4096);
    const attachment = segment.attach();
    attachment.bytes[0] = 1;
    const old = attachment.bytes;
    attachment.detach();
    attachment.detach();
    expect(segment.stat().shm_nattch).toBe(0);
    expect(() => attachment.bytes).toThrow(ReleasedMemoryError);
    expect(old[0]).toBe(0);
    using again = segment.attach();
    expect(again.bytes[0]).toBe(1);
  });

  it("detaching an attachment that never had a view calls shmdt at once", () => {
    const segment = createSegment(4096);
    const attachment = segment.attach();
    expect(segment.stat().shm_nattch).toBe(1);
    attachment.detach();
    expect(segment.stat().shm_nattch).toBe(0);
    expect(() => attachment.detach()).not.toThrow();
  });

  it("a removed segment lives on while attached, then disappears", () => {
    const segment = createSegment(4096);
    using attachment = segment.attach();
    segment.remove();
    attachment.bytes[10] = 5;
    expect(attachment.bytes[10]).toBe(5);
    expect(() => SharedMemorySegment.open(segment.key)).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  it("raw shmget/shmat/shmdt work with IPC_CREAT|IPC_EXCL and SHM_RDONLY", () => {
    const key = unusedIpcKey();
    const id = shmget(key, 100, IPC_CREAT | IPC_EXCL | 0o600);
    created.push(SharedMemorySegment.fromId(id));
    const address = shmat(id, null, SHM_RDONLY);
    expect(shmStat(id).shm_nattch).toBe(1);
    shmdt(address);
    expect(shmStat(id).shm_nattch).toBe(0);
    expect(() => shmdt(address)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "shmdt" }));
    created.pop()!.remove();
    expect(() => shmStat(id)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "shmctl", path: `id ${id}` }));
    expect(ShmidDs.size).toBe(112);
  });

  it("shmat with mode 0 is EACCES for an unprivileged process", async () => {
    const segment = createSegment(4096, 0);
    if (process.getuid?.() === 0) {
      // Root bypasses IPC permissions (CAP_IPC_OWNER): try from a child running as nobody.
      const result = await runProgram(fileURLToPath(new URL("../../dist-fixtures/shmat-as-nobody.js", import.meta.url)), [String(segment.id)]);
      expect(result.stdout).toBe(`EACCES: permission denied, shmat 'id ${segment.id}'\n`);
    } else {
      expect(() => segment.attach()).toThrow(expect.objectContaining({ code: "EACCES", syscall: "shmat" }));
    }
  });
});
