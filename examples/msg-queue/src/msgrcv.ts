/**
 * msgrcv (Stevens' svmsg/msgrcv.c): receives messages from the System V queue for a key and prints
 * each as `read 5 bytes, type = 7: hello`. `--type` selects as msgrcv(2)'s msgtyp does: 0 the first
 * message, T > 0 the first of type T, T < 0 the first of the lowest type up to |T|.
 *
 * Differences from the C, and why:
 * - --count N reads N messages (the C read one); --raw writes the bytes alone, for binary payloads;
 * - the buffer is /proc/sys/kernel/msgmax bytes, the longest message there can be (the C's MAXMSG
 *   was a fixed 8192 + the header), so no message is too long for it;
 * - a queue removed while it waits (msgrmid, ipcrm) ends it with `msgrcv 'id N': Identifier
 *   removed` and exit code 1, as the C's err_sys would.
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { keyOf, keyOptions, openQueue, rawOption, receivedLine } from "./common.ts";

const command = {
  name: "msgrcv",
  summary: "Receives messages from the System V queue for a key and prints their length, type and text.",
  options: {
    ...keyOptions,
    type: {
      type: "integer",
      value: "T",
      description: "0: the first message; T > 0: the first of type T; T < 0: the lowest type up to |T|",
      default: 0,
      min: Number.MIN_SAFE_INTEGER,
      max: Number.MAX_SAFE_INTEGER,
    },
    nowait: { type: "boolean", description: "fail with ENOMSG when no message matches instead of waiting (IPC_NOWAIT)" },
    count: { type: "integer", value: "N", description: "how many messages to receive", default: 1, min: 1 },
    raw: rawOption,
  },
} as const;

await runMain("msgrcv", () => {
  const { values } = parseCommand(command);
  const queue = openQueue(keyOf(values, command));
  for (let received = 0; received < values.count; received++) {
    const message = queue.receive({ type: values.type, wait: !values.nowait });
    if (values.raw) process.stdout.write(message.bytes);
    else console.log(receivedLine(message.bytes, "type", message.type));
  }
});
