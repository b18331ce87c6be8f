/**
 * UNIX domain sockets as objects: `UnixListener` (bound to a path or an abstract name, async
 * `accept`) and `UnixSocket` (connected: async `send` of bytes with descriptors, async `receive` of
 * bytes, descriptors and the sender's credentials). Both own their descriptor and wait on it through
 * one libuv poll handle (see WAITING-fds.md); every call is tried first with MSG_DONTWAIT, so no flag
 * of the descriptor is changed for it, and nothing waits in libuv's thread pool.
 *
 * Descriptors are received close-on-exec (MSG_CMSG_CLOEXEC) and always with room for the most one
 * message can carry (SCM_MAX_FD), so the kernel never drops any silently: a receiver that asked for
 * fewer gets a `DescriptorsDroppedError` naming how many there were, and none of them stays open.
 *
 * A listener on a filesystem path owns the socket file: `close()` unlinks it, if it is still the file
 * this listener created. A socket file left by a process that died (connect refused) is replaced; a
 * symbolic link, or anything else that is not a socket, is never followed or removed.
 *
 * @see https://man7.org/linux/man-pages/man7/unix.7.html
 */
import { fchmodSync, lstatSync } from "node:fs";
import { Socket } from "node:net";
import { Errno, isSystemError, SystemError } from "../libc/errno.ts";
import { setNonBlocking } from "../libc/fcntl.ts";
import {
  accept4,
  bind,
  connect,
  controlBuffer,
  credentialsOf,
  CREDENTIALS_SPACE,
  getsockname,
  getsockoptInt,
  listen,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_TRUNC,
  parseControl,
  peerCredentials,
  rightsOf,
  rightsSpace,
  scmRights,
  SCM_MAX_FD,
  setsockopt,
  shutdown,
  socket,
  socketpair,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SOMAXCONN,
  SO_PASSCRED,
  SO_TYPE,
  type UcredSnapshot,
} from "../libc/sys/socket.ts";
import { lastReceived, recvmsgRaw, sendmsgRaw } from "../libc/sys/msghdr.ts";
import { AF_UNIX, formatSocketAddress, isAbstract } from "../libc/sys/un.ts";
import { close, unlink } from "../libc/unistd.ts";
import { ClosedDescriptorError, FdWaiter, WOULD_BLOCK } from "./poll.ts";
import { retryWithBackoff, WaitTimeoutError } from "./timeouts.ts";

/** Options of the waiting calls. */
export interface SocketWaitOptions {
  /** Stops waiting: the call rejects with the signal's reason (`AbortSignal.timeout(ms)` for a timeout). */
  signal?: AbortSignal;
}

/** Options of `UnixSocket.send`. */
export interface SendOptions extends SocketWaitOptions {
  /** Descriptors to pass with the data (SCM_RIGHTS): the receiver gets its own copies; these stay open here. */
  fds?: readonly number[];
}

/** Options of `UnixSocket.receive`. */
export interface ReceiveOptions extends SocketWaitOptions {
  /** The most bytes to receive (default 65536). A longer record of a seqpacket socket is an error. */
  maxBytes?: number;
  /** How many descriptors this receiver takes (default SCM_MAX_FD, 253): more is a DescriptorsDroppedError. */
  maxFds?: number;
}

/** What `UnixSocket.receive` returns. */
export interface ReceivedData {
  /** The bytes; empty at end of file (the peer closed or shut down its writing side). */
  readonly data: Buffer;
  /** The descriptors that came with them, close-on-exec: the caller owns and closes them. */
  readonly fds: number[];
  /** The sender's pid, uid and gid as the kernel attached them (SCM_CREDENTIALS), when it did. */
  readonly credentials: UcredSnapshot | null;
}

/**
 * Thrown by `receive` when a message brought more descriptors than the receiver asked for (the case
 * where C's recvmsg reports MSG_CTRUNC and closes the extra ones). Every descriptor of the message
 * has been closed; the bytes that came with it are in `data`.
 */
export class DescriptorsDroppedError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_DESCRIPTORS_DROPPED";
  /** How many descriptors the message carried (null if the kernel truncated them and did not say). */
  readonly sent: number | null;
  /** How many the receiver had asked for. */
  readonly slots: number;
  /** How many did not fit (null if unknown). */
  readonly dropped: number | null;
  /** The bytes that came with the descriptors. */
  readonly data: Buffer;
  constructor(sent: number | null, slots: number, data: Buffer) {
    const dropped = sent === null ? null : sent - slots;
    super(
      sent === null
        ? `recvmsg: descriptors were dropped (MSG_CTRUNC): the kernel truncated the control data; every descriptor that arrived has been closed`
        : `recvmsg: ${dropped} descriptor${dropped === 1 ? " was" : "s were"} dropped (MSG_CTRUNC): the message carried ${sent}, the receiver had room for ${slots}; all ${sent} have been closed`,
    );
    this.sent = sent;
    this.slots = slots;
    this.dropped = dropped;
    this.data = data;
  }
}

/** Thrown by `receive` on a seqpacket or datagram socket when a record was longer than `maxBytes`. */
export class RecordTruncatedError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_RECORD_TRUNCATED";
  /** The bytes that fit (the rest of the record is lost, as the kernel discards it). */
  readonly data: Buffer;
  constructor(maxBytes: number, data: Buffer) {
    super(`recvmsg: a record longer than ${maxBytes} bytes was cut to ${maxBytes} (MSG_TRUNC); receive with a larger maxBytes`);
    this.data = data;
  }
}

const EAGAIN = Errno.EAGAIN!;
const EINTR = Errno.EINTR!;
const SEND_FLAGS = MSG_DONTWAIT | MSG_NOSIGNAL;
const RECEIVE_FLAGS = MSG_DONTWAIT | MSG_CMSG_CLOEXEC;

function closeAll(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      close(fd);
    } catch {
      // Closing a descriptor just received cannot fail for a reason the caller could act on.
    }
  }
}

/**
 * A connected UNIX socket (stream, seqpacket or datagram) that it owns: from `UnixSocket.connect`,
 * `UnixListener.accept`, `UnixSocket.pair`, or a descriptor handed over with `new UnixSocket(fd)` (one
 * a parent passed, say). Messages it receives carry their sender's credentials (SO_PASSCRED is set).
 */
export class UnixSocket implements Disposable {
  readonly #fd: number;
  readonly #waiter: FdWaiter;
  /** Room for every descriptor one message may carry, and the credentials. */
  readonly #control = new Uint8Array(rightsSpace(SCM_MAX_FD) + CREDENTIALS_SPACE);
  /** Where each receive lands before its bytes are copied out (grown to the largest maxBytes asked). */
  #scratch = new Uint8Array(65536);
  #handedOver = false;

  /**
   * Takes `fd` (a connected UNIX socket) over: this object closes it. If it throws (ENOTSOCK for a
   * descriptor that is not a socket), the descriptor is still the caller's.
   */
  constructor(fd: number) {
    this.#waiter = new FdWaiter(fd);
    this.#fd = fd;
    try {
      setsockopt(fd, SOL_SOCKET, SO_PASSCRED, 1);
    } catch (error) {
      this.#waiter.close();
      throw error;
    }
  }

  /**
   * socketpair(2): two connected sockets of `type` (SOCK_STREAM by default, SOCK_SEQPACKET, SOCK_DGRAM),
   * close-on-exec. To give one end to a child, pass `pair[1].fd` to `spawnWithFds` and close it here
   * afterwards.
   *
   * @see https://man7.org/linux/man-pages/man2/socketpair.2.html
   */
  static pair(type: number = SOCK_STREAM): [UnixSocket, UnixSocket] {
    const [a, b] = socketpair(AF_UNIX, type | SOCK_CLOEXEC);
    let first: UnixSocket | undefined;
    try {
      first = new UnixSocket(a);
      return [first, new UnixSocket(b)];
    } catch (error) {
      if (first === undefined) closeAll([a]);
      else first.close();
      closeAll([b]);
      throw error;
    }
  }

  /**
   * Connects to the listener at `address` (a path, or "\0name"). A full backlog is retried (1 ms
   * doubling to 20 ms) until `timeoutMs` or the signal; ECONNREFUSED (nothing listens: a socket file
   * left by a server that died) and ENOENT are thrown at once.
   *
   * @see https://man7.org/linux/man-pages/man2/connect.2.html
   */
  static async connect(address: string, options: SocketWaitOptions & { type?: number; timeoutMs?: number } = {}): Promise<UnixSocket> {
    const fd = socket(AF_UNIX, (options.type ?? SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK);
    try {
      const tryConnect = (): true | undefined => {
        try {
          connect(fd, address);
          return true;
        } catch (error) {
          if (isSystemError(error, "EAGAIN")) return undefined;
          throw error;
        }
      };
      if (tryConnect() === undefined && (await retryWithBackoff(tryConnect, options)) === undefined) {
        throw new WaitTimeoutError(`connecting to ${formatSocketAddress(address)} (its listener's backlog stayed full)`, options.timeoutMs ?? 0);
      }
      // Blocking again, as accepted sockets are: a child or C peer given it gets what it expects.
      setNonBlocking(fd, false);
      return new UnixSocket(fd);
    } catch (error) {
      closeAll([fd]);
      throw error;
    }
  }

  /** The descriptor, for calls this class does not make. Never close it directly. */
  get fd(): number {
    return this.#fd;
  }

  /** Whether `close` (or `toNetSocket`) has been called. */
  get closed(): boolean {
    return this.#waiter.closed;
  }

  /** The socket's type: SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM. */
  get type(): number {
    return getsockoptInt(this.#open(), SOL_SOCKET, SO_TYPE);
  }

  /**
   * SO_PEERCRED: the pid, uid and gid of the process at the other end, recorded by the kernel when it
   * connected (or made the pair): what a server checks before trusting a client.
   */
  peerCredentials(): UcredSnapshot {
    return peerCredentials(this.#open());
  }

  /**
   * Sends every byte of `data` (a string as UTF-8), with `fds` passed alongside (SCM_RIGHTS, at most
   * SCM_MAX_FD; they travel with the first byte, so `data` must not be empty then). On a seqpacket or
   * datagram socket `data` is one record, sent whole. Waits for room when the peer's buffer is full.
   * EPIPE when the peer has closed.
   *
   * @see https://man7.org/linux/man-pages/man2/sendmsg.2.html
   */
  async send(data: Uint8Array | string, options: SendOptions = {}): Promise<void> {
    let bytes: Uint8Array = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    const fds = options.fds ?? [];
    if (fds.length > 0 && bytes.byteLength === 0) throw new RangeError("descriptors travel with at least one byte of data: send a byte with them");
    let control: Uint8Array | undefined = fds.length > 0 ? controlBuffer([scmRights(fds)]) : undefined;
    const fd = this.#open();
    const attempt = (): number => {
      for (;;) {
        const sent = sendmsgRaw(fd, bytes, null, 0, control ?? null, SEND_FLAGS);
        if (sent >= 0) return sent;
        if (sent === -EAGAIN) return WOULD_BLOCK;
        if (sent !== -EINTR) throw new SystemError(-sent, "sendmsg");
      }
    };
    // A record socket sends everything or nothing; a stream may take part, and the rest follows.
    for (;;) {
      let sent = attempt();
      if (sent === WOULD_BLOCK) sent = await this.#waiter.attempt("writable", attempt, options);
      control = undefined;
      bytes = bytes.subarray(sent);
      if (bytes.byteLength === 0) return;
      this.#open();
    }
  }

  /**
   * Receives what has come: on a stream, up to `maxBytes` of what is there (at least one byte, or
   * empty at end of file); on a seqpacket or datagram socket, one record. With the bytes come the
   * descriptors sent with them (close-on-exec, the caller's to close) and the sender's credentials.
   *
   * @see https://man7.org/linux/man-pages/man2/recvmsg.2.html
   */
  async receive(options: ReceiveOptions = {}): Promise<ReceivedData> {
    const { maxBytes = 65536, maxFds = SCM_MAX_FD } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, not ${maxBytes}`);
    const fd = this.#open();
    if (this.#scratch.byteLength < maxBytes) this.#scratch = new Uint8Array(maxBytes);
    const scratch = this.#scratch.subarray(0, maxBytes);
    let result: ReceivedData | Error | undefined;
    const attempt = (): number => {
      let count: number;
      do count = recvmsgRaw(fd, scratch, null, this.#control, RECEIVE_FLAGS);
      while (count === -EINTR);
      if (count === -EAGAIN) return WOULD_BLOCK;
      if (count < 0) throw new SystemError(-count, "recvmsg");
      // A copy of what came, so the scratch buffer serves the next call.
      const data = Buffer.from(scratch.subarray(0, count));
      const { flags, controlLength } = lastReceived;
      const messages = controlLength === 0 ? [] : parseControl(this.#control, controlLength);
      const fds = rightsOf(messages);
      if ((flags & MSG_CTRUNC) !== 0 || fds.length > maxFds) {
        closeAll(fds);
        result = new DescriptorsDroppedError((flags & MSG_CTRUNC) !== 0 ? null : fds.length, maxFds, data);
      } else if ((flags & MSG_TRUNC) !== 0) {
        closeAll(fds);
        result = new RecordTruncatedError(maxBytes, data);
      } else {
        result = { data, fds, credentials: credentialsOf(messages) };
      }
      return count;
    };
    if (attempt() === WOULD_BLOCK) await this.#waiter.attempt("readable", attempt, options);
    if (result instanceof Error) throw result;
    return result!;
  }

  /**
   * shutdown(2): SHUT_WR tells the peer there is no more to read (it reads end of file) while this
   * side can still receive; SHUT_RD, SHUT_RDWR.
   *
   * @see https://man7.org/linux/man-pages/man2/shutdown.2.html
   */
  shutdown(how: number): void {
    shutdown(this.#open(), how);
  }

  /**
   * Hands a stream socket to Node as a `net.Socket`, for plain byte traffic (pipes, `readline`,
   * `stream.pipeline`) once the descriptors have been exchanged. The net.Socket owns the descriptor
   * from then on (destroy it to close it); this object counts as closed, and its pending calls end
   * with ClosedDescriptorError. Node makes the descriptor non-blocking.
   */
  toNetSocket(): Socket {
    const fd = this.#open();
    const type = getsockoptInt(fd, SOL_SOCKET, SO_TYPE);
    if (type !== SOCK_STREAM) throw new TypeError(`only a SOCK_STREAM socket can become a net.Socket (this one is of type ${type})`);
    // libuv takes the number for its own handle: ours must be gone first (see poll.ts).
    this.#waiter.close();
    this.#handedOver = true;
    return new Socket({ fd, readable: true, writable: true });
  }

  /** Ends the pending calls, then closes the descriptor. Idempotent. */
  close(): void {
    if (this.#waiter.closed) return;
    this.#waiter.close();
    if (!this.#handedOver) close(this.#fd);
  }

  /** Closes it, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(): number {
    if (this.#waiter.closed) throw new ClosedDescriptorError(this.#fd);
    return this.#fd;
  }
}

/** Options of `UnixListener.listen`. */
export interface ListenOptions {
  /** SOCK_STREAM (default) or SOCK_SEQPACKET. */
  type?: number;
  /** How many connections may wait to be accepted (default SOMAXCONN). */
  backlog?: number;
  /**
   * The socket file's permission bits (default 0o600: only this user may connect), less the umask as
   * for open(2). Connecting needs write permission. Set on the socket before bind, so the file never
   * exists with other bits; ignored for an abstract name, which has no file (check the peer instead).
   */
  mode?: number;
}

/** The file at a path, as lstat sees it (never following a symbolic link), or null if there is none. */
function fileAt(path: string): { dev: number; ino: number; kind: string } | null {
  try {
    const info = lstatSync(path);
    const kind = info.isSocket() ? "socket" : info.isSymbolicLink() ? "symbolic link" : info.isDirectory() ? "directory" : info.isFile() ? "regular file" : "special file";
    return { dev: info.dev, ino: info.ino, kind };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Whether a listener answers at `path`: false when connect is refused (a socket file nobody listens on). */
function someoneListens(path: string, type: number): boolean {
  const probe = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK);
  try {
    connect(probe, path);
    return true;
  } catch (error) {
    if (isSystemError(error, "ECONNREFUSED")) return false;
    // EAGAIN: a backlog full of clients is a live server's.
    if (isSystemError(error, "EAGAIN")) return true;
    throw error;
  } finally {
    close(probe);
  }
}

/**
 * A listening UNIX socket (stream or seqpacket) bound to a path or an abstract name. `accept()` waits
 * for the next client without holding a thread. A filesystem path is created by `listen` and unlinked
 * by `close`.
 */
export class UnixListener implements Disposable {
  /** The address it listens on: a path, or "\0name". */
  readonly address: string;
  readonly #fd: number;
  readonly #waiter: FdWaiter;
  /** The socket file this listener created (to unlink only that one), null for an abstract name. */
  readonly #file: { dev: number; ino: number } | null;

  private constructor(fd: number, address: string, file: { dev: number; ino: number } | null) {
    this.#fd = fd;
    this.address = address;
    this.#file = file;
    this.#waiter = new FdWaiter(fd);
  }

  /**
   * Binds and listens at `address`. When a filesystem path is taken, it looks without following
   * links: a socket file nobody listens on (connect refused: its server died without unlinking it) is
   * unlinked and replaced; a live server's socket, a symbolic link or any other file is left alone,
   * and the error is EADDRINUSE saying which. An abstract name in use is EADDRINUSE at once.
   *
   * @see https://man7.org/linux/man-pages/man2/bind.2.html
   * @see https://man7.org/linux/man-pages/man2/listen.2.html
   */
  static listen(address: string, options: ListenOptions = {}): UnixListener {
    const type = options.type ?? SOCK_STREAM;
    // Non-blocking: an accept4 after a wake-up whose client another accept took must not block.
    const fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK);
    try {
      // bind creates the file with the socket's own mode, less the umask.
      if (!isAbstract(address)) fchmodSync(fd, options.mode ?? 0o600);
      UnixListener.#bind(fd, address, type);
      listen(fd, options.backlog ?? SOMAXCONN);
      const file = isAbstract(address) ? null : fileAt(address);
      return new UnixListener(fd, address, file === null ? null : { dev: file.dev, ino: file.ino });
    } catch (error) {
      closeAll([fd]);
      throw error;
    }
  }

  static #bind(fd: number, address: string, type: number): void {
    try {
      bind(fd, address);
      return;
    } catch (error) {
      if (!isSystemError(error, "EADDRINUSE")) throw error;
      const taken = (note: string): SystemError => new SystemError(error.errno, "bind", { path: formatSocketAddress(address), note });
      if (isAbstract(address)) throw taken("another socket is bound to this abstract name");
      const file = fileAt(address);
      if (file === null) throw error;
      if (file.kind !== "socket") throw taken(`a ${file.kind} is there, not a socket: left as it is`);
      if (someoneListens(address, type)) throw taken("a server is listening there");
      unlink(address);
    }
    bind(fd, address);
  }

  /** The descriptor, for calls this class does not make. Never close it directly. */
  get fd(): number {
    return this.#fd;
  }

  /** Whether `close` has been called. */
  get closed(): boolean {
    return this.#waiter.closed;
  }

  /**
   * The next client's connection, waiting without holding a thread until one comes. A client that
   * connected and died before being accepted still comes: its socket reads end of file.
   *
   * @see https://man7.org/linux/man-pages/man2/accept4.2.html
   */
  async accept(options: SocketWaitOptions = {}): Promise<UnixSocket> {
    if (this.closed) throw new ClosedDescriptorError(this.#fd);
    const fd = this.#fd;
    const attempt = (): number => {
      try {
        return accept4(fd, SOCK_CLOEXEC);
      } catch (error) {
        if (isSystemError(error, "EAGAIN") || isSystemError(error, "EINTR") || isSystemError(error, "ECONNABORTED")) return WOULD_BLOCK;
        throw error;
      }
    };
    let accepted = attempt();
    if (accepted === WOULD_BLOCK) accepted = await this.#waiter.attempt("readable", attempt, options);
    try {
      return new UnixSocket(accepted);
    } catch (error) {
      closeAll([accepted]);
      throw error;
    }
  }

  /** The bound address as the kernel reports it (getsockname). */
  boundAddress(): string {
    return getsockname(this.#fd);
  }

  /**
   * Stops listening: pending accepts end with ClosedDescriptorError, the descriptor is closed, and the
   * socket file is unlinked if it is still the one this listener created. Idempotent.
   */
  close(): void {
    if (this.#waiter.closed) return;
    this.#waiter.close();
    close(this.#fd);
    if (this.#file === null) return;
    const now = fileAt(this.address);
    if (now !== null && now.kind === "socket" && now.dev === this.#file.dev && now.ino === this.#file.ino) unlink(this.address);
  }

  /** Closes it, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
