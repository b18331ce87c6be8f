import { afterAll, afterEach, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { Socket } from "node:net";
import { compileC, cSkipReason, plantForeignSymlink, removeCompiled, startCommand, stopLeftoverPrograms, useTempDir } from "@linux-ipc/testing/vitest";
import { close, pipe2, read, write } from "../libc/unistd.ts";
import { bind, listen, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, socket, SHUT_WR } from "../libc/sys/socket.ts";
import { AF_UNIX } from "../libc/sys/un.ts";
import { ClosedDescriptorError } from "./poll.ts";
import { AsyncFd } from "./pipe_io.ts";
import { DescriptorsDroppedError, RecordTruncatedError, UnixListener, UnixSocket } from "./unix_socket.ts";

const dir = useTempDir();
const opened: Array<{ close(): void } | number> = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) typeof item === "number" ? close(item) : item.close();
  await stopLeftoverPrograms();
});
afterAll(removeCompiled);
function keep<T extends { close(): void } | number>(item: T): T {
  opened.push(item);
  return item;
}

const openDescriptors = (): number => readdirSync("/proc/self/fd").length;

describe("UnixSocket.pair", () => {
  it("passes descriptors both ways at once, with the sender's credentials", async () => {
    const [a, b] = UnixSocket.pair(SOCK_SEQPACKET).map(keep) as [UnixSocket, UnixSocket];
    const [readA, writeA] = pipe2().map(keep) as [number, number];
    const [readB, writeB] = pipe2().map(keep) as [number, number];
    const [atB, atA] = await Promise.all([b.receive(), a.receive(), a.send("from a", { fds: [writeA] }), b.send("from b", { fds: [writeB, readB] })]);
    expect(atB.data.toString()).toBe("from a");
    expect(atA.data.toString()).toBe("from b");
    expect(atB.fds).toHaveLength(1);
    expect(atA.fds).toHaveLength(2);
    expect(atB.credentials).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
    for (const fd of [...atA.fds, ...atB.fds]) keep(fd);
    write(atB.fds[0]!, "through b's copy");
    const buffer = new Uint8Array(32);
    expect(Buffer.from(buffer.subarray(0, read(readA, buffer))).toString()).toBe("through b's copy");
    expect(a.peerCredentials().pid).toBe(process.pid);
    expect(a.type).toBe(SOCK_SEQPACKET);
  });

  it("refuses descriptors past maxFds: an error naming the dropped count, and none left open", async () => {
    const [a, b] = UnixSocket.pair().map(keep) as [UnixSocket, UnixSocket];
    const fds = pipe2().map(keep);
    const before = openDescriptors();
    await a.send("x", { fds: [...fds, fds[0]!] });
    const error = await b.receive({ maxFds: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DescriptorsDroppedError);
    expect(error).toMatchObject({
      code: "ERR_IPC_DESCRIPTORS_DROPPED",
      sent: 3,
      slots: 1,
      dropped: 2,
      message: "recvmsg: 2 descriptors were dropped (MSG_CTRUNC): the message carried 3, the receiver had room for 1; all 3 have been closed",
    });
    expect((error as DescriptorsDroppedError).data.toString()).toBe("x");
    expect(openDescriptors()).toBe(before);
  });

  it("says when a record was longer than maxBytes, and refuses descriptors without data", async () => {
    const [a, b] = UnixSocket.pair(SOCK_DGRAM).map(keep) as [UnixSocket, UnixSocket];
    await a.send("0123456789");
    const error = await b.receive({ maxBytes: 4 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordTruncatedError);
    expect((error as RecordTruncatedError).data.toString()).toBe("0123");
    await expect(a.send("", { fds: [0] })).rejects.toThrow("descriptors travel with at least one byte of data");
  });

  it("ends pending calls on close, honours an abort, and closes once", async () => {
    const [a, b] = UnixSocket.pair().map(keep) as [UnixSocket, UnixSocket];
    await expect(b.receive({ signal: AbortSignal.timeout(20) })).rejects.toMatchObject({ name: "TimeoutError" });
    const pending = b.receive();
    b.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedDescriptorError);
    b.close();
    await expect(b.receive()).rejects.toBeInstanceOf(ClosedDescriptorError);
    // The peer sees end of file, then EPIPE.
    expect((await a.receive()).data.length).toBe(0);
    await expect(a.send("late")).rejects.toMatchObject({ code: "EPIPE", syscall: "sendmsg" });
  });

  it("refuses a descriptor that is not a socket, leaving it to the caller", () => {
    const [readEnd, writeEnd] = pipe2();
    keep(writeEnd);
    expect(() => new UnixSocket(readEnd)).toThrow(expect.objectContaining({ code: "ENOTSOCK", syscall: "setsockopt" }));
    // Still open, and free for another owner's poll handle: nothing of the failed object holds it.
    const owner = keep(new AsyncFd(readEnd));
    expect(owner.closed).toBe(false);
  });

  it("hands a stream socket to Node as a net.Socket once descriptors are exchanged", async () => {
    const [a, b] = UnixSocket.pair().map(keep) as [UnixSocket, UnixSocket];
    const [readEnd, writeEnd] = pipe2().map(keep) as [number, number];
    await a.send("fd", { fds: [writeEnd] });
    const { fds } = await b.receive();
    keep(fds[0]!);
    const netA = a.toNetSocket();
    const netB = b.toNetSocket();
    expect(a.closed && b.closed).toBe(true);
    expect(() => a.peerCredentials()).toThrow(ClosedDescriptorError);
    const received = new Promise<string>((resolve) => {
      let text = "";
      netB.setEncoding("utf8");
      netB.on("data", (chunk: string) => (text += chunk));
      netB.on("end", () => resolve(text));
    });
    netA.end("plain bytes through net.Socket");
    expect(await received).toBe("plain bytes through net.Socket");
    netB.destroy();
    netA.destroy();
    write(fds[0]!, "ok");
    const buffer = new Uint8Array(4);
    expect(read(readEnd, buffer)).toBe(2);
    expect(netA).toBeInstanceOf(Socket);
    const [seq] = UnixSocket.pair(SOCK_SEQPACKET).map(keep);
    expect(() => seq!.toNetSocket()).toThrow("only a SOCK_STREAM socket can become a net.Socket");
  });
});

describe("UnixListener", () => {
  it("accepts by path and by abstract name; close unlinks the path it created", async () => {
    for (const address of [dir.file("server.sock"), `\0linux-ipc-test-${randomUUID()}`]) {
      const listener = keep(UnixListener.listen(address));
      expect(listener.boundAddress()).toBe(address);
      if (!address.startsWith("\0")) expect(lstatSync(address).mode & 0o777).toBe(0o600);
      const [client, server] = await Promise.all([UnixSocket.connect(address), listener.accept()]);
      keep(client);
      keep(server);
      await client.send("hello");
      const got = await server.receive();
      expect(got.data.toString()).toBe("hello");
      expect(got.credentials?.pid).toBe(process.pid);
      expect(server.peerCredentials().pid).toBe(process.pid);
      listener.close();
      listener.close();
      if (!address.startsWith("\0")) expect(existsSync(address)).toBe(false);
      await expect(UnixSocket.connect(address)).rejects.toMatchObject({ code: address.startsWith("\0") ? "ECONNREFUSED" : "ENOENT", syscall: "connect" });
    }
  });

  it("replaces a stale socket file, but never a live server's, a symbolic link or another file", () => {
    const path = dir.file("stale.sock");
    const dead = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC);
    bind(dead, path);
    listen(dead);
    close(dead);
    const listener = keep(UnixListener.listen(path));
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(() => UnixListener.listen(path)).toThrow(`EADDRINUSE: address already in use, bind '${path}' (a server is listening there)`);

    const target = dir.file("target");
    writeFileSync(target, "untouched");
    const link = dir.file("link.sock");
    plantForeignSymlink(target, link);
    expect(() => UnixListener.listen(link)).toThrow(`bind '${link}' (a symbolic link is there, not a socket: left as it is)`);
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, "utf8")).toBe("untouched");
    expect(() => UnixListener.listen(target)).toThrow("(a regular file is there, not a socket: left as it is)");

    const name = `\0linux-ipc-test-${randomUUID()}`;
    keep(UnixListener.listen(name));
    expect(() => UnixListener.listen(name)).toThrow(/bind '@linux-ipc-test-[^']+' \(another socket is bound to this abstract name\)/);
    listener.close();
    expect(existsSync(path)).toBe(false);
  });

  it("leaves alone a socket file that replaced its own", () => {
    const path = dir.file("replaced.sock");
    const listener = keep(UnixListener.listen(path));
    // Someone removed the file and bound another socket there: not this listener's to unlink.
    unlinkSync(path);
    const other = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC));
    bind(other, path);
    listener.close();
    expect(lstatSync(path).isSocket()).toBe(true);
    unlinkSync(path);
  });
});

describe.skipIf(cSkipReason() !== null)("with a C peer", () => {
  const peerC = `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Connects to argv[1], sends "three" with three descriptors of /dev/null, then receives one message with a
   descriptor and writes "written by C" to it. With argv[2] "hang", prints "connected" and waits to be killed. */
int main(int argc, char **argv) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
  if (argc > 2) { printf("connected\\n"); fflush(stdout); pause(); }
  int fds[3];
  for (int i = 0; i < 3; i++) fds[i] = open("/dev/null", O_WRONLY);
  char control[CMSG_SPACE(sizeof fds)];
  memset(control, 0, sizeof control);
  struct iovec iov = { .iov_base = "three", .iov_len = 5 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
  if (sendmsg(fd, &msg, 0) != 5) { perror("sendmsg"); return 1; }
  char byte;
  char back[CMSG_SPACE(sizeof(int))];
  struct iovec in = { .iov_base = &byte, .iov_len = 1 };
  struct msghdr reply = { .msg_iov = &in, .msg_iovlen = 1, .msg_control = back, .msg_controllen = sizeof back };
  if (recvmsg(fd, &reply, 0) != 1) { perror("recvmsg"); return 1; }
  struct cmsghdr *got = CMSG_FIRSTHDR(&reply);
  if (got == NULL || got->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no descriptor\\n"); return 1; }
  int passed;
  memcpy(&passed, CMSG_DATA(got), sizeof passed);
  if (write(passed, "written by C", 12) != 12) { perror("write"); return 1; }
  printf("done\\n");
  return 0;
}
`;

  it("receives descriptors from C, refuses more than its slots, and sends one back", async () => {
    const path = dir.file("c-peer.sock");
    const listener = keep(UnixListener.listen(path));
    const peer = startCommand(compileC("fd-peer", peerC), [path]);
    const fromC = keep(await listener.accept({ signal: AbortSignal.timeout(30_000) }));
    const before = openDescriptors();
    const error = await fromC.receive({ maxFds: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_IPC_DESCRIPTORS_DROPPED", sent: 3, dropped: 2 });
    expect(openDescriptors()).toBe(before);
    expect(fromC.peerCredentials().pid).toBe(peer.pid);

    const [readEnd, writeEnd] = pipe2().map(keep) as [number, number];
    await fromC.send("!", { fds: [writeEnd] });
    await peer.waitForLine("done", { timeoutMs: 30_000 });
    const buffer = new Uint8Array(32);
    expect(Buffer.from(buffer.subarray(0, read(readEnd, buffer))).toString()).toBe("written by C");
    expect((await peer.exited).code).toBe(0);
  });

  it("a client killed before it sent anything reads as end of file", async () => {
    const path = dir.file("killed.sock");
    const listener = keep(UnixListener.listen(path));
    const peer = startCommand(compileC("fd-peer", peerC), [path, "hang"]);
    await peer.waitForLine("connected", { timeoutMs: 30_000 });
    peer.kill("SIGKILL");
    await peer.exited;
    const server = keep(await listener.accept({ signal: AbortSignal.timeout(30_000) }));
    expect((await server.receive()).data.length).toBe(0);
    server.shutdown(SHUT_WR);
    listener.close();
    expect(readdirSync(dir.path).filter((name) => name.endsWith(".sock"))).toEqual([]);
  });
});
