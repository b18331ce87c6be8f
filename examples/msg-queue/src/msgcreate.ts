/**
 * msgcreate (Stevens' svmsg/msgcreate.c): creates the System V message queue for a key, or opens the
 * one it has, and prints the key and the queue's id. The queue outlives the program: msgrmid (or
 * `ipcrm -q ID`) removes it.
 *
 * Differences from the C, and why:
 * - the key is `--key K` or ftok(`--path P`, `--proj-id N`); the C always took ftok(pathname, 0);
 * - the mode defaults to 0600 (owner only), where the C's SVMSG_MODE was 0644: `--mode 644` lets
 *   every user read the queue's messages, `--mode 666` lets them send too;
 * - --excl (IPC_EXCL) is the C's -e: with it, a key that has a queue already is an error.
 */
import { modeOption, parseCommand, runMain } from "@linux-ipc/programs";
import { MessageQueue, formatKey } from "@linux-ipc/core";
import { keyOf, keyOptions } from "./common.ts";

const command = {
  name: "msgcreate",
  summary: "Creates (or opens) the System V message queue for a key and prints the key and the queue id.",
  options: {
    ...keyOptions,
    excl: { type: "boolean", description: "fail if the key has a queue already (IPC_EXCL)" },
    mode: modeOption(0o600, "only this user can send and receive (644: others may read, 666: and send)"),
  },
  details: "The queue stays until msgrmid (or ipcrm -q ID) removes it; ipcs -q lists it.",
} as const;

await runMain("msgcreate", () => {
  const { values } = parseCommand(command);
  const key = keyOf(values, command);
  const queue = values.excl ? MessageQueue.create(key, values.mode) : MessageQueue.openOrCreate(key, values.mode);
  console.log(`key = ${formatKey(key)}, msqid = ${queue.id}`);
});
