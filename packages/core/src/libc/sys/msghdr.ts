/**
 * The calls under sendmsg(2) and recvmsg(2), shared by sys/socket.ts (which throws on failure) and
 * ipc/unix_socket.ts (which tries each call with MSG_DONTWAIT and must learn EAGAIN without the cost
 * of building an error): they return the byte count, or -errno. Not part of the public API.
 *
 * One `struct msghdr` and its iovec array are reused for every call (calls are synchronous), and the
 * buffers they point to are kept referenced until the call returns: the header holds only their
 * addresses, which the garbage collector does not see.
 */
import { koffi, lastErrno, libc } from "../../ffi/libc.ts";
import { defineStruct } from "../../ffi/struct.ts";

/** `struct iovec`: one piece of a scattered buffer. */
export const Iovec = defineStruct("iovec", {
  iov_base: "uint64",
  iov_len: "uint64",
});

/** `struct msghdr`, the argument of sendmsg and recvmsg (pointers are 64-bit addresses). */
export const Msghdr = defineStruct("msghdr", {
  msg_name: "uint64",
  msg_namelen: "uint32",
  msg_iov: "uint64",
  msg_iovlen: "uint64",
  msg_control: "uint64",
  msg_controllen: "uint64",
  msg_flags: "int32",
});

const sendmsg_c = libc.func("ssize_t sendmsg(int fd, const void *msg, int flags)");
const recvmsg_c = libc.func("ssize_t recvmsg(int fd, void *msg, int flags)");

const header = new Uint8Array(Msghdr.size);
const headerView = new DataView(header.buffer);
let iov = new Uint8Array(Iovec.size * 4);
let iovView = new DataView(iov.buffer);
const pinned: unknown[] = [];

/** What the last `recvmsgRaw` left in the header: msg_flags, msg_controllen, msg_namelen. */
export const lastReceived = { flags: 0, controlLength: 0, nameLength: 0 };

function fill(data: Uint8Array | readonly Uint8Array[], name: Uint8Array | null, nameLength: number, control: Uint8Array | null): void {
  const pieces: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : data;
  if (pieces.length * Iovec.size > iov.byteLength) {
    iov = new Uint8Array(pieces.length * Iovec.size);
    iovView = new DataView(iov.buffer);
  }
  pinned.push(pieces, name, control);
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    iovView.setBigUint64(i * Iovec.size + Iovec.offsets.iov_base, piece.byteLength === 0 ? 0n : koffi.address(piece), true);
    iovView.setBigUint64(i * Iovec.size + Iovec.offsets.iov_len, BigInt(piece.byteLength), true);
  }
  headerView.setBigUint64(Msghdr.offsets.msg_name, name === null ? 0n : koffi.address(name), true);
  headerView.setUint32(Msghdr.offsets.msg_namelen, nameLength, true);
  headerView.setBigUint64(Msghdr.offsets.msg_iov, koffi.address(iov), true);
  headerView.setBigUint64(Msghdr.offsets.msg_iovlen, BigInt(pieces.length), true);
  const hasControl = control !== null && control.byteLength > 0;
  headerView.setBigUint64(Msghdr.offsets.msg_control, hasControl ? koffi.address(control) : 0n, true);
  headerView.setBigUint64(Msghdr.offsets.msg_controllen, BigInt(hasControl ? control.byteLength : 0), true);
  headerView.setInt32(Msghdr.offsets.msg_flags, 0, true);
}

function outcome(result: number | bigint): number {
  const count = Number(result);
  return count < 0 ? -lastErrno() : count;
}

/**
 * sendmsg(2): the byte count sent, or -errno.
 *
 * @see https://man7.org/linux/man-pages/man2/sendmsg.2.html
 */
export function sendmsgRaw(fd: number, data: Uint8Array | readonly Uint8Array[], name: Uint8Array | null, nameLength: number, control: Uint8Array | null, flags: number): number {
  fill(data, name, nameLength, control);
  try {
    return outcome(sendmsg_c(fd, header, flags) as number | bigint);
  } finally {
    pinned.length = 0;
  }
}

/**
 * recvmsg(2): the byte count received, or -errno; on success `lastReceived` holds the flags and lengths.
 *
 * @see https://man7.org/linux/man-pages/man2/recvmsg.2.html
 */
export function recvmsgRaw(fd: number, data: Uint8Array | readonly Uint8Array[], name: Uint8Array | null, control: Uint8Array | null, flags: number): number {
  fill(data, name, name?.byteLength ?? 0, control);
  let count: number;
  try {
    count = outcome(recvmsg_c(fd, header, flags) as number | bigint);
  } finally {
    pinned.length = 0;
  }
  if (count >= 0) {
    lastReceived.flags = headerView.getInt32(Msghdr.offsets.msg_flags, true);
    lastReceived.controlLength = Number(headerView.getBigUint64(Msghdr.offsets.msg_controllen, true));
    lastReceived.nameLength = headerView.getUint32(Msghdr.offsets.msg_namelen, true);
  }
  return count;
}
