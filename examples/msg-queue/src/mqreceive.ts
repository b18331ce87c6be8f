/**
 * mqreceive (Stevens' pxmsg/mqreceive.c): receives the oldest message of the highest priority from
 * the POSIX queue NAME and prints `read 5 bytes, priority = 3: hello`.
 *
 * Differences from the C, and why:
 * - --timeout MS gives up after MS milliseconds (the C's only choices were -n, not waiting, and
 *   waiting for good); --count N receives N messages; --raw writes the bytes alone, for binary;
 * - the buffer is the queue's mq_msgsize, read from the queue as the C did with mq_getattr.
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { MAX_TIMER_MS, PosixMessageQueue } from "@linux-ipc/core";
import { queueName, rawOption, receivedLine } from "./common.ts";

const command = {
  name: "mqreceive",
  summary: "Receives messages from the POSIX queue NAME, highest priority first, and prints their length, priority and text.",
  positionals: ["NAME"],
  options: {
    nowait: { type: "boolean", description: "fail with EAGAIN when the queue is empty instead of waiting (the C's -n)" },
    timeout: { type: "integer", value: "MS", description: "give up after MS milliseconds without a message (default: wait for good)", min: 0, max: MAX_TIMER_MS },
    count: { type: "integer", value: "N", description: "how many messages to receive", default: 1, min: 1 },
    raw: rawOption,
  },
} as const;

await runMain("mqreceive", () => {
  const { values, positionals } = parseCommand(command);
  using queue = PosixMessageQueue.open(queueName(positionals[0]!, command), "read");
  for (let received = 0; received < values.count; received++) {
    const message = queue.receive({ wait: !values.nowait, timeoutMs: values.timeout });
    if (values.raw) process.stdout.write(message.bytes);
    else console.log(receivedLine(message.bytes, "priority", message.priority));
  }
});
