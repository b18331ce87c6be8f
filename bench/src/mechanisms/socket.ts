/**
 * A UNIX stream socket through Node's own `net` module: the bench listens on a socket file in the
 * run's directory, the peer connects. Removed (closed and unlinked) as soon as the peer is connected.
 */
import { once } from "node:events";
import { rmSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { track } from "../cleanup.ts";
import { streamHostEnd, streamPeerEnd } from "./node-stream.ts";
import type { Mechanism } from "./types.ts";

export const socketMechanism: Mechanism = {
  name: "unix-socket",
  description: "UNIX stream socket (Node net), write() with backpressure / 'data' events",
  family: "node",
  reference: "pipe",
  unavailable: async () => null,
  async start(context) {
    const path = join(context.directory, "stream.sock");
    const server = createServer();
    const releaseServer = track(() => {
      server.close();
      rmSync(path, { force: true });
    });
    try {
      server.listen(path);
      await once(server, "listening");
      const connected = once(server, "connection") as Promise<[Socket]>;
      const peer = context.startPeer({ args: [path] });
      let socket: Socket;
      try {
        await peer.ready(); // the peer is connected
        [socket] = await connected;
      } catch (error) {
        await peer.stop();
        throw error;
      }
      return { peer, end: streamHostEnd(socket, socket, () => void socket.destroy()) };
    } finally {
      releaseServer();
    }
  },
  async join({ args: [path] }) {
    if (path === undefined) throw new Error("unix-socket: the peer needs the socket's path");
    const socket = createConnection(path);
    await once(socket, "connect");
    return streamPeerEnd(socket, socket, () => void socket.end());
  },
};
