import { afterEach, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { constants } from "node:os";
import { O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR } from "./fcntl.ts";
import { fstat, umask } from "./sys/stat.ts";
import { CLOCK_REALTIME, deadlineTimespec } from "./time.ts";
import { SIGEV_NONE, SIGEV_SIGNAL } from "./signal.ts";
import { mq_close, mq_getattr, mq_notify, mq_open, mq_receive, mq_send, mq_setattr, mq_timedreceive, mq_timedsend, mq_unlink } from "./mqueue.ts";

const names: string[] = [];
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) mq_close(fd);
  for (const name of names.splice(0)) mq_unlink(name);
});

function uniqueName(): string {
  const name = `/linux-ipc-test-${randomUUID()}`;
  names.push(name);
  return name;
}

function opened(fd: number): number {
  fds.push(fd);
  return fd;
}

describe("mq_open and the other calls of <mqueue.h>", () => {
  it("passes the variadic mode and struct mq_attr through to the kernel", () => {
    const previous = umask(0);
    try {
      for (const [mode, maxmsg, msgsize] of [
        [0o640, 3, 100],
        [0o604, 7, 33],
      ] as const) {
        const fd = opened(mq_open(uniqueName(), O_RDWR | O_CREAT | O_EXCL, mode, { mq_maxmsg: maxmsg, mq_msgsize: msgsize }));
        expect(fstat(fd).mode & 0o777).toBe(mode);
        expect(mq_getattr(fd)).toEqual({ mq_flags: 0, mq_maxmsg: maxmsg, mq_msgsize: msgsize, mq_curmsgs: 0 });
      }
    } finally {
      umask(previous);
    }
  });

  it("sends and receives by priority, times out, and switches O_NONBLOCK with mq_setattr", () => {
    const name = uniqueName();
    const fd = opened(mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600, { mq_maxmsg: 2, mq_msgsize: 16 }));
    mq_send(fd, new Uint8Array([1]), 1);
    mq_timedsend(fd, new Uint8Array([9, 9]), 9, deadlineTimespec(CLOCK_REALTIME, 1000));
    expect(() => mq_timedsend(fd, new Uint8Array([3]), 3, deadlineTimespec(CLOCK_REALTIME, 0))).toThrow(expect.objectContaining({ code: "ETIMEDOUT", syscall: "mq_timedsend" }));
    const buffer = new Uint8Array(16);
    expect(mq_receive(fd, buffer)).toEqual({ length: 2, priority: 9 });
    expect(mq_timedreceive(fd, buffer, deadlineTimespec(CLOCK_REALTIME, 1000))).toEqual({ length: 1, priority: 1 });
    expect(() => mq_receive(fd, new Uint8Array(15))).toThrow(expect.objectContaining({ code: "EMSGSIZE", syscall: "mq_receive" }));
    expect(() => mq_send(fd, new Uint8Array(17))).toThrow(expect.objectContaining({ code: "EMSGSIZE", syscall: "mq_send" }));
    expect(mq_setattr(fd, { mq_flags: O_NONBLOCK }).mq_flags).toBe(0);
    expect(mq_getattr(fd).mq_flags).toBe(O_NONBLOCK);
    expect(() => mq_receive(fd, buffer)).toThrow(expect.objectContaining({ code: "EAGAIN", syscall: "mq_receive" }));
  });

  it("registers one notification per queue (SIGEV_NONE, SIGEV_SIGNAL) and gives it up with null", () => {
    const name = uniqueName();
    const fd = opened(mq_open(name, O_RDWR | O_CREAT | O_EXCL));
    const other = opened(mq_open(name, O_RDONLY));
    mq_notify(fd, { notify: SIGEV_NONE });
    expect(() => mq_notify(other, { notify: SIGEV_SIGNAL, signo: 10 })).toThrow(expect.objectContaining({ code: "EBUSY", syscall: "mq_notify" }));
    mq_notify(fd, null);
    mq_notify(other, { notify: SIGEV_SIGNAL, signo: 10 });
    mq_notify(other, null);
  });

  it("delivers a SIGEV_SIGNAL notification to a process.on listener when a message comes to the empty queue", async () => {
    const fd = opened(mq_open(uniqueName(), O_RDWR | O_CREAT | O_EXCL));
    const notified = new Promise<void>((resolve) => process.once("SIGUSR2", () => resolve()));
    mq_notify(fd, { notify: SIGEV_SIGNAL, signo: constants.signals.SIGUSR2 });
    mq_send(fd, new Uint8Array([1]));
    await notified;
    // The registration ended with the notification: another process may register now.
    mq_notify(fd, { notify: SIGEV_NONE });
  });

  it("refuses a name without its leading slash, and names the limit a size passes", () => {
    expect(() => mq_open("orders", O_RDWR | O_CREAT)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE", message: expect.stringMatching(/"\/" and a name without "\/" in it, e.g. "\/orders". Received 'orders'/) }),
    );
    expect(() => mq_unlink("a/b")).toThrow(TypeError);
    const name = `/linux-ipc-test-${randomUUID()}`;
    expect(() => mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600, { mq_maxmsg: 1 << 20, mq_msgsize: 8 })).toThrow(
      /EINVAL: invalid argument, mq_open '\/linux-ipc-test-[^']+' \(mq_maxmsg 1048576 is more than msg_max = \d+, \/proc\/sys\/fs\/mqueue\/msg_max\)/,
    );
    expect(() => mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600, { mq_maxmsg: 1, mq_msgsize: 1 << 30 })).toThrow(
      /\(mq_msgsize 1073741824 is more than msgsize_max = \d+, \/proc\/sys\/fs\/mqueue\/msgsize_max\)/,
    );
    expect(() => mq_open(name, O_RDONLY)).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "mq_open", path: name }));
  });
});
