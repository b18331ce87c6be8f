import { afterEach, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { useTempDir } from "@linux-ipc/testing/vitest";
import { close, ftruncate, write } from "../libc/unistd.ts";
import { open, O_RDWR, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK } from "../libc/fcntl.ts";
import { memfd_create, MFD_ALLOW_SEALING, MFD_CLOEXEC } from "../libc/sys/mman.ts";
import { fstat } from "../libc/sys/stat.ts";
import { controlBuffer, MSG_CMSG_CLOEXEC, parseControl, recvmsg, rightsOf, rightsSpace, scmRights, sendmsg, socketpair, SOCK_CLOEXEC, SOCK_SEQPACKET } from "../libc/sys/socket.ts";
import { AF_UNIX } from "../libc/sys/un.ts";
import { checkSealed, createSealedMemfd, formatSeals, mapSealedMemfd, memfdSeals, sealMemfd, SIZE_SEALS } from "./sealed_memfd.ts";

const dir = useTempDir();
const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) close(fd);
});
const keep = (fd: number): number => {
  opened.push(fd);
  return fd;
};

/** Passes `fd` over a socketpair, as a sender in another process would, and returns the receiver's copy. */
function passed(fd: number): number {
  const [a, b] = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC);
  keep(a);
  keep(b);
  sendmsg(a, { data: new Uint8Array([1]), control: controlBuffer([scmRights([fd])]) });
  const control = new Uint8Array(rightsSpace(1));
  const received = recvmsg(b, { data: new Uint8Array(1), control }, MSG_CMSG_CLOEXEC);
  return keep(rightsOf(parseControl(control, received.controlLength))[0]!);
}

describe("sealed memfds", () => {
  it("a receiver refuses a memfd that is not sealed against shrinking and growing, and a file that cannot be", () => {
    const unsealed = keep(memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    ftruncate(unsealed, 4096);
    const received = passed(unsealed);
    expect(() => mapSealedMemfd(received)).toThrow(expect.objectContaining({ code: "ERR_IPC_MEMFD_NOT_SEALED", seals: 0, missing: SIZE_SEALS }));
    expect(() => mapSealedMemfd(received)).toThrow(`descriptor ${received} is a memfd without F_SEAL_SHRINK|F_SEAL_GROW (its seals: none): refusing to map it`);

    // Made without MFD_ALLOW_SEALING: sealed against sealing alone, so it can never be made safe.
    const plain = keep(memfd_create("plain", MFD_CLOEXEC));
    expect(memfdSeals(plain)).toBe(F_SEAL_SEAL);
    expect(() => checkSealed(plain)).toThrow(/its seals: F_SEAL_SEAL\)/);
    expect(() => sealMemfd(plain)).toThrow(expect.objectContaining({ code: "EPERM", syscall: "fcntl" }));

    const path = dir.file("regular");
    writeFileSync(path, "x".repeat(4096));
    const file = keep(open(path, O_RDWR));
    expect(() => checkSealed(file)).toThrow(`descriptor ${file} cannot carry seals`);
  });

  it("a sealed memfd cannot be truncated or grown by anyone holding it, so a mapping of it never faults", () => {
    const fd = keep(createSealedMemfd("sealed", 8192));
    write(fd, "contents");
    const received = passed(fd);
    expect(formatSeals(memfdSeals(received))).toBe("F_SEAL_SHRINK|F_SEAL_GROW");
    using mapping = mapSealedMemfd(received);
    expect(mapping.length).toBe(8192);
    expect(mapping.writable).toBe(false);
    // The sender tries to pull the memory away: the kernel refuses, on either descriptor.
    expect(() => ftruncate(fd, 0)).toThrow(expect.objectContaining({ code: "EPERM", syscall: "ftruncate" }));
    expect(() => ftruncate(received, 16384)).toThrow(expect.objectContaining({ code: "EPERM" }));
    expect(fstat(fd).size).toBe(8192);
    expect(Buffer.from(mapping.read(0, 8)).toString()).toBe("contents");
    expect(mapping.read(8191, 1)[0]).toBe(0);
    // Not final: seals can still be added, until F_SEAL_SEAL.
    sealMemfd(fd, { final: true });
    expect(memfdSeals(received)).toBe(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    expect(() => sealMemfd(fd)).toThrow(expect.objectContaining({ code: "EPERM" }));
  });
});
