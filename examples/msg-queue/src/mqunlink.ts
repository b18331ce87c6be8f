/**
 * mqunlink (Stevens' pxmsg/mqunlink.c): removes the POSIX queue NAME (mq_unlink). The name goes at
 * once; the queue itself, with its messages, goes when the last process that has it open closes it.
 * Unlike the object's idempotent unlink(), a NAME that does not exist is an error, as in the C.
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { mq_unlink } from "@linux-ipc/core";
import { queueName } from "./common.ts";

const command = {
  name: "mqunlink",
  summary: "Removes the POSIX message queue NAME.",
  positionals: ["NAME"],
  options: {},
} as const;

await runMain("mqunlink", () => {
  const { positionals } = parseCommand(command);
  mq_unlink(queueName(positionals[0]!, command));
});
