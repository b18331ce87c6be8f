/**
 * ring-client --socket PATH [--count N] [--size BYTES]: connects to a ring-server, receives the
 * memfd of its two rings over the socket (checking the server's uid and the memfd's seals before it
 * maps), sends N messages of varied sizes and content, and checks that each answer is the
 * message's SHA-256. It prints `connected to server pid P`, then `N messages sent, N answers
 * checked` and exits 0, or exits 1 on the first wrong answer.
 */
import { createHash } from "node:crypto";
import { ExitError, parseCommand, parseInteger, runMain } from "@linux-ipc/programs";
import { connectRing } from "@linux-ipc/core";

await runMain("ring-client", async () => {
  const { values } = parseCommand({
    name: "ring-client",
    summary: "Talks to a ring-server through the rings it receives over a UNIX socket, checking every answer.",
    options: {
      socket: { type: "string", value: "PATH", description: "the server's socket file (required)" },
      count: { type: "string", value: "N", description: "messages to send (default 1000)" },
      size: { type: "string", value: "BYTES", description: "the largest message (default 4000)" },
    },
  });
  if (values.socket === undefined) throw new Error("--socket PATH is required");
  const count = values.count === undefined ? 1000 : parseInteger(values.count, "--count");
  const largest = values.size === undefined ? 4000 : parseInteger(values.size, "--size");
  if (largest < 1) throw new Error(`--size must be at least 1, not ${largest}`);
  using connection = await connectRing(values.socket);
  console.log(`connected to server pid ${connection.peer.pid}`);
  const answer = new Uint8Array(64);
  for (let i = 0; i < count; i++) {
    const message = new Uint8Array(1 + ((i * 7919) % largest)).map((_, at) => (at * 131 + i * 17) & 0xff);
    await connection.writer.sendAsync(message);
    const length = await connection.reader.receiveAsync(answer);
    const expected = createHash("sha256").update(message).digest("hex");
    if (new TextDecoder().decode(answer.subarray(0, length)) !== expected) throw new ExitError(`message ${i}: wrong answer from the server`, 1);
  }
  console.log(`${count} messages sent, ${count} answers checked`);
});
