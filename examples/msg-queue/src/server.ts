/**
 * server (Stevens' svmsgmpx1q/server_main.c): one System V queue carries every client's requests and
 * every reply. The server creates the queue, reads only messages of type 1 (the requests), and
 * answers each with type = the pid the request carries, so each client receives its own replies and
 * none meant for another. Stevens' server sent back the contents of a file the client named; this one
 * answers each request with the length and the SHA-256 of its body, which the client checks (mpx.ts).
 *
 * Differences from the C, and why:
 * - the server waits with receiveAsync, so its event loop stays free: SIGINT, SIGTERM or SIGHUP
 *   remove the queue before the server ends (the C's queue stayed until `ipcrm`);
 * - it creates the queue with IPC_EXCL, so two servers never share a queue; a queue left by a
 *   killed server is named with its `ipcrm -q` command;
 * - a reply waits at most --reply-timeout for room: with one queue for both directions, clients that
 *   send but never read could fill it and block the server for good (Stevens' point about this
 *   design); such a reply is dropped with a line on stderr;
 * - --requests N ends it after N requests (default: serve until a signal): it waits for the clients
 *   to take the last replies (at most --reply-timeout), then removes the queue.
 */
import { ExitError, keyFromOptions, modeOption, onTerminationSignal, parseCommand, perrorLine, runMain, usageText } from "@linux-ipc/programs";
import { MessageQueue, WaitTimeoutError, formatKey, isSystemError, sleep } from "@linux-ipc/core";
import { keyOptions } from "./common.ts";
import { REQUEST_TYPE, SERVER_KEY, parseRequest, reply } from "./mpx.ts";

const command = {
  name: "server",
  summary: "Creates one System V queue, reads requests of type 1 from it and answers each with type = the client's pid.",
  options: {
    ...keyOptions,
    key: { ...keyOptions.key, description: `System V key, decimal or 0x hex (default: ${formatKey(SERVER_KEY)})` },
    requests: { type: "integer", value: "N", description: "end after N requests (default: serve until SIGINT, SIGTERM or SIGHUP)", min: 1 },
    "reply-timeout": { type: "integer", value: "MS", description: "how long a reply may wait for room in a full queue before it is dropped", default: 5000, min: 0 },
    mode: modeOption(0o600, "only this user's clients can reach it (620: the group's clients may send too; they must also read their replies: 660)"),
  },
  details: "Run clients with the same --key (or --path and --proj-id): client --key K TEXT. The queue is removed when the server ends.",
} as const;

await runMain("server", async () => {
  const { values } = parseCommand(command);
  const key = keyFromOptions(values, SERVER_KEY, usageText(command), command.name);
  // Listening before the queue exists: a signal that came between the two would end the server
  // by its default action and leave the queue behind.
  let queue: MessageQueue | undefined;
  const stopHandlingSignals = onTerminationSignal(() => queue?.remove());
  try {
    try {
      queue = MessageQueue.create(key, values.mode);
    } catch (error) {
      if (!isSystemError(error, "EEXIST")) throw error;
      const id = MessageQueue.open(key).id;
      throw new ExitError(`${perrorLine(error)} (a queue with this key exists already: another server is running, or one was killed; if none runs: ipcrm -q ${id})`, 1);
    }
    console.log(`server: key ${formatKey(key)}, msqid ${queue.id}, waiting for requests of type ${REQUEST_TYPE}`);
    for (let served = 0; values.requests === undefined || served < values.requests; served++) {
      const { bytes } = await queue.receiveAsync({ type: REQUEST_TYPE });
      const parsed = parseRequest(bytes);
      if (parsed === null) {
        process.stderr.write(`server: ignored a request that does not start with '<pid> ' (${bytes.length} bytes)\n`);
        continue;
      }
      console.log(`request from pid ${parsed.pid}: ${parsed.body.length} bytes`);
      try {
        await queue.sendAsync(reply(parsed.body), { type: parsed.pid, timeoutMs: values["reply-timeout"] });
      } catch (error) {
        if (!(error instanceof WaitTimeoutError)) throw error;
        process.stderr.write(`server: the queue stayed full for ${values["reply-timeout"]} ms: dropped the reply to pid ${parsed.pid}\n`);
      }
    }
    await lastRepliesTaken(queue, values["reply-timeout"]);
  } finally {
    stopHandlingSignals();
    queue?.remove();
  }
});

/**
 * Removing the queue destroys the replies still in it: after its last request the server waits
 * (at most `timeoutMs`) until the clients have taken them, looking at msg_qnum every 10 ms, since
 * no call waits for a queue to become empty.
 */
async function lastRepliesTaken(queue: MessageQueue, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; queue.stat().messages > 0 && Date.now() < deadline; ) await sleep(10);
}
