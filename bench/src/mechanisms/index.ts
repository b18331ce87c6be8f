/** Every mechanism the bench measures, in the order of its tables. */
import { coreSocketMechanism } from "./core-socket.ts";
import { fifoMechanism } from "./fifo.ts";
import { posixQueueMechanism, systemVQueueMechanism } from "./msg-queue.ts";
import { nodeIpcMechanism } from "./node-ipc.ts";
import { pipeMechanism } from "./pipe.ts";
import { ringMechanism } from "./ring.ts";
import { semSysvMechanism } from "./sem-sysv.ts";
import { socketMechanism } from "./socket.ts";
import { stdoutMechanism } from "./stdout.ts";
import type { Mechanism } from "./types.ts";

export const mechanisms: readonly Mechanism[] = [
  pipeMechanism("pipe", "blocking"),
  pipeMechanism("pipe-readAsync", "readAsync"),
  fifoMechanism,
  socketMechanism,
  coreSocketMechanism("core-socket", "stream"),
  coreSocketMechanism("core-seqpacket", "seqpacket"),
  coreSocketMechanism("core-seqpacket-fds", "seqpacket-fds"),
  ringMechanism("ring-sysv", "sysv"),
  ringMechanism("ring-memfd", "memfd"),
  ringMechanism("ring-memfd-sleep", "memfd", { spinMicros: 0 }),
  ringMechanism("ring-memfd-async", "memfd", {}, "async"),
  ringMechanism("ring-memfd-async-sleep", "memfd", { spinMicros: 0 }, "async"),
  ringMechanism("ring-memfd-view", "memfd", {}, "view"),
  ringMechanism("ring-memfd-batch", "memfd", {}, "batch"),
  semSysvMechanism,
  systemVQueueMechanism("msg-sysv", "blocking"),
  systemVQueueMechanism("msg-sysv-async", "async"),
  posixQueueMechanism("mq-posix", "blocking"),
  posixQueueMechanism("mq-posix-async", "async"),
  nodeIpcMechanism("process.send", "json"),
  nodeIpcMechanism("process.send-advanced", "advanced"),
  stdoutMechanism,
];

export function mechanismNamed(name: string): Mechanism {
  const found = mechanisms.find((mechanism) => mechanism.name === name);
  if (!found) throw new Error(`no mechanism named '${name}' (known: ${mechanisms.map((m) => m.name).join(", ")})`);
  return found;
}
