import { afterEach, describe, expect, it } from "vitest";
import { unusedIpcKey } from "@linux-ipc/testing/vitest";
import { IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, formatKey } from "./ipc.ts";
import { MSGBUF_HEADER_SIZE, MSG_COPY, MSG_EXCEPT, MSG_NOERROR, MsqidDs, msgbuf, msgbufType, msgctl, msgget, msgrcv, msgsnd, msgStat } from "./msg.ts";
import { getpid } from "../unistd.ts";
import { isSystemError } from "../errno.ts";

const ids: number[] = [];
afterEach(() => {
  for (const id of ids.splice(0)) msgctl(id, IPC_RMID);
});

function queue(): number {
  const id = msgget(unusedIpcKey(), IPC_CREAT | IPC_EXCL | 0o600);
  ids.push(id);
  return id;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function receive(id: number, type: number, flags = IPC_NOWAIT, size = 64): { type: number; text: string } {
  const buffer = new Uint8Array(MSGBUF_HEADER_SIZE + size);
  const length = msgrcv(id, buffer, size, type, flags);
  return { type: msgbufType(buffer), text: new TextDecoder().decode(buffer.subarray(MSGBUF_HEADER_SIZE, MSGBUF_HEADER_SIZE + length)) };
}

describe("msgget, msgsnd, msgrcv, msgctl", () => {
  it("selects by type: 0 the first, > 0 that type, < 0 the lowest up to it, MSG_EXCEPT another", () => {
    const id = queue();
    for (const [type, body] of [
      [5, "five"],
      [2, "two"],
      [7, "seven"],
      [2, "two again"],
    ] as const)
      msgsnd(id, msgbuf(type, text(body)), body.length, IPC_NOWAIT);
    expect(receive(id, 7)).toEqual({ type: 7, text: "seven" });
    expect(receive(id, -6)).toEqual({ type: 2, text: "two" });
    expect(receive(id, 2, IPC_NOWAIT | MSG_EXCEPT)).toEqual({ type: 5, text: "five" });
    expect(receive(id, 0)).toEqual({ type: 2, text: "two again" });
    expect(() => receive(id, 0)).toThrow(expect.objectContaining({ code: "ENOMSG", errno: 42, syscall: "msgrcv", path: `id ${id}` }));
  });

  it("copies a message by position with MSG_COPY, leaving the queue as it was", () => {
    const id = queue();
    msgsnd(id, msgbuf(4, text("first")), 5);
    msgsnd(id, msgbuf(6, text("second")), 6);
    let copy: { type: number; text: string };
    try {
      copy = receive(id, 1, IPC_NOWAIT | MSG_COPY);
    } catch (error) {
      // A kernel built without CONFIG_CHECKPOINT_RESTORE has no MSG_COPY.
      if (isSystemError(error, "ENOSYS")) return;
      throw error;
    }
    expect(copy).toEqual({ type: 6, text: "second" });
    expect(() => receive(id, 2, IPC_NOWAIT | MSG_COPY)).toThrow(expect.objectContaining({ code: "ENOMSG" }));
    expect(msgStat(id).msg_qnum).toBe(2);
  });

  it("leaves a longer message queued with E2BIG, truncates it with MSG_NOERROR", () => {
    const id = queue();
    msgsnd(id, msgbuf(1, text("hello world")), 11);
    expect(() => receive(id, 0, IPC_NOWAIT, 5)).toThrow(expect.objectContaining({ code: "E2BIG", syscall: "msgrcv" }));
    expect(receive(id, 0, IPC_NOWAIT | MSG_NOERROR, 5)).toEqual({ type: 1, text: "hello" });
  });

  it("reads and sets struct msqid_ds: counts, limits, pids, key", () => {
    const key = unusedIpcKey();
    const id = msgget(key, IPC_CREAT | IPC_EXCL | 0o640);
    ids.push(id);
    msgsnd(id, msgbuf(3, text("abc")), 3);
    const stat = msgStat(id);
    expect(stat).toMatchObject({ msg_qnum: 1, __msg_cbytes: 3, msg_lspid: getpid(), msg_lrpid: 0 });
    expect(stat.msg_perm).toMatchObject({ __key: key, mode: 0o640 });
    expect(stat.msg_qbytes).toBeGreaterThan(0);
    const buffer = new Uint8Array(MsqidDs.size);
    msgctl(id, IPC_STAT, buffer);
    MsqidDs.at(buffer).msg_qbytes = 1024;
    msgctl(id, IPC_SET, buffer);
    expect(msgStat(id).msg_qbytes).toBe(1024);
    expect(() => msgget(key, IPC_CREAT | IPC_EXCL | 0o600)).toThrow(`EEXIST: file already exists, msgget 'key ${formatKey(key)}'`);
  });

  it("fails with EAGAIN when the queue is full and IPC_NOWAIT is given, and names msgmax past it", () => {
    const id = queue();
    const buffer = new Uint8Array(MsqidDs.size);
    msgctl(id, IPC_STAT, buffer);
    MsqidDs.at(buffer).msg_qbytes = 10;
    msgctl(id, IPC_SET, buffer);
    msgsnd(id, msgbuf(1, new Uint8Array(10)), 10, IPC_NOWAIT);
    expect(() => msgsnd(id, msgbuf(1, new Uint8Array(1)), 1, IPC_NOWAIT)).toThrow(expect.objectContaining({ code: "EAGAIN", syscall: "msgsnd" }));
    expect(() => msgsnd(id, msgbuf(1, new Uint8Array(1 << 20)), 1 << 20)).toThrow(
      /EINVAL: invalid argument, msgsnd 'id \d+' \(the message's size 1048576 is more than msgmax = \d+, \/proc\/sys\/kernel\/msgmax\)/,
    );
    // The note is in the stack's first line too, which is what an uncaught error prints.
    expect(() => msgsnd(id, msgbuf(1, new Uint8Array(1 << 20)), 1 << 20)).toThrow(expect.objectContaining({ stack: expect.stringMatching(/^Error: EINVAL: .*\/proc\/sys\/kernel\/msgmax\)\n/) }));
  });
});
