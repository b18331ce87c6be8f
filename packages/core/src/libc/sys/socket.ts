/**
 * <sys/socket.h> for UNIX domain sockets: socket, socketpair, bind, listen, accept4, connect,
 * shutdown, getsockopt/setsockopt, getsockname/getpeername, sendmsg/recvmsg, and the structs they
 * take (`struct msghdr`, `struct cmsghdr` with the CMSG_* arithmetic, `struct ucred`). Addresses are
 * strings (see sys/un.ts): a path, or an abstract name starting with "\0". The objects over them,
 * with async accept/send/receive, are in ipc/unix_socket.ts.
 *
 * Ancillary data is how descriptors and credentials travel: a control buffer of `struct cmsghdr`
 * entries. `controlBuffer([scmRights(fds)])` builds one for sendmsg; `parseControl` reads the one
 * recvmsg filled, and `rightsOf`/`credentialsOf` pick the descriptors and credentials out of it.
 * A receiver whose control buffer is too small for every descriptor sent gets MSG_CTRUNC in the
 * returned flags: the kernel has closed the descriptors that did not fit, without saying how many.
 *
 * @see https://man7.org/linux/man-pages/man7/unix.7.html
 */
import { checkFd, checkInt32 } from "../../ffi/checks.ts";
import { libc } from "../../ffi/libc.ts";
import { defineStruct, type SnapshotOf } from "../../ffi/struct.ts";
import { check, SystemError, type SystemErrorDetails } from "../errno.ts";
import { Iovec, lastReceived, Msghdr, recvmsgRaw, sendmsgRaw } from "./msghdr.ts";
import { AF_LOCAL, AF_UNIX, decodeSockaddrUn, formatSocketAddress, sockaddrUn, SockaddrUn } from "./un.ts";

/** Socket type: a reliable byte stream with connections (message boundaries are not kept). */
export const SOCK_STREAM = 1;
/** Socket type: datagrams, each delivered whole or not at all (reliable and ordered for UNIX sockets). */
export const SOCK_DGRAM = 2;
/** Socket type: connections that keep message boundaries (each recvmsg reads one message). */
export const SOCK_SEQPACKET = 5;
/** Flag or-ed into the type of socket/socketpair/accept4: O_NONBLOCK on the new descriptor. */
export const SOCK_NONBLOCK = 0o4000;
/** Flag or-ed into the type of socket/socketpair/accept4: close the new descriptor on exec. */
export const SOCK_CLOEXEC = 0o2000000;

/** getsockopt/setsockopt level of the options below. */
export const SOL_SOCKET = 1;
/** Socket option (read only): the socket's type (SOCK_STREAM…). */
export const SO_TYPE = 3;
/** Socket option (read only): the pending error, cleared by reading it. */
export const SO_ERROR = 4;
/** Socket option: the send buffer's size in bytes (the kernel doubles what is set). */
export const SO_SNDBUF = 7;
/** Socket option: the receive buffer's size in bytes (the kernel doubles what is set). */
export const SO_RCVBUF = 8;
/** Socket option (int 0/1): receive each message's SCM_CREDENTIALS (pid, uid, gid of its sender). */
export const SO_PASSCRED = 16;
/** Socket option (read only, `struct ucred`): the peer's pid, uid and gid when it connected (or made the socketpair). */
export const SO_PEERCRED = 17;
/** Socket option (read only, int 0/1): whether the socket listens. */
export const SO_ACCEPTCONN = 30;

/** Control message type (level SOL_SOCKET): an array of descriptors (`int`). */
export const SCM_RIGHTS = 1;
/** Control message type (level SOL_SOCKET): a `struct ucred`. */
export const SCM_CREDENTIALS = 2;
/** The most descriptors one message can carry (the kernel's SCM_MAX_FD). */
export const SCM_MAX_FD = 253;

/** send/recv flag: look at the data without taking it. */
export const MSG_PEEK = 0x02;
/** recvmsg result flag: the control buffer was too small; what did not fit was dropped (descriptors closed). */
export const MSG_CTRUNC = 0x08;
/** recvmsg result flag: the datagram or record was longer than the buffer; the rest was dropped. */
export const MSG_TRUNC = 0x20;
/** send/recv flag: this call does not block (EAGAIN instead), whatever the descriptor's O_NONBLOCK. */
export const MSG_DONTWAIT = 0x40;
/** recvmsg result flag (SOCK_SEQPACKET): this read ended a record. */
export const MSG_EOR = 0x80;
/** recv flag: wait for the whole buffer on a stream socket. */
export const MSG_WAITALL = 0x100;
/** send flag: no SIGPIPE when the peer has gone (EPIPE comes back either way). */
export const MSG_NOSIGNAL = 0x4000;
/** recvmsg flag: the descriptors received through SCM_RIGHTS are close-on-exec. */
export const MSG_CMSG_CLOEXEC = 0x40000000;

/** shutdown: no more receptions. */
export const SHUT_RD = 0;
/** shutdown: no more transmissions (the peer reads end of file). */
export const SHUT_WR = 1;
/** shutdown: neither. */
export const SHUT_RDWR = 2;
/** The largest listen backlog the kernel takes by default (/proc/sys/net/core/somaxconn may say more). */
export const SOMAXCONN = 4096;

/** `struct cmsghdr`, the header of each control message; its data follows at CMSG_LEN(0). */
export const Cmsghdr = defineStruct("cmsghdr", {
  cmsg_len: "uint64",
  cmsg_level: "int32",
  cmsg_type: "int32",
});

/** `struct ucred`: a process's pid, uid and gid, as SO_PEERCRED and SCM_CREDENTIALS carry them. */
export const Ucred = defineStruct("ucred", {
  pid: "int32",
  uid: "uint32",
  gid: "uint32",
});

/** A `struct ucred` as a plain object. */
export type UcredSnapshot = SnapshotOf<typeof Ucred>;

const SIZE_T_ALIGN = 8;
const INT_SIZE = 4;

/**
 * CMSG_ALIGN: `length` rounded up to the alignment of control messages (that of size_t).
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function CMSG_ALIGN(length: number): number {
  return (length + SIZE_T_ALIGN - 1) & ~(SIZE_T_ALIGN - 1);
}

/**
 * CMSG_LEN: the `cmsg_len` of a control message carrying `dataLength` bytes (header and data, no trailing padding).
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function CMSG_LEN(dataLength: number): number {
  return CMSG_ALIGN(Cmsghdr.size) + dataLength;
}

/**
 * CMSG_SPACE: the room a control message carrying `dataLength` bytes takes in a control buffer, padding included.
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function CMSG_SPACE(dataLength: number): number {
  return CMSG_ALIGN(Cmsghdr.size) + CMSG_ALIGN(dataLength);
}

/**
 * The room in a control buffer for `count` descriptors: CMSG_SPACE(count * sizeof(int)).
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function rightsSpace(count: number): number {
  return CMSG_SPACE(count * INT_SIZE);
}

/** The room in a control buffer for one `struct ucred`. */
export const CREDENTIALS_SPACE: number = CMSG_SPACE(Ucred.size);

/** One control message: its level, type and data bytes. */
export interface ControlMessage {
  /** `cmsg_level`: SOL_SOCKET for the two below. */
  readonly level: number;
  /** `cmsg_type`: SCM_RIGHTS, SCM_CREDENTIALS. */
  readonly type: number;
  /** The data after the header (`cmsg_len - CMSG_LEN(0)` bytes). */
  readonly data: Uint8Array;
}

/**
 * An SCM_RIGHTS control message carrying `fds` (1 to SCM_MAX_FD descriptors).
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function scmRights(fds: readonly number[]): ControlMessage {
  if (fds.length === 0 || fds.length > SCM_MAX_FD) throw new RangeError(`one message carries 1 to ${SCM_MAX_FD} descriptors, not ${fds.length}`);
  const data = new Uint8Array(fds.length * INT_SIZE);
  const view = new DataView(data.buffer);
  for (const [i, fd] of fds.entries()) view.setInt32(i * INT_SIZE, checkFd(fd, `fds[${i}]`), true);
  return { level: SOL_SOCKET, type: SCM_RIGHTS, data };
}

/**
 * An SCM_CREDENTIALS control message. The kernel checks it: a process may send its own pid, uid and
 * gid (or, with CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, others); anything else fails with EPERM.
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function scmCredentials(credentials: UcredSnapshot): ControlMessage {
  const data = new Uint8Array(Ucred.size);
  const view = Ucred.at(data);
  view.pid = credentials.pid;
  view.uid = credentials.uid;
  view.gid = credentials.gid;
  return { level: SOL_SOCKET, type: SCM_CREDENTIALS, data };
}

/**
 * A control buffer holding `messages` one after another, each at CMSG_SPACE of its data, for sendmsg.
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function controlBuffer(messages: readonly ControlMessage[]): Uint8Array {
  const buffer = new Uint8Array(messages.reduce((total, message) => total + CMSG_SPACE(message.data.byteLength), 0));
  let offset = 0;
  for (const message of messages) {
    const header = Cmsghdr.at(buffer, offset);
    header.cmsg_len = CMSG_LEN(message.data.byteLength);
    header.cmsg_level = message.level;
    header.cmsg_type = message.type;
    buffer.set(message.data, offset + CMSG_LEN(0));
    offset += CMSG_SPACE(message.data.byteLength);
  }
  return buffer;
}

/**
 * The control messages in the first `length` bytes of `control` (recvmsg's `controlLength`), walked
 * as CMSG_FIRSTHDR and CMSG_NXTHDR do. Their data are views into `control`, not copies.
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function parseControl(control: Uint8Array, length: number): ControlMessage[] {
  const messages: ControlMessage[] = [];
  const end = Math.min(length, control.byteLength);
  const view = new DataView(control.buffer, control.byteOffset, control.byteLength);
  for (let offset = 0; offset + Cmsghdr.size <= end; ) {
    const cmsgLength = Number(view.getBigUint64(offset + Cmsghdr.offsets.cmsg_len, true));
    if (cmsgLength < CMSG_LEN(0) || offset + cmsgLength > end) break;
    messages.push({
      level: view.getInt32(offset + Cmsghdr.offsets.cmsg_level, true),
      type: view.getInt32(offset + Cmsghdr.offsets.cmsg_type, true),
      data: control.subarray(offset + CMSG_LEN(0), offset + cmsgLength),
    });
    offset += CMSG_ALIGN(cmsgLength);
  }
  return messages;
}

/**
 * Every descriptor that SCM_RIGHTS messages among `messages` carried, in order.
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function rightsOf(messages: readonly ControlMessage[]): number[] {
  const fds: number[] = [];
  for (const message of messages) {
    if (message.level !== SOL_SOCKET || message.type !== SCM_RIGHTS) continue;
    const view = new DataView(message.data.buffer, message.data.byteOffset, message.data.byteLength);
    for (let at = 0; at + INT_SIZE <= message.data.byteLength; at += INT_SIZE) fds.push(view.getInt32(at, true));
  }
  return fds;
}

/**
 * The credentials of the SCM_CREDENTIALS message among `messages`, or null if there is none.
 *
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function credentialsOf(messages: readonly ControlMessage[]): UcredSnapshot | null {
  const message = messages.find((m) => m.level === SOL_SOCKET && m.type === SCM_CREDENTIALS && m.data.byteLength >= Ucred.size);
  if (message === undefined) return null;
  const view = new DataView(message.data.buffer, message.data.byteOffset, Ucred.size);
  return { pid: view.getInt32(Ucred.offsets.pid, true), uid: view.getUint32(Ucred.offsets.uid, true), gid: view.getUint32(Ucred.offsets.gid, true) };
}

const socket_c = libc.func("int socket(int domain, int type, int protocol)");
const socketpair_c = libc.func("int socketpair(int domain, int type, int protocol, _Out_ int *sv)");
const bind_c = libc.func("int bind(int fd, const void *addr, uint32_t addrlen)");
const listen_c = libc.func("int listen(int fd, int backlog)");
const accept4_c = libc.func("int accept4(int fd, void *addr, void *addrlen, int flags)");
const connect_c = libc.func("int connect(int fd, const void *addr, uint32_t addrlen)");
const shutdown_c = libc.func("int shutdown(int fd, int how)");
const getsockopt_c = libc.func("int getsockopt(int fd, int level, int optname, void *optval, _Inout_ uint32_t *optlen)");
const setsockopt_c = libc.func("int setsockopt(int fd, int level, int optname, const void *optval, uint32_t optlen)");
const getsockname_c = libc.func("int getsockname(int fd, void *addr, _Inout_ uint32_t *addrlen)");
const getpeername_c = libc.func("int getpeername(int fd, void *addr, _Inout_ uint32_t *addrlen)");

function at(address: string): SystemErrorDetails {
  return { path: formatSocketAddress(address) };
}

/**
 * socket(2): a new socket's descriptor. `type` is SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM, or-ed
 * with SOCK_CLOEXEC and SOCK_NONBLOCK as wanted.
 *
 * @see https://man7.org/linux/man-pages/man2/socket.2.html
 */
export function socket(domain: number, type: number, protocol = 0): number {
  checkInt32(domain, "domain");
  checkInt32(type, "type");
  checkInt32(protocol, "protocol");
  return check(socket_c(domain, type, protocol) as number, "socket");
}

/**
 * socketpair(2): two sockets connected to each other, unnamed; what one sends the other receives.
 * The usual way to give a child process a channel (it inherits one end).
 *
 * @see https://man7.org/linux/man-pages/man2/socketpair.2.html
 */
export function socketpair(domain: number, type: number, protocol = 0): [number, number] {
  checkInt32(domain, "domain");
  checkInt32(type, "type");
  checkInt32(protocol, "protocol");
  const sv = [0, 0];
  check(socketpair_c(domain, type, protocol, sv) as number, "socketpair");
  return [sv[0]!, sv[1]!];
}

/**
 * bind(2) to a UNIX address: a filesystem path (the socket file is created there, and fails with
 * EADDRINUSE if anything exists at the path: bind never follows a symbolic link) or an abstract name
 * "\0name".
 *
 * @see https://man7.org/linux/man-pages/man2/bind.2.html
 */
export function bind(fd: number, address: string): void {
  checkFd(fd);
  const encoded = sockaddrUn(address);
  check(bind_c(fd, encoded.bytes, encoded.length) as number, "bind", at(address));
}

/**
 * listen(2): marks a bound stream or seqpacket socket as accepting connections, `backlog` of them
 * waiting at most (a client's connect blocks, or fails with EAGAIN when non-blocking, past it).
 *
 * @see https://man7.org/linux/man-pages/man2/listen.2.html
 */
export function listen(fd: number, backlog = SOMAXCONN): void {
  checkFd(fd);
  checkInt32(backlog, "backlog");
  check(listen_c(fd, backlog) as number, "listen");
}

/**
 * accept4(2): the descriptor of the next connection waiting on the listening socket `fd` (blocks
 * while none waits, unless the socket is non-blocking: EAGAIN). `flags`: SOCK_CLOEXEC, SOCK_NONBLOCK.
 *
 * @see https://man7.org/linux/man-pages/man2/accept4.2.html
 */
export function accept4(fd: number, flags = SOCK_CLOEXEC): number {
  checkFd(fd);
  checkInt32(flags, "flags");
  return check(accept4_c(fd, null, null, flags) as number, "accept4");
}

/**
 * connect(2) to a UNIX address. ECONNREFUSED: nothing listens there (a socket file left by a process
 * that died, or a name nobody bound); ENOENT: no file at the path; EAGAIN: the listener's backlog is
 * full and `fd` is non-blocking. A path that is a symbolic link is followed, as by open(2).
 *
 * @see https://man7.org/linux/man-pages/man2/connect.2.html
 */
export function connect(fd: number, address: string): void {
  checkFd(fd);
  const encoded = sockaddrUn(address);
  check(connect_c(fd, encoded.bytes, encoded.length) as number, "connect", at(address));
}

/**
 * shutdown(2): stops receptions (SHUT_RD), transmissions (SHUT_WR: the peer then reads end of file)
 * or both, for every descriptor of the socket, unlike close(2).
 *
 * @see https://man7.org/linux/man-pages/man2/shutdown.2.html
 */
export function shutdown(fd: number, how: number): void {
  checkFd(fd);
  checkInt32(how, "how");
  check(shutdown_c(fd, how) as number, "shutdown");
}

/**
 * getsockopt(2) into `buffer`: returns the option's length (`optlen` as the kernel left it).
 *
 * @see https://man7.org/linux/man-pages/man2/getsockopt.2.html
 */
export function getsockopt(fd: number, level: number, name: number, buffer: Uint8Array): number {
  checkFd(fd);
  checkInt32(level, "level");
  checkInt32(name, "name");
  const length = [buffer.byteLength];
  check(getsockopt_c(fd, level, name, buffer, length) as number, "getsockopt");
  return length[0]!;
}

/**
 * getsockopt(2) of an `int` option (SO_TYPE, SO_ERROR, SO_PASSCRED, SO_SNDBUF…).
 *
 * @see https://man7.org/linux/man-pages/man2/getsockopt.2.html
 */
export function getsockoptInt(fd: number, level: number, name: number): number {
  const buffer = new Uint8Array(INT_SIZE);
  getsockopt(fd, level, name, buffer);
  return new DataView(buffer.buffer).getInt32(0, true);
}

/**
 * setsockopt(2) with an `int` value or the bytes of a struct.
 *
 * @see https://man7.org/linux/man-pages/man2/setsockopt.2.html
 */
export function setsockopt(fd: number, level: number, name: number, value: number | Uint8Array): void {
  checkFd(fd);
  checkInt32(level, "level");
  checkInt32(name, "name");
  let bytes: Uint8Array;
  if (typeof value === "number") {
    bytes = new Uint8Array(INT_SIZE);
    new DataView(bytes.buffer).setInt32(0, checkInt32(value, "value"), true);
  } else {
    bytes = value;
  }
  check(setsockopt_c(fd, level, name, bytes, bytes.byteLength) as number, "setsockopt");
}

/**
 * getsockopt(SO_PEERCRED): the pid, uid and gid of the process at the other end, as the kernel
 * recorded them when it connected (or when the socketpair was made). A peer cannot lie about them.
 *
 * @see https://man7.org/linux/man-pages/man7/unix.7.html (SO_PEERCRED)
 */
export function peerCredentials(fd: number): UcredSnapshot {
  const buffer = new Uint8Array(Ucred.size);
  getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buffer);
  return Ucred.read(buffer);
}

function nameOf(call: typeof getsockname_c, syscall: string, fd: number): string {
  checkFd(fd);
  const bytes = new Uint8Array(SockaddrUn.size);
  const length = [bytes.byteLength];
  check(call(fd, bytes, length) as number, syscall);
  return decodeSockaddrUn(bytes, length[0]!);
}

/**
 * getsockname(2): the address `fd` is bound to ("" if unnamed, "\0name" if abstract).
 *
 * @see https://man7.org/linux/man-pages/man2/getsockname.2.html
 */
export function getsockname(fd: number): string {
  return nameOf(getsockname_c, "getsockname", fd);
}

/**
 * getpeername(2): the address of the socket `fd` is connected to ("" if the peer is unnamed).
 *
 * @see https://man7.org/linux/man-pages/man2/getpeername.2.html
 */
export function getpeername(fd: number): string {
  return nameOf(getpeername_c, "getpeername", fd);
}

/** What sendmsg sends. */
export interface OutgoingMessage {
  /** The data: one buffer or several, gathered in order (msg_iov). */
  readonly data: Uint8Array | readonly Uint8Array[];
  /** The destination of a datagram on an unconnected socket (msg_name). */
  readonly address?: string;
  /** Ancillary data, as `controlBuffer` builds it (msg_control). */
  readonly control?: Uint8Array;
}

/** Where recvmsg receives. */
export interface IncomingMessage {
  /** The buffer, or several filled in order (msg_iov). */
  readonly data: Uint8Array | readonly Uint8Array[];
  /** Room for ancillary data (msg_control): e.g. `rightsSpace(n) + CREDENTIALS_SPACE` bytes. */
  readonly control?: Uint8Array;
  /** Whether to ask for the sender's address (msg_name; useful on datagram sockets). */
  readonly address?: boolean;
}

/** What recvmsg reports. */
export interface ReceivedMessage {
  /** The byte count received; 0 at end of file on a stream (or an empty datagram). */
  readonly bytes: number;
  /** msg_flags: MSG_CTRUNC, MSG_TRUNC, MSG_EOR. */
  readonly flags: number;
  /** How many bytes of the control buffer the kernel filled (for `parseControl`). */
  readonly controlLength: number;
  /** The sender's address when asked for ("" if unnamed). */
  readonly address?: string;
}

/**
 * sendmsg(2): sends `message.data` with its ancillary data (descriptors, credentials) and returns
 * the byte count sent. On a stream socket the ancillary data travel with the first byte sent, so
 * there must be one (a message with descriptors and no data sends nothing there). `flags`:
 * MSG_DONTWAIT, MSG_NOSIGNAL.
 *
 * @see https://man7.org/linux/man-pages/man2/sendmsg.2.html
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function sendmsg(fd: number, message: OutgoingMessage, flags = 0): number {
  checkFd(fd);
  checkInt32(flags, "flags");
  const name = message.address === undefined ? null : sockaddrUn(message.address);
  const sent = sendmsgRaw(fd, message.data, name?.bytes ?? null, name?.length ?? 0, message.control ?? null, flags);
  if (sent < 0) throw new SystemError(-sent, "sendmsg", message.address === undefined ? undefined : at(message.address));
  return sent;
}

/**
 * recvmsg(2): receives into `message.data` and `message.control` and returns the byte count, the
 * result flags and the length of the control data. MSG_CTRUNC in `flags` means the control buffer was
 * too small: descriptors that did not fit were closed by the kernel. `flags` in: MSG_DONTWAIT,
 * MSG_PEEK, MSG_WAITALL, MSG_CMSG_CLOEXEC (descriptors received close-on-exec).
 *
 * @see https://man7.org/linux/man-pages/man2/recvmsg.2.html
 * @see https://man7.org/linux/man-pages/man3/cmsg.3.html
 */
export function recvmsg(fd: number, message: IncomingMessage, flags = 0): ReceivedMessage {
  checkFd(fd);
  checkInt32(flags, "flags");
  const name = message.address === true ? new Uint8Array(SockaddrUn.size) : null;
  const bytes = recvmsgRaw(fd, message.data, name, message.control ?? null, flags);
  if (bytes < 0) throw new SystemError(-bytes, "recvmsg");
  const received = { bytes, flags: lastReceived.flags, controlLength: lastReceived.controlLength };
  return name === null ? received : { ...received, address: decodeSockaddrUn(name, lastReceived.nameLength) };
}

/** The address family of UNIX domain sockets (defined in sys/un.ts), re-exported as C's <sys/socket.h> does. */
export { AF_UNIX, AF_LOCAL };
/** `struct iovec` and `struct msghdr` (defined beside the calls that use them). */
export { Iovec, Msghdr };
