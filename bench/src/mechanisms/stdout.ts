/**
 * A child's standard output as Node gives it to the parent (spawn with stdio 'pipe'), and its stdin
 * for the way back in the ping-pong. libuv makes these stdio "pipes" as UNIX socketpairs, and Node
 * writes a child's stdout synchronously when it is a pipe or socket (on Linux).
 */
import { whenReady } from "../peer-process.ts";
import { streamHostEnd, streamPeerEnd } from "./node-stream.ts";
import type { Mechanism } from "./types.ts";

export const stdoutMechanism: Mechanism = {
  name: "child-stdout",
  description: "a child's stdout (and stdin back), spawn stdio 'pipe', write() / 'data' events",
  family: "node",
  reference: "pipe",
  unavailable: async () => null,
  async start(context) {
    const peer = context.startPeer({ stdin: "pipe", stdout: "pipe" });
    const { stdin, stdout } = peer.child;
    if (stdin === null || stdout === null) throw new Error("child-stdout: spawn gave no stdin/stdout streams");
    return whenReady(
      peer,
      streamHostEnd(stdout, stdin, () => {
        stdin.destroy();
        stdout.destroy();
      }),
    );
  },
  async join() {
    return streamPeerEnd(process.stdin, process.stdout, () => {
      process.stdin.destroy();
    });
  },
};
