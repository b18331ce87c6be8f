/**
 * mqgetattr (Stevens' pxmsg/mqgetattr.c): opens the POSIX queue NAME and prints its attributes
 * (mq_getattr), word for word as the C does: `max #msgs = 10, max #bytes/msg = 8192, #currently
 * on queue = 0`. It opens the queue for reading only, so read permission is enough.
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { PosixMessageQueue } from "@linux-ipc/core";
import { attributesLine, queueName } from "./common.ts";

const command = {
  name: "mqgetattr",
  summary: "Prints the attributes of the POSIX message queue NAME: capacity, message size, messages queued now.",
  positionals: ["NAME"],
  options: {},
} as const;

await runMain("mqgetattr", () => {
  const { positionals } = parseCommand(command);
  using queue = PosixMessageQueue.open(queueName(positionals[0]!, command), "read");
  console.log(attributesLine(queue));
});
