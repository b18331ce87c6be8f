import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { isPollable, waitForFd, FdWaiter, ClosedDescriptorError } from "./poll.ts";
import { libc } from "../ffi/libc.ts";
import { check } from "../libc/errno.ts";
import { open, fcntl, F_GETFL, O_CLOEXEC, O_DIRECTORY, O_NONBLOCK, O_RDONLY } from "../libc/fcntl.ts";
import { close, pipe2, write } from "../libc/unistd.ts";
import { openDescriptors } from "./procfs.ts";
import { useTempDir } from "@linux-ipc/testing/vitest";

const dir = useTempDir();
const eventfd_c = libc.func("int eventfd(unsigned int initval, int flags)");
const socketpair_c = libc.func("int socketpair(int domain, int type, int protocol, _Out_ int *sv)");
const AF_UNIX = 1;
const SOCK_STREAM = 1;

describe("isPollable", () => {
  it("says yes for pipes and for an eventfd's anonymous inode, no for regular files and directories", () => {
    const [readEnd, writeEnd] = pipe2();
    const counter = check(eventfd_c(0, O_CLOEXEC) as number, "eventfd");
    writeFileSync(dir.file("plain"), "");
    const file = open(dir.file("plain"), O_RDONLY | O_CLOEXEC);
    const folder = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    try {
      expect([readEnd, writeEnd, counter, file, folder].map(isPollable)).toEqual([true, true, true, false, false]);
    } finally {
      for (const fd of [readEnd, writeEnd, counter, file, folder]) close(fd);
    }
  });
});

describe("waitForFd", () => {
  it("resolves at once for a regular file, and for a pipe with room to write", async () => {
    writeFileSync(dir.file("plain"), "x");
    const file = open(dir.file("plain"), O_RDONLY | O_CLOEXEC);
    const [readEnd, writeEnd] = pipe2();
    try {
      await waitForFd(file, "readable");
      await waitForFd(writeEnd, "writable");
    } finally {
      for (const fd of [file, readEnd, writeEnd]) close(fd);
    }
  });

  it("rejects when aborted and leaves the descriptor blocking", async () => {
    const [readEnd, writeEnd] = pipe2();
    try {
      const controller = new AbortController();
      const waiting = waitForFd(readEnd, "readable", { signal: controller.signal });
      controller.abort();
      await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
      expect(fcntl(readEnd, F_GETFL) & O_NONBLOCK).toBe(0);
    } finally {
      close(readEnd);
      close(writeEnd);
    }
  });
});

describe("waitForFd on a descriptor the caller keeps", () => {
  it("serves a readable and a writable wait on one socket: the one reported first leaves the other armed", async () => {
    const sv = [0, 0];
    check(socketpair_c(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0, sv) as number, "socketpair");
    const [mine, peer] = sv as [number, number];
    try {
      const readable = waitForFd(mine, "readable");
      await waitForFd(mine, "writable");
      write(peer, "x");
      await readable;
    } finally {
      close(mine);
      close(peer);
    }
  });
});

describe("in a Worker", () => {
  it("waits there too, and the thread's epoll set is closed with it", async () => {
    const before = openDescriptors();
    // No execArgv: this process's "@linux-ipc/source" condition would have the Worker load TypeScript.
    const worker = new Worker(fileURLToPath(new URL("../../dist-fixtures/read-in-worker.js", import.meta.url)), { execArgv: [] });
    const code = await new Promise<number>((resolve, reject) => {
      worker.on("exit", resolve);
      worker.on("error", reject);
    });
    expect(code).toBe(0);
    expect(openDescriptors()).toEqual(before);
  });
});

describe("FdWaiter", () => {
  it("serves a readable and a writable wait on one descriptor, and rejects what is pending when closed", async () => {
    const [readEnd, writeEnd] = pipe2();
    const reads = new FdWaiter(readEnd);
    const writes = new FdWaiter(writeEnd);
    try {
      await writes.wait("writable");
      const first = reads.wait("readable");
      const second = reads.wait("readable");
      write(writeEnd, "x");
      await Promise.all([first, second]);
      // Readable still (nobody read): the next wait ends on the next turn of the loop.
      await reads.wait("readable");
      const controller = new AbortController();
      const aborted = reads.wait("writable", { signal: controller.signal });
      const pending = writes.wait("readable");
      controller.abort(new Error("stop"));
      await expect(aborted).rejects.toThrow("stop");
      writes.close();
      await expect(pending).rejects.toBeInstanceOf(ClosedDescriptorError);
    } finally {
      reads.close();
      writes.close();
      close(readEnd);
      close(writeEnd);
    }
  });
});
