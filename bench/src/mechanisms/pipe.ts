/**
 * Anonymous pipes (core pipe2) between the bench and a peer it starts with spawnWithFds: one pipe
 * each way, as a C parent and its forked child would use them.
 */
import { close, pipe2 } from "@linux-ipc/core";
import { hostEnd, peerEnd, type Waiting } from "./fd-stream.ts";
import type { Mechanism } from "./types.ts";
import { type PeerProcess, whenReady } from "../peer-process.ts";

export function pipeMechanism(name: string, waiting: Waiting): Mechanism {
  return {
    name,
    description:
      waiting === "blocking" ? "anonymous pipes (core pipe2 + spawnWithFds), blocking read/writeAll" : "anonymous pipes (core pipe2 + spawnWithFds), AsyncFd.read (epoll, one poll handle) / writeAll",
    family: "core",
    reference: "pipe",
    unavailable: async () => null,
    async start(context) {
      const [downRead, downWrite] = pipe2();
      const [upRead, upWrite] = pipe2();
      let peer: PeerProcess;
      try {
        peer = context.startPeer({ fds: [downRead, upWrite], args: [waiting] });
      } catch (error) {
        for (const fd of [downWrite, upRead]) close(fd);
        throw error;
      } finally {
        // The peer holds its own copies: with ours closed, either side sees end of file if the other dies.
        close(downRead);
        close(upWrite);
      }
      return whenReady(peer, hostEnd(upRead, downWrite, waiting));
    },
    async join({ fds: [input, output], args: [waiting] }) {
      if (input === undefined || output === undefined) throw new Error("pipe: the peer needs two descriptors");
      return peerEnd(input, output, waiting as Waiting);
    },
  };
}
