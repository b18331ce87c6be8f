/**
 * client (Stevens' svmsgmpx1q/client_main.c): sends requests of type 1 to the server's System V
 * queue, each starting with this process's pid, and reads the replies of type = its pid only
 * (msgrcv with msgtyp = pid), so any number of clients can share the queue. Stevens' client asked
 * for a file's contents; this one sends TEXT (numbered, one request per --requests) and checks that
 * each reply holds the length and SHA-256 of exactly what it sent (mpx.ts): a reply meant for another
 * client would not match, and ends it with exit code 2.
 *
 * It never creates the queue: with no server there is a one-line error. A server that ends while
 * the client waits removes the queue, and the client's msgrcv fails with `Identifier removed`.
 */
import { ExitError, keyFromOptions, parseCommand, runMain, usageText } from "@linux-ipc/programs";
import { formatKey } from "@linux-ipc/core";
import { keyOptions, openQueue } from "./common.ts";
import { REQUEST_TYPE, SERVER_KEY, reply, request } from "./mpx.ts";

const command = {
  name: "client",
  summary: "Sends TEXT to the server over its System V queue (type 1, with this pid) and checks each reply (type = this pid).",
  positionals: ["TEXT?"],
  options: {
    ...keyOptions,
    key: { ...keyOptions.key, description: `System V key, decimal or 0x hex (default: ${formatKey(SERVER_KEY)})` },
    requests: { type: "integer", value: "N", description: "how many requests to send, one after the other's reply", default: 1, min: 1 },
  },
} as const;

const WRONG_REPLY = 2;

await runMain("client", () => {
  const { values, positionals } = parseCommand(command);
  const queue = openQueue(keyFromOptions(values, SERVER_KEY, usageText(command), command.name), "start the server first, with the same --key or --path");
  const text = positionals[0] ?? "hello";
  for (let i = 1; i <= values.requests; i++) {
    const body = `request ${i} of pid ${process.pid}: ${text}`;
    queue.send(request(process.pid, body), { type: REQUEST_TYPE });
    const answer = new TextDecoder().decode(queue.receive({ type: process.pid }).bytes);
    const expected = reply(new TextEncoder().encode(body));
    if (answer !== expected) throw new ExitError(`reply '${answer}' to request ${i} does not match what was sent (expected '${expected}')`, WRONG_REPLY);
    console.log(`pid ${process.pid}: reply to request ${i}: ${answer} (checked)`);
  }
});
