/**
 * <sys/msg.h>: System V message queues (msgget, msgsnd, msgrcv, msgctl) and `struct msqid_ds`. The
 * object over them, `MessageQueue`, and its async waits are in ipc/message_queue.ts.
 *
 * A queue, like a segment or a semaphore set, outlives every process until it is removed
 * (IPC_RMID); `ipcs -q` lists them. A message is C's `struct msgbuf { long mtype; char mtext[]; }`:
 * `msgbuf(type, bytes)` builds one, and msgsnd/msgrcv take it as C does, with `msgsz` counting the
 * text only.
 */
import { checkInt32, checkInt64, checkKey, checkSize } from "../../ffi/checks.ts";
import { libc } from "../../ffi/libc.ts";
import { defineStruct, type SnapshotOf } from "../../ffi/struct.ts";
import { Errno, check, errnoError } from "../errno.ts";
import { limitError, procLimit } from "../proc_limits.ts";
import { IpcPerm, IPC_STAT, formatKey } from "./ipc.ts";

/** msgrcv flag: truncate a longer message to `msgsz` bytes instead of failing with E2BIG. */
export const MSG_NOERROR = 0o10000;
/** msgrcv flag (Linux): with a type > 0, take the first message whose type differs from it. */
export const MSG_EXCEPT = 0o20000;
/**
 * msgrcv flag (Linux 3.8, kernels built with CONFIG_CHECKPOINT_RESTORE): copy the message at
 * position `msgtyp` (0 is the first) without removing it; needs IPC_NOWAIT, excludes MSG_EXCEPT.
 */
export const MSG_COPY = 0o40000;
/** The size of `mtype` (a C long) at the start of every `struct msgbuf`. */
export const MSGBUF_HEADER_SIZE = 8;

/** glibc's `struct msqid_ds` on 64-bit Linux. */
export const MsqidDs = defineStruct("msqid_ds", {
  msg_perm: { struct: IpcPerm },
  msg_stime: "int64",
  msg_rtime: "int64",
  msg_ctime: "int64",
  __msg_cbytes: "uint64",
  msg_qnum: "uint64",
  msg_qbytes: "uint64",
  msg_lspid: "int32",
  msg_lrpid: "int32",
  __glibc_reserved4: "uint64",
  __glibc_reserved5: "uint64",
});

/** `struct msqid_ds` read into a plain object by `msgStat` (`__msg_cbytes` is the bytes queued now). */
export type MsqidDsSnapshot = SnapshotOf<typeof MsqidDs>;

const msgget_c = libc.func("int msgget(key_t key, int msgflg)");
const msgsnd_c = libc.func("int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)");
const msgrcv_c = libc.func("ssize_t msgrcv(int msqid, _Out_ void *msgp, size_t msgsz, long msgtyp, int msgflg)");
const msgctl_c = libc.func("int msgctl(int msqid, int cmd, void *buf)");

function identified(id: number): { path: string } {
  return { path: `id ${id}` };
}

/**
 * A `struct msgbuf` holding `bytes` with type `type` (> 0, a C long), ready for msgsnd with
 * `msgsz = bytes.length`.
 */
export function msgbuf(type: number, bytes: Uint8Array): Uint8Array {
  checkInt64(type, "type");
  const buffer = new Uint8Array(MSGBUF_HEADER_SIZE + bytes.length);
  new DataView(buffer.buffer).setBigInt64(0, BigInt(type), true);
  buffer.set(bytes, MSGBUF_HEADER_SIZE);
  return buffer;
}

/** The `mtype` of a `struct msgbuf` that msgrcv filled. */
export function msgbufType(buffer: Uint8Array): number {
  return Number(new DataView(buffer.buffer, buffer.byteOffset, MSGBUF_HEADER_SIZE).getBigInt64(0, true));
}

/**
 * msgget(2): the id of the queue for `key`, created as `flags` say (IPC_CREAT, IPC_EXCL, mode).
 *
 * @see https://man7.org/linux/man-pages/man2/msgget.2.html
 */
export function msgget(key: number, flags: number): number {
  key = checkKey(key);
  checkInt32(flags, "flags");
  return check(msgget_c(key, flags) as number, "msgget", { path: `key ${formatKey(key)}` });
}

/**
 * msgsnd(2): sends the `struct msgbuf` `msgp` (see `msgbuf`) whose text is `msgsz` bytes. Throws
 * EAGAIN when IPC_NOWAIT was given and the queue is full, EIDRM when the queue was removed while it
 * waited, EINVAL naming msgmax when `msgsz` passes /proc/sys/kernel/msgmax, and EINTR, having sent
 * nothing, when a signal handler interrupted its sleep (the kernel never restarts msgsnd: signal(7)).
 *
 * @see https://man7.org/linux/man-pages/man2/msgsnd.2.html
 */
export function msgsnd(id: number, msgp: Uint8Array, msgsz: number, flags = 0): void {
  checkInt32(id, "id");
  checkSize(msgsz, "msgsz");
  checkInt32(flags, "flags");
  if (msgp.byteLength < MSGBUF_HEADER_SIZE + msgsz) throw new RangeError(`msgp holds ${msgp.byteLength} bytes, less than the ${MSGBUF_HEADER_SIZE} of mtype and the ${msgsz} of mtext`);
  if ((msgsnd_c(id, msgp, msgsz, flags) as number) === 0) return;
  const error = errnoError("msgsnd", identified(id));
  const msgmax = "/proc/sys/kernel/msgmax";
  if (error.errno === Errno.EINVAL && msgsz > (procLimit(msgmax) ?? Infinity)) throw limitError(error.errno, "msgsnd", identified(id), "the message's size", msgsz, msgmax);
  throw error;
}

/**
 * msgrcv(2): receives into the `struct msgbuf` `msgp` a message of at most `msgsz` text bytes and
 * returns its text's length (its type: `msgbufType(msgp)`). `msgtyp` 0 takes the first message, > 0
 * the first of that type (of another type with MSG_EXCEPT), < 0 the first of the lowest type up to
 * -msgtyp. Throws ENOMSG with IPC_NOWAIT when no message matches, E2BIG when the message is longer
 * than `msgsz` (it stays queued) unless MSG_NOERROR, EIDRM when the queue was removed while it
 * waited, and EINTR as msgsnd does.
 *
 * @see https://man7.org/linux/man-pages/man2/msgrcv.2.html
 */
export function msgrcv(id: number, msgp: Uint8Array, msgsz: number, msgtyp: number, flags = 0): number {
  checkInt32(id, "id");
  checkSize(msgsz, "msgsz");
  checkInt64(msgtyp, "msgtyp");
  checkInt32(flags, "flags");
  if (msgp.byteLength < MSGBUF_HEADER_SIZE + msgsz) throw new RangeError(`msgp holds ${msgp.byteLength} bytes, less than the ${MSGBUF_HEADER_SIZE} of mtype and the ${msgsz} of mtext`);
  return Number(check(msgrcv_c(id, msgp, msgsz, msgtyp, flags) as number | bigint, "msgrcv", identified(id)));
}

/**
 * msgctl(2) with a `struct msqid_ds` buffer (IPC_STAT, IPC_SET) or none (IPC_RMID).
 *
 * @see https://man7.org/linux/man-pages/man2/msgctl.2.html
 */
export function msgctl(id: number, cmd: number, buffer: Uint8Array | null = null): number {
  checkInt32(id, "id");
  checkInt32(cmd, "cmd");
  if (buffer !== null && buffer.byteLength < MsqidDs.size) throw new RangeError(`a struct msqid_ds takes ${MsqidDs.size} bytes, not ${buffer.byteLength}`);
  return check(msgctl_c(id, cmd, buffer) as number, "msgctl", identified(id));
}

/**
 * msgctl(IPC_STAT) read into a plain object.
 *
 * @see https://man7.org/linux/man-pages/man2/msgctl.2.html
 */
export function msgStat(id: number): MsqidDsSnapshot {
  const buffer = new Uint8Array(MsqidDs.size);
  msgctl(id, IPC_STAT, buffer);
  return MsqidDs.read(buffer);
}
