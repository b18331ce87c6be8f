/**
 * msgrmid (Stevens' svmsg/msgrmid.c): removes the System V queue for a key (msgctl IPC_RMID). Its
 * messages go with it, and a msgrcv or msgsnd waiting on it fails at once with EIDRM.
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { formatKey } from "@linux-ipc/core";
import { keyOf, keyOptions, openQueue } from "./common.ts";

const command = {
  name: "msgrmid",
  summary: "Removes the System V message queue for a key, with the messages in it.",
  options: keyOptions,
} as const;

await runMain("msgrmid", () => {
  const { values } = parseCommand(command);
  const key = keyOf(values, command);
  const queue = openQueue(key);
  queue.remove();
  console.log(`removed key = ${formatKey(key)}, msqid = ${queue.id}`);
});
