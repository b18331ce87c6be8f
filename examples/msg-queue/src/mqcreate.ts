/**
 * mqcreate (Stevens' pxmsg/mqcreate.c): creates the POSIX message queue NAME, or opens the one that
 * exists, and prints its attributes. The queue outlives the program: mqunlink removes it.
 *
 * Differences from the C, and why:
 * - --maxmsg and --msgsize may be given alone (the C needed both): mq_open takes both or neither,
 *   so the one not given gets the kernel's usual default (10 messages, 8192 bytes);
 * - sizes past /proc/sys/fs/mqueue/msg_max or msgsize_max fail naming the limit and its file (the C
 *   said `Invalid argument`); a process with CAP_SYS_RESOURCE may go past them;
 * - the mode defaults to 0600 (owner only), where the C's FILE_MODE was 0644: `--mode 644` lets
 *   every user receive (read) its messages, `--mode 666` lets them send too.
 */
import { modeOption, parseCommand, runMain } from "@linux-ipc/programs";
import { PosixMessageQueue } from "@linux-ipc/core";
import { attributesLine, queueName } from "./common.ts";

const command = {
  name: "mqcreate",
  summary: 'Creates (or opens) the POSIX message queue NAME ("/something") and prints its attributes.',
  positionals: ["NAME"],
  options: {
    excl: { type: "boolean", description: "fail if NAME exists already (O_EXCL)" },
    maxmsg: { type: "integer", value: "N", description: "the most messages it holds (mq_maxmsg; at most /proc/sys/fs/mqueue/msg_max)", min: 1 },
    msgsize: { type: "integer", value: "N", description: "the largest message in bytes (mq_msgsize; at most /proc/sys/fs/mqueue/msgsize_max)", min: 1 },
    mode: modeOption(0o600, "only this user can send and receive (644: others may receive, 666: and send)"),
  },
  details: "The queue stays until mqunlink NAME removes it; where /dev/mqueue is mounted it shows there as a file.",
} as const;

await runMain("mqcreate", () => {
  const { values, positionals } = parseCommand(command);
  const name = queueName(positionals[0]!, command);
  const options = { maxMessages: values.maxmsg, messageSize: values.msgsize, mode: values.mode };
  using queue = values.excl ? PosixMessageQueue.create(name, options) : PosixMessageQueue.openOrCreate(name, options);
  console.log(`${name}: ${attributesLine(queue)}`);
});
