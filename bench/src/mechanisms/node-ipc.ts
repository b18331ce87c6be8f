/**
 * Node's own inter-process messages: child_process 'ipc' channel, subprocess.send / process.send and
 * 'message' events, in either serialization Node offers. A message is `size` bytes of payload:
 * a string of that many ASCII characters for "json", a Buffer for "advanced" (structured clone).
 */
import type { ChildProcess } from "node:child_process";
import { whenReady } from "../peer-process.ts";
import { Arrivals, Flushes } from "./arrivals.ts";
import type { Mechanism } from "./types.ts";

type Serialization = "json" | "advanced";

interface Channel {
  send(message: unknown, done: (error: Error | null) => void): boolean;
  on(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
}

function payload(serialization: Serialization, size: number, fill: string): unknown {
  return serialization === "json" ? fill.repeat(size) : Buffer.alloc(size, fill);
}

function parentChannel(child: ChildProcess): Channel {
  return {
    send: (message, done) => child.send(message as string, undefined, undefined, done),
    on: (event, listener) => child.on(event, listener),
    off: (event, listener) => child.off(event, listener),
  };
}

function childChannel(): Channel {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error("process.send: this peer was started without an IPC channel");
  return {
    send: (message, done) => send(message, undefined, undefined, done),
    on: (event, listener) => process.on(event, listener),
    off: (event, listener) => process.off(event, listener),
  };
}

export function nodeIpcMechanism(name: string, serialization: Serialization): Mechanism {
  return {
    name,
    description: `child_process IPC, process.send / 'message' (serialization '${serialization}')`,
    family: "node",
    reference: "pipe",
    unavailable: async () => null,
    async start(context) {
      const peer = context.startPeer({ ipc: serialization, args: [serialization] });
      const channel = parentChannel(peer.child);
      const arrivals = new Arrivals();
      const onMessage = (): void => arrivals.add(1);
      channel.on("message", onMessage);
      peer.child.once("disconnect", () => arrivals.fail(new Error("the peer's IPC channel closed")));
      const ignore = (): void => {};
      return whenReady(peer, {
        receive: (_size, count) => arrivals.expect(count),
        async pingPong(size, count, samples) {
          const message = payload(serialization, size, "p");
          for (let i = 0; i < count; i++) {
            const sent = performance.now();
            const answered = arrivals.expect(1);
            channel.send(message, ignore);
            await answered;
            samples[i] = (performance.now() - sent) / 1e3;
          }
        },
        close() {
          channel.off("message", onMessage);
          if (peer.child.connected) peer.child.disconnect();
        },
      });
    },
    async join({ args: [serialization] }) {
      const channel = childChannel();
      const kind = serialization as Serialization;
      // Every message is echoed from the moment the peer joins: one may arrive before the command
      // that announces it (the control pipe and the IPC channel are separate), and an IPC message
      // without a listener is lost.
      const echoes = new Flushes();
      const arrived = new Arrivals();
      let echoed = 0;
      channel.on("message", (message) => {
        channel.send(message, echoes.done);
        arrived.add(1);
      });
      return {
        async send(size, count) {
          const message = payload(kind, size, "x");
          const flushes = new Flushes();
          for (let i = 1; i <= count; i++) {
            // send() returns false once Node's backlog of unsent messages is too long: let it drain.
            if (!channel.send(message, flushes.done) || i === count) await flushes.until(i);
          }
        },
        async echo(_size, count) {
          echoed += count;
          await arrived.reach(echoed);
          await echoes.until(echoed);
        },
        close() {
          process.disconnect?.();
        },
      };
    },
  };
}
