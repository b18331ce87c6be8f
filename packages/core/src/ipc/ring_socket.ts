/**
 * The ring channel between two processes that meet at a UNIX socket, with nothing named in
 * /dev/shm or `ipcs`. A server listens on a path (or an abstract name); for each client it checks
 * the client's uid as the kernel reports it (SO_PEERCRED), makes a memfd holding two rings (client
 * to server, server to client), seals it against shrinking and growing, and passes it over the
 * socket (SCM_RIGHTS). The client checks the server's uid and the seals before it maps, so no peer
 * can make it die of SIGBUS by truncating. Then the socket is closed, and the two sides talk through
 * the rings, whose own liveness words tell each side when the other is gone (RING.md).
 *
 * When both sides end, even by SIGKILL, the memfd goes with the last mapping: nothing is left but,
 * after a killed server, its socket file, which the next server on the path replaces (connect
 * refused: see UnixListener).
 *
 * The handshake is one SOCK_SEQPACKET record from the server: `ring-socket 1 CAPACITY` with the
 * memfd, or `refused: REASON` without one.
 */
import { SOCK_SEQPACKET, type UcredSnapshot } from "../libc/sys/socket.ts";
import { close } from "../libc/unistd.ts";
import type { Mapping } from "./mapping.ts";
import { Ring } from "./ring.ts";
import type { RingReader } from "./ring_reader.ts";
import type { RingWriter } from "./ring_writer.ts";
import type { WaitTuning } from "./ring_waiting.ts";
import { createSealedMemfd, mapSealedMemfd } from "./sealed_memfd.ts";
import { UnixListener, UnixSocket, type SocketWaitOptions } from "./unix_socket.ts";

const HANDSHAKE = "ring-socket 1";
/** The default capacity of each of a connection's two rings. */
export const DEFAULT_RING_SOCKET_CAPACITY = 64 * 1024;

/** Thrown by `connectRing` when the server refused this client, or by either side when the other is not allowed or not a ring server. */
export class RingHandshakeError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_RING_HANDSHAKE";
}

/** Which peers a side accepts: their uid equals this process's effective uid (default), is in the list, or anyone ("any"). */
export type AllowedUids = "same" | readonly number[] | "any";

function geteuid(): number {
  return process.geteuid!();
}

function allowed(uid: number, allow: AllowedUids): boolean {
  if (allow === "any") return true;
  if (allow === "same") return uid === geteuid();
  return allow.includes(uid);
}

function describeAllowed(allow: AllowedUids): string {
  return allow === "same" ? `only uid ${geteuid()} (this process's)` : `only uid ${(allow as readonly number[]).join(", ")}`;
}

/** One side of a connection: a writer to the other side and a reader from it, in one sealed memfd. */
export class RingConnection implements Disposable {
  /** The other process as the kernel reported it when they met (SO_PEERCRED). */
  readonly peer: UcredSnapshot;
  /** Sends to the other side. */
  readonly writer: RingWriter;
  /** Receives from the other side. */
  readonly reader: RingReader;
  readonly #memory: Mapping;
  #closed = false;

  /**
   * One side over two rings already laid out in `memory` (what `RingListener.accept` and
   * `connectRing` build): it attaches as the writer of `outgoing` and the reader of `incoming`, and
   * owns `memory` from then on.
   */
  constructor(peer: UcredSnapshot, memory: Mapping, outgoing: Ring, incoming: Ring, tuning: WaitTuning) {
    this.peer = peer;
    this.#memory = memory;
    this.reader = incoming.reader(tuning);
    try {
      this.writer = outgoing.writer(tuning);
    } catch (error) {
      this.reader.close();
      throw error;
    }
  }

  /** Detaches both sides (the other side sees this one gone) and unmaps the memory. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.writer.close();
    this.reader.close();
    this.#memory.unmap();
  }

  /** `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Where the two rings of a connection lie in its memfd: client to server first, then server to client. */
function layout(capacity: number): { toServer: number; toClient: number; size: number } {
  const ring = Ring.bytesNeeded(capacity);
  const toClient = Math.ceil(ring / 64) * 64;
  return { toServer: 0, toClient, size: toClient + ring };
}

/** Options of `RingListener.listen`. */
export interface RingListenOptions {
  /** Data bytes of each ring, a power of two (default DEFAULT_RING_SOCKET_CAPACITY). */
  capacity?: number;
  /** Which clients are served (default "same": this process's effective uid). */
  allowUids?: AllowedUids;
  /** The socket file's permission bits (default 0o600; see UnixListener). */
  mode?: number;
  /** Spin and sleep tuning of the server's reader and writer. */
  tuning?: WaitTuning;
}

/** Options of `RingListener.accept`. */
export interface RingAcceptOptions extends SocketWaitOptions {
  /** Told about each client turned away or lost during the handshake; `accept` goes on to the next. */
  onClientError?: (error: Error, peer: UcredSnapshot | null) => void;
}

/** A server's socket: each `accept` gives one client its own pair of rings. */
export class RingListener implements Disposable {
  readonly #listener: UnixListener;
  readonly #capacity: number;
  readonly #allowUids: AllowedUids;
  readonly #tuning: WaitTuning;

  private constructor(listener: UnixListener, options: RingListenOptions) {
    this.#listener = listener;
    this.#capacity = options.capacity ?? DEFAULT_RING_SOCKET_CAPACITY;
    this.#allowUids = options.allowUids ?? "same";
    this.#tuning = options.tuning ?? {};
  }

  /**
   * Listens on `address`: a filesystem path, created now and unlinked by `close` (a stale socket
   * file left by a killed server is replaced; a symbolic link is never followed), or `"\0name"`.
   */
  static listen(address: string, options: RingListenOptions = {}): RingListener {
    const capacity = options.capacity ?? DEFAULT_RING_SOCKET_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 64 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`a ring's capacity is a power of two of at least 64 bytes, not ${capacity}`);
    }
    return new RingListener(UnixListener.listen(address, { type: SOCK_SEQPACKET, mode: options.mode }), options);
  }

  /** The address it listens on. */
  get address(): string {
    return this.#listener.boundAddress();
  }

  /**
   * Waits for the next client that is allowed and completes the handshake with it, and returns the
   * server's side of their connection. A client of another uid is sent `refused: …` and left; a
   * client that dies during the handshake is dropped. Both are told to `onClientError`.
   */
  async accept(options: RingAcceptOptions = {}): Promise<RingConnection> {
    for (;;) {
      const socket = await this.#listener.accept({ signal: options.signal });
      let peer: UcredSnapshot | null = null;
      try {
        peer = socket.peerCredentials();
        if (!allowed(peer.uid, this.#allowUids)) {
          const reason = `uid ${peer.uid} is not allowed: this server serves ${describeAllowed(this.#allowUids)}`;
          await socket.send(`refused: ${reason}`, { signal: options.signal }).catch(() => {});
          throw new RingHandshakeError(`client pid ${peer.pid} refused: ${reason}`);
        }
        return await this.#serve(socket, peer, options);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        options.onClientError?.(error as Error, peer);
      } finally {
        socket.close();
      }
    }
  }

  async #serve(socket: UnixSocket, peer: UcredSnapshot, options: SocketWaitOptions): Promise<RingConnection> {
    const { toServer, toClient, size } = layout(this.#capacity);
    const fd = createSealedMemfd("ring-socket", size, { final: true });
    let memory: Mapping;
    try {
      memory = mapSealedMemfd(fd, { writable: true });
    } catch (error) {
      close(fd);
      throw error;
    }
    try {
      const incoming = Ring.create(memory, { offset: toServer, capacity: this.#capacity });
      const outgoing = Ring.create(memory, { offset: toClient, capacity: this.#capacity });
      const connection = new RingConnection(peer, memory, outgoing, incoming, this.#tuning);
      try {
        await socket.send(`${HANDSHAKE} ${this.#capacity}`, { fds: [fd], signal: options.signal });
      } catch (error) {
        connection.close();
        throw error;
      }
      return connection;
    } catch (error) {
      if (!memory.released) memory.unmap();
      throw error;
    } finally {
      close(fd);
    }
  }

  /** Stops listening and unlinks the socket file it created. Idempotent. */
  close(): void {
    this.#listener.close();
  }

  /** `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Options of `connectRing`. */
export interface RingConnectOptions extends SocketWaitOptions {
  /** Which servers this client trusts (default "same": this process's effective uid). */
  allowUids?: AllowedUids;
  /** Spin and sleep tuning of the client's reader and writer. */
  tuning?: WaitTuning;
}

/**
 * Connects to a RingListener at `address` and returns the client's side of the connection. Throws a
 * RingHandshakeError when the server refused this client, is run by a uid not allowed, or does not
 * speak the handshake; an UnsealedMemfdError when the memory it sent could still change size.
 */
export async function connectRing(address: string, options: RingConnectOptions = {}): Promise<RingConnection> {
  using socket = await UnixSocket.connect(address, { type: SOCK_SEQPACKET, signal: options.signal });
  const peer = socket.peerCredentials();
  const allow = options.allowUids ?? "same";
  if (!allowed(peer.uid, allow)) {
    throw new RingHandshakeError(`the server at ${address} (pid ${peer.pid}) runs as uid ${peer.uid}; this client trusts ${describeAllowed(allow)}`);
  }
  const { data, fds } = await socket.receive({ maxBytes: 256, maxFds: 1, signal: options.signal });
  const text = data.toString("latin1");
  const capacity = Number(/^ring-socket 1 (\d+)$/.exec(text)?.[1] ?? Number.NaN);
  if (fds.length !== 1 || !Number.isSafeInteger(capacity)) {
    for (const fd of fds) close(fd);
    if (text.startsWith("refused: ")) throw new RingHandshakeError(`the server at ${address} ${text}`);
    throw new RingHandshakeError(`the server at ${address} did not send a ring (it sent ${text === "" ? "nothing" : JSON.stringify(text.slice(0, 80))} and ${fds.length} descriptors)`);
  }
  let memory: Mapping;
  try {
    memory = mapSealedMemfd(fds[0]!, { writable: true });
  } finally {
    close(fds[0]!);
  }
  try {
    const { toServer, toClient, size } = layout(capacity);
    if (memory.length !== size) throw new RingHandshakeError(`the server at ${address} sent ${memory.length} bytes for two rings of ${capacity}; they need ${size}`);
    return new RingConnection(peer, memory, Ring.attach(memory, toServer), Ring.attach(memory, toClient), options.tuning ?? {});
  } catch (error) {
    memory.unmap();
    throw error;
  }
}
