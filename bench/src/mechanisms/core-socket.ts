/**
 * UNIX sockets through core: a socketpair (core `socketpair`), one end kept by the bench, the other
 * passed to the peer with spawnWithFds, both driven by `UnixSocket` (`send`/`receive`, MSG_DONTWAIT
 * first, then a wait through the socket's own libuv poll handle, the event loop free).
 * - "stream": SOCK_STREAM, a byte stream read 64 KiB at a time, as the C reference reads it;
 * - "seqpacket": SOCK_SEQPACKET, one receive per message;
 * - "seqpacket-fds": SOCK_SEQPACKET where every message also carries a descriptor (SCM_RIGHTS), which
 *   the bench closes as it arrives: at 64 B, its messages per second are descriptors passed per second.
 */
import { AF_UNIX, close, open, O_RDONLY, SOCK_CLOEXEC, SOCK_SEQPACKET, SOCK_STREAM, socketpair, UnixSocket } from "@linux-ipc/core";
import { type PeerProcess, whenReady } from "../peer-process.ts";
import type { HostEnd, Mechanism, PeerEnd } from "./types.ts";

export type SocketKind = "stream" | "seqpacket" | "seqpacket-fds";

const READ_BUFFER = 65536;

const descriptions: Record<SocketKind, string> = {
  stream: "UNIX SOCK_STREAM socketpair (core UnixSocket), async send / receive into 64 KiB",
  seqpacket: "UNIX SOCK_SEQPACKET socketpair (core UnixSocket), async send / receive, one message each",
  "seqpacket-fds": "the same SOCK_SEQPACKET socketpair, every message carrying a descriptor (SCM_RIGHTS) that the receiver closes: messages/s = descriptors/s",
};

/** Receives exactly `total` bytes (a stream may cut and merge messages; a seqpacket socket does not), closing any descriptor that comes. */
async function drain(socket: UnixSocket, total: number, into: Uint8Array | null): Promise<void> {
  for (let received = 0; received < total; ) {
    const { data, fds } = await socket.receive({ maxBytes: Math.min(READ_BUFFER, total - received) });
    for (const fd of fds) close(fd);
    if (data.length === 0) throw new Error(`end of file after ${received} of ${total} bytes: the other side went away`);
    into?.set(data, received);
    received += data.length;
  }
}

function hostEnd(socket: UnixSocket): HostEnd {
  return {
    receive: (size, count) => drain(socket, size * count, null),
    async pingPong(size, count, samples) {
      const message = new Uint8Array(size).fill(0x70);
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        await socket.send(message);
        await drain(socket, size, null);
        samples[i] = (performance.now() - sent) / 1e3;
      }
    },
    close: () => socket.close(),
  };
}

function peerEnd(socket: UnixSocket, passed: number | null): PeerEnd {
  const options = passed === null ? {} : { fds: [passed] };
  return {
    async send(size, count) {
      const message = new Uint8Array(size).fill(0x78);
      for (let i = 0; i < count; i++) await socket.send(message, options);
    },
    async echo(size, count) {
      const answer = new Uint8Array(size);
      for (let i = 0; i < count; i++) {
        await drain(socket, size, answer);
        await socket.send(answer);
      }
    },
    close() {
      socket.close();
      if (passed !== null) close(passed);
    },
  };
}

export function coreSocketMechanism(name: string, kind: SocketKind): Mechanism {
  return {
    name,
    description: descriptions[kind],
    family: "core",
    reference: kind === "stream" ? "socket" : "seqpacket",
    unavailable: async () => null,
    async start(context) {
      const [mine, theirs] = socketpair(AF_UNIX, (kind === "stream" ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC);
      let peer: PeerProcess;
      try {
        peer = context.startPeer({ fds: [theirs], args: [kind] });
      } catch (error) {
        close(mine);
        throw error;
      } finally {
        close(theirs);
      }
      return whenReady(peer, hostEnd(new UnixSocket(mine)));
    },
    async join({ fds: [fd], args: [kind] }) {
      if (fd === undefined) throw new Error(`${name}: the peer needs its end of the socketpair`);
      return peerEnd(new UnixSocket(fd), kind === "seqpacket-fds" ? open("/dev/null", O_RDONLY) : null);
    },
  };
}
