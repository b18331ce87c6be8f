/**
 * Named pipes: two FIFOs made with core mkfifo in the run's directory, one each way, opened by path
 * in the bench and in the peer (unrelated processes, as the FIFO tutorial's server and client are).
 * The data path inside the kernel is the pipe's; only the opening differs. The FIFOs are unlinked as
 * soon as both sides hold them open.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { open, setNonBlocking, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY, mkfifo, close } from "@linux-ipc/core";
import { track } from "../cleanup.ts";
import type { PeerProcess } from "../peer-process.ts";
import { hostEnd, peerEnd } from "./fd-stream.ts";
import type { Mechanism } from "./types.ts";

/**
 * Opens a FIFO for reading without waiting for a writer (O_NONBLOCK), then makes the descriptor
 * blocking again for the reads to come.
 */
function openReadEnd(path: string): number {
  const fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  setNonBlocking(fd, false);
  return fd;
}

export const fifoMechanism: Mechanism = {
  name: "fifo",
  description: "two FIFOs (core mkfifo/open by path), blocking read/writeAll",
  family: "core",
  reference: "pipe",
  unavailable: async () => null,
  async start(context) {
    const down = join(context.directory, "fifo-down");
    const up = join(context.directory, "fifo-up");
    const removeFifos = track(() => {
      rmSync(down, { force: true });
      rmSync(up, { force: true });
    });
    try {
      mkfifo(down, 0o600);
      mkfifo(up, 0o600);
      // Our read end first, so the peer's open for writing finds a reader and does not wait.
      const upRead = openReadEnd(up);
      let peer: PeerProcess;
      try {
        peer = context.startPeer({ args: [down, up] });
      } catch (error) {
        close(upRead);
        throw error;
      }
      let downWrite: number;
      try {
        await peer.ready(); // the peer has opened "down" for reading and "up" for writing
        downWrite = open(down, O_WRONLY | O_CLOEXEC);
      } catch (error) {
        await peer.stop();
        close(upRead);
        throw error;
      }
      return { peer, end: hostEnd(upRead, downWrite, "blocking") };
    } finally {
      removeFifos();
    }
  },
  async join({ args: [down, up] }) {
    if (down === undefined || up === undefined) throw new Error("fifo: the peer needs the two FIFO paths");
    const downRead = openReadEnd(down);
    const upWrite = open(up, O_WRONLY | O_CLOEXEC);
    return peerEnd(downRead, upWrite, "blocking");
  },
};
