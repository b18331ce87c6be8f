import { afterEach, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { readlinkSync, symlinkSync, writeFileSync, readFileSync, lstatSync } from "node:fs";
import { useTempDir } from "@linux-ipc/testing/vitest";
import { close, getpid, pipe2, read, unlink, write } from "../unistd.ts";
import { fcntl, F_GETFD, FD_CLOEXEC, open, O_RDONLY } from "../fcntl.ts";
import {
  accept4,
  bind,
  connect,
  controlBuffer,
  credentialsOf,
  CREDENTIALS_SPACE,
  getpeername,
  getsockname,
  getsockoptInt,
  listen,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_TRUNC,
  parseControl,
  peerCredentials,
  recvmsg,
  rightsOf,
  rightsSpace,
  scmCredentials,
  scmRights,
  sendmsg,
  setsockopt,
  shutdown,
  SHUT_WR,
  socket,
  socketpair,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_PASSCRED,
  SO_TYPE,
} from "./socket.ts";
import { AF_UNIX, decodeSockaddrUn, sockaddrUn } from "./un.ts";

const dir = useTempDir();
const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) close(fd);
});
const keep = <T extends number[]>(...fds: T): T => {
  opened.push(...fds);
  return fds;
};

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array, length: number): string => new TextDecoder().decode(data.subarray(0, length));

describe("socket addresses", () => {
  it("encodes filesystem and abstract names as C does, and refuses what does not fit", () => {
    const path = sockaddrUn("/tmp/x.sock");
    expect(path.length).toBe(2 + 11 + 1);
    expect(decodeSockaddrUn(path.bytes, path.length)).toBe("/tmp/x.sock");
    const abstract = sockaddrUn("\0name");
    expect(abstract.length).toBe(2 + 5);
    expect(decodeSockaddrUn(abstract.bytes, abstract.length)).toBe("\0name");
    expect(decodeSockaddrUn(abstract.bytes, 2)).toBe("");
    expect(() => sockaddrUn(`/${"a".repeat(107)}`)).toThrow(/108 bytes: at most 107 fit in sun_path with its NUL/);
    expect(() => sockaddrUn("")).toThrow(TypeError);
    expect(() => sockaddrUn("/a\0b")).toThrow(/NUL byte inside/);
  });
});

describe("socketpair, sendmsg and recvmsg", () => {
  it("passes several descriptors in one message, close-on-exec with MSG_CMSG_CLOEXEC", () => {
    const [a, b] = keep(...socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC));
    const [readEnd, writeEnd] = keep(...pipe2());
    const file = dir.file("passed");
    writeFileSync(file, "file contents");
    const fileFd = keep(open(file, O_RDONLY))[0];
    expect(sendmsg(a, { data: bytes("x"), control: controlBuffer([scmRights([readEnd, writeEnd, fileFd])]) })).toBe(1);

    const data = new Uint8Array(8);
    const control = new Uint8Array(rightsSpace(3));
    const received = recvmsg(b, { data, control }, MSG_CMSG_CLOEXEC);
    // msg_flags echoes MSG_CMSG_CLOEXEC; msg_controllen counts the padding after the 3 ints.
    expect(received).toEqual({ bytes: 1, flags: MSG_CMSG_CLOEXEC, controlLength: rightsSpace(3) });
    const fds = keep(...rightsOf(parseControl(control, received.controlLength)));
    expect(fds).toHaveLength(3);
    expect(new Set([...fds, readEnd, writeEnd, fileFd]).size).toBe(6);
    for (const fd of fds) expect(fcntl(fd, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
    // The received descriptors are the same open files: the pipe works across them.
    write(fds[1]!, "through the copy");
    const buffer = new Uint8Array(64);
    expect(text(buffer, read(readEnd, buffer))).toBe("through the copy");
    expect(text(buffer, read(fds[2]!, buffer))).toBe("file contents");
  });

  it("reports MSG_CTRUNC when the control buffer has fewer slots than descriptors sent", () => {
    const [a, b] = keep(...socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC));
    const [readEnd, writeEnd] = keep(...pipe2());
    sendmsg(a, { data: bytes("x"), control: controlBuffer([scmRights([readEnd, writeEnd, readEnd, writeEnd])]) });
    // CMSG_SPACE(sizeof(int)) is 24 bytes on 64-bit Linux: its padding holds a second int, and the
    // kernel fills every slot there is room for.
    const control = new Uint8Array(rightsSpace(1));
    const received = recvmsg(b, { data: new Uint8Array(1), control }, MSG_CMSG_CLOEXEC);
    expect(received.flags & MSG_CTRUNC).toBe(MSG_CTRUNC);
    const fds = keep(...rightsOf(parseControl(control, received.controlLength)));
    expect(fds).toHaveLength(2);
  });

  it("keeps message boundaries on SOCK_SEQPACKET and says MSG_TRUNC when a record is cut", () => {
    const [a, b] = keep(...socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC));
    sendmsg(a, { data: [bytes("hello, "), bytes("world")] });
    sendmsg(a, { data: bytes("second") });
    const data = new Uint8Array(5);
    expect(recvmsg(b, { data })).toMatchObject({ bytes: 5, flags: MSG_TRUNC });
    expect(text(data, 5)).toBe("hello");
    const whole = new Uint8Array(64);
    const next = recvmsg(b, { data: whole });
    expect(text(whole, next.bytes)).toBe("second");
    expect(() => recvmsg(b, { data: whole }, MSG_DONTWAIT)).toThrow(expect.objectContaining({ code: "EAGAIN", syscall: "recvmsg" }));
    shutdown(a, SHUT_WR);
    expect(recvmsg(b, { data: whole }).bytes).toBe(0);
  });

  it("gives the peer's pid, uid and gid with SO_PEERCRED, and each message's with SO_PASSCRED", () => {
    const [a, b] = keep(...socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC));
    const me = { pid: getpid(), uid: process.getuid!(), gid: process.getgid!() };
    expect(peerCredentials(a)).toEqual(me);
    expect(getsockoptInt(a, SOL_SOCKET, SO_TYPE)).toBe(SOCK_DGRAM);
    setsockopt(b, SOL_SOCKET, SO_PASSCRED, 1);
    sendmsg(a, { data: bytes("who") });
    // Sent explicitly: the kernel checks them (our own are allowed).
    sendmsg(a, { data: bytes("me"), control: controlBuffer([scmCredentials(me)]) });
    for (const expected of ["who", "me"]) {
      const data = new Uint8Array(8);
      const control = new Uint8Array(CREDENTIALS_SPACE);
      const received = recvmsg(b, { data, control });
      expect(text(data, received.bytes)).toBe(expected);
      expect(credentialsOf(parseControl(control, received.controlLength))).toEqual(me);
    }
    // Another pid: EPERM without CAP_SYS_ADMIN; root may name any live process, and this one is none.
    expect(() => sendmsg(a, { data: bytes("lie"), control: controlBuffer([scmCredentials({ ...me, pid: 999_999_999 })]) })).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^(EPERM|ESRCH)$/), syscall: "sendmsg" }),
    );
  });
});

describe("bind, listen, accept4, connect", () => {
  it("connects through a filesystem name and an abstract one", () => {
    for (const address of [dir.file("server.sock"), `\0linux-ipc-test-${randomUUID()}`]) {
      const [server] = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC));
      bind(server, address);
      listen(server, 4);
      expect(getsockname(server)).toBe(address);
      const [client] = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC));
      connect(client, address);
      const [accepted] = keep(accept4(server));
      expect(getpeername(client)).toBe(address);
      expect(getpeername(accepted)).toBe("");
      write(client, "ping");
      const buffer = new Uint8Array(8);
      expect(text(buffer, read(accepted, buffer))).toBe("ping");
      if (!address.startsWith("\0")) unlink(address);
    }
  });

  it("fails as the kernel says: a stale socket file refuses, bind never follows a symbolic link", () => {
    const stale = dir.file("stale.sock");
    const [dead] = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC));
    bind(dead, stale);
    listen(dead);
    close(opened.pop()!);
    const [client] = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC));
    expect(() => connect(client, stale)).toThrow(expect.objectContaining({ code: "ECONNREFUSED", syscall: "connect", path: stale }));

    const target = dir.file("target");
    writeFileSync(target, "untouched");
    const link = dir.file("link.sock");
    symlinkSync(target, link);
    const [server] = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC));
    expect(() => bind(server, link)).toThrow(expect.objectContaining({ code: "EADDRINUSE", syscall: "bind", path: link }));
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, "utf8")).toBe("untouched");
    expect(lstatSync(target).isFile()).toBe(true);
    expect(() => connect(server, `\0linux-ipc-test-${randomUUID()}`)).toThrow(expect.objectContaining({ code: "ECONNREFUSED", path: expect.stringMatching(/^@linux-ipc-test-/) }));
  });
});
