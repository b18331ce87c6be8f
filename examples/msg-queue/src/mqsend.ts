/**
 * mqsend (Stevens' pxmsg/mqsend.c): sends one message with a priority to the POSIX queue NAME. The
 * C sent `<#bytes>` zero bytes; this sends TEXT's bytes (UTF-8), or without TEXT every byte of stdin,
 * so any payload, NUL and bytes 0x80 to 0xff included, can be sent.
 *
 * With the queue full it waits for room, as mq_send does, unless --nowait (EAGAIN at once). A
 * message longer than the queue's mq_msgsize is an error that says both sizes. It opens the queue
 * for writing only, and never creates it (mqcreate does).
 */
import { ExitError, parseCommand, runMain } from "@linux-ipc/programs";
import { PosixMessageQueue, isSystemError, strerror } from "@linux-ipc/core";
import { messageBytes, queueName } from "./common.ts";

const command = {
  name: "mqsend",
  summary: "Sends TEXT (or, without TEXT, stdin's bytes) as one message with priority P to the POSIX queue NAME.",
  positionals: ["NAME", "TEXT?"],
  options: {
    priority: { type: "integer", value: "P", description: "0 to 32767; a receiver gets the highest priority first", default: 0, min: 0, max: 32767 },
    nowait: { type: "boolean", description: "fail with EAGAIN when the queue is full instead of waiting" },
  },
} as const;

await runMain("mqsend", () => {
  const { values, positionals } = parseCommand(command);
  const bytes = messageBytes(positionals[1]);
  using queue = PosixMessageQueue.open(queueName(positionals[0]!, command), "write");
  try {
    queue.send(bytes, { priority: values.priority, wait: !values.nowait });
  } catch (error) {
    if (!isSystemError(error, "EMSGSIZE")) throw error;
    throw new ExitError(`mq_send '${queue.name}': ${strerror(error.errno)} (the message's ${bytes.length} bytes are more than the queue's mq_msgsize = ${queue.messageSize})`, 1);
  }
});
