/**
 * Message queues between the bench and its peer, System V and POSIX, each waited on in one of two
 * ways: "blocking" (the sync send/receive: msgsnd/msgrcv sleeping in the kernel, or poll(2) on the
 * POSIX queue's descriptor) or "async" (sendAsync/receiveAsync: the event loop stays free; see
 * packages/core/src/ipc/WAITING.md).
 *
 * - System V: one private queue (IPC_PRIVATE), type DOWN for bench -> peer and UP for peer -> bench,
 *   as one queue carries both ways in Stevens' multiplexed client/server. The bench removes it when
 *   the measure ends, when the run ends or fails, on a termination signal, and as soon as the peer
 *   exits (which ends a wait of the bench with EIDRM, as end of file ends a pipe reader's).
 * - POSIX: a queue each way (a POSIX queue has no types to tell the directions apart), 10 messages of
 *   MESSAGE_LIMIT bytes at most, the kernel's defaults. Their names are unlinked once the peer has
 *   opened them: the kernel then frees the queues when both processes have closed them.
 *
 * Messages are at most MESSAGE_LIMIT bytes, the default /proc/sys/kernel/msgmax and
 * /proc/sys/fs/mqueue/msgsize_max, so the plan's larger sizes are left out for both.
 */
import { IPC_PRIVATE, MessageQueue, PosixMessageQueue } from "@linux-ipc/core";
import { track } from "../cleanup.ts";
import { whenReady } from "../peer-process.ts";
import type { HostEnd, Mechanism, PeerEnd } from "./types.ts";

/** The largest message sent through either queue. */
export const MESSAGE_LIMIT = 8192;
const DOWN = 1;
const UP = 2;

export type QueueWaiting = "blocking" | "async";

/** What both kinds of queue offer the two ends: a send and a receive each way, as `waiting` says. */
interface Directions {
  sendDown(bytes: Uint8Array): Promise<void> | void;
  receiveDown(): Promise<Uint8Array> | Uint8Array;
  sendUp(bytes: Uint8Array): Promise<void> | void;
  receiveUp(): Promise<Uint8Array> | Uint8Array;
}

function systemVDirections(queue: MessageQueue, waiting: QueueWaiting): Directions {
  const receive = { maxBytes: MESSAGE_LIMIT };
  if (waiting === "blocking") {
    return {
      sendDown: (bytes) => queue.send(bytes, { type: DOWN }),
      receiveDown: () => queue.receive({ ...receive, type: DOWN }).bytes,
      sendUp: (bytes) => queue.send(bytes, { type: UP }),
      receiveUp: () => queue.receive({ ...receive, type: UP }).bytes,
    };
  }
  return {
    sendDown: (bytes) => queue.sendAsync(bytes, { type: DOWN }),
    receiveDown: async () => (await queue.receiveAsync({ ...receive, type: DOWN })).bytes,
    sendUp: (bytes) => queue.sendAsync(bytes, { type: UP }),
    receiveUp: async () => (await queue.receiveAsync({ ...receive, type: UP })).bytes,
  };
}

function posixDirections(down: PosixMessageQueue, up: PosixMessageQueue, waiting: QueueWaiting): Directions {
  if (waiting === "blocking") {
    return {
      sendDown: (bytes) => down.send(bytes),
      receiveDown: () => down.receive().bytes,
      sendUp: (bytes) => up.send(bytes),
      receiveUp: () => up.receive().bytes,
    };
  }
  return {
    sendDown: (bytes) => down.sendAsync(bytes),
    receiveDown: async () => (await down.receiveAsync()).bytes,
    sendUp: (bytes) => up.sendAsync(bytes),
    receiveUp: async () => (await up.receiveAsync()).bytes,
  };
}

function hostEnd(directions: Directions, close: () => void): HostEnd {
  return {
    async receive(size, count) {
      for (let i = 0; i < count; i++) {
        const bytes = await directions.receiveUp();
        if (bytes.length !== size) throw new Error(`received a message of ${bytes.length} bytes, not ${size}`);
      }
    },
    async pingPong(size, count, samples) {
      const message = new Uint8Array(size).fill(0x70);
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        await directions.sendDown(message);
        await directions.receiveUp();
        samples[i] = (performance.now() - sent) / 1e3;
      }
    },
    close,
  };
}

function peerEnd(directions: Directions, close: () => void): PeerEnd {
  return {
    async send(size, count) {
      const message = new Uint8Array(size).fill(0x78);
      for (let i = 0; i < count; i++) await directions.sendUp(message);
    },
    async echo(_size, count) {
      for (let i = 0; i < count; i++) await directions.sendUp(await directions.receiveDown());
    },
    close,
  };
}

export function systemVQueueMechanism(name: string, waiting: QueueWaiting): Mechanism {
  return {
    name,
    description: `one System V message queue (types for the two directions), ${waiting === "blocking" ? "blocking send/receive (msgsnd/msgrcv)" : "sendAsync/receiveAsync (a blocking-call waiter thread watches, event loop free)"}`,
    family: "core",
    reference: "msg",
    maxMessageSize: MESSAGE_LIMIT,
    unavailable: async () => null,
    async start(context) {
      const queue = MessageQueue.create(IPC_PRIVATE, 0o600);
      const remove = track(() => queue.remove());
      try {
        const peer = context.startPeer({ args: [String(queue.id), waiting] });
        peer.child.once("exit", remove);
        return await whenReady(peer, hostEnd(systemVDirections(queue, waiting), remove));
      } catch (error) {
        remove();
        throw error;
      }
    },
    async join({ args: [id, waiting] }) {
      return peerEnd(systemVDirections(MessageQueue.fromId(Number(id)), waiting as QueueWaiting), () => {});
    },
  };
}

export function posixQueueMechanism(name: string, waiting: QueueWaiting): Mechanism {
  return {
    name,
    description: `two POSIX message queues (one each way, 10 × 8 KiB), ${waiting === "blocking" ? "blocking send/receive (poll on the descriptor)" : "sendAsync/receiveAsync (epoll, event loop free)"}`,
    family: "core",
    reference: "mq",
    maxMessageSize: MESSAGE_LIMIT,
    unavailable: async () => null,
    async start(context) {
      const names = ["down", "up"].map((direction) => `/ipc-bench-${process.pid}-${name}-${direction}`) as [string, string];
      const queues: PosixMessageQueue[] = [];
      const unlink = track(() => {
        for (const queue of queues) queue.unlink();
      });
      const close = track(() => {
        unlink();
        for (const queue of queues) queue.close();
      });
      try {
        for (const queueName of names) queues.push(PosixMessageQueue.create(queueName, { maxMessages: 10, messageSize: MESSAGE_LIMIT }));
        const [down, up] = queues as [PosixMessageQueue, PosixMessageQueue];
        const peer = context.startPeer({ args: [...names, waiting] });
        const started = await whenReady(peer, hostEnd(posixDirections(down, up, waiting), close));
        unlink();
        return started;
      } catch (error) {
        close();
        throw error;
      }
    },
    async join({ args: [downName, upName, waiting] }) {
      const down = PosixMessageQueue.open(downName!, "read");
      const up = PosixMessageQueue.open(upName!, "write");
      return peerEnd(posixDirections(down, up, waiting as QueueWaiting), () => {
        down.close();
        up.close();
      });
    },
  };
}
