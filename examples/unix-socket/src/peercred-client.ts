/**
 * peercred-client --socket PATH: connects to a peercred server and prints what it answers
 * (`server says: hello, pid N`), or `refused by the server` when it closes the connection without a
 * word (a client of another user). It sends nothing itself: the server learns who it is from the
 * kernel.
 */
import { ExitError, parseCommand, runMain } from "@linux-ipc/programs";
import { UnixSocket } from "@linux-ipc/core";
import { socketAddress } from "./address.ts";

await runMain("peercred-client", async () => {
  const { values } = parseCommand({
    name: "peercred-client",
    summary: "Connects to a peercred server and prints its answer",
    options: {
      socket: { type: "string", value: "PATH", description: "the server's socket file, or @NAME for an abstract name (required)" },
    },
  });
  if (values.socket === undefined) throw new Error("--socket PATH is required");
  using socket = await UnixSocket.connect(socketAddress(values.socket));
  let answer = "";
  for (let got = await socket.receive(); got.data.length > 0; got = await socket.receive()) answer += got.data.toString();
  if (answer === "") throw new ExitError("refused by the server", 2);
  process.stdout.write(`server says: ${answer}`);
});
