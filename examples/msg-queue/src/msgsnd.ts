/**
 * msgsnd (Stevens' svmsg/msgsnd.c): sends one message of a given type to the System V queue for a
 * key. The C sent `<#bytes>` zero bytes; this sends TEXT's bytes (UTF-8), or without TEXT every
 * byte of stdin, so any payload, NUL and bytes 0x80 to 0xff included, can be sent.
 *
 * With the queue full it waits for room, as msgsnd(2) does, unless --nowait (IPC_NOWAIT), which
 * fails at once with EAGAIN. A message longer than /proc/sys/kernel/msgmax, or than the queue holds
 * at all (its msg_qbytes), is an error naming the limit. It never creates the queue (msgcreate does).
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { keyOf, keyOptions, messageBytes, openQueue } from "./common.ts";

const command = {
  name: "msgsnd",
  summary: "Sends TEXT (or, without TEXT, stdin's bytes) as one message of type T to the System V queue for a key.",
  positionals: ["TEXT?"],
  options: {
    ...keyOptions,
    type: { type: "integer", value: "T", description: "the message's type, > 0 (msgrcv selects by it)", default: 1, min: 1, max: Number.MAX_SAFE_INTEGER },
    nowait: { type: "boolean", description: "fail with EAGAIN when the queue is full instead of waiting (IPC_NOWAIT)" },
  },
} as const;

await runMain("msgsnd", () => {
  const { values, positionals } = parseCommand(command);
  const queue = openQueue(keyOf(values, command));
  queue.send(messageBytes(positionals[0]), { type: values.type, wait: !values.nowait });
});
