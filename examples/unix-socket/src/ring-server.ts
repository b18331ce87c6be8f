/**
 * ring-server --socket PATH: serves clients over rings it hands them through a UNIX socket, with
 * nothing named in /dev/shm or `ipcs`. For each client it checks the uid the kernel reports (only
 * this user's, unless `--allow-uid`), passes a sealed memfd of two rings over the socket, and then
 * answers every message it reads from the client's ring with the message's SHA-256 (hex), so the
 * client can check each answer. Clients are served one after another and concurrently alike.
 *
 * It prints `listening on PATH`, then for each client `client pid P uid U: connected` and, when the
 * client is gone, `client pid P: N messages answered`. On SIGINT, SIGTERM or SIGHUP it unlinks its
 * socket file and ends; after kill -9 the file stays, and the next ring-server on PATH replaces it.
 */
import { createHash } from "node:crypto";
import { onTerminationSignal, parseCommand, parseInteger, runMain } from "@linux-ipc/programs";
import { DEFAULT_RING_SOCKET_CAPACITY, PeerGoneError, RingListener, type RingConnection } from "@linux-ipc/core";

/** Reads the client's messages until it closes its side, answering each with its hash. */
async function serve(connection: RingConnection, capacity: number): Promise<void> {
  const { pid, uid } = connection.peer;
  console.log(`client pid ${pid} uid ${uid}: connected`);
  const buffer = new Uint8Array(capacity);
  let answered = 0;
  try {
    for (;;) {
      const length = await connection.reader.receiveAsync(buffer);
      if (length < 0) break;
      const digest = createHash("sha256").update(buffer.subarray(0, length)).digest("hex");
      await connection.writer.sendAsync(new TextEncoder().encode(digest));
      answered++;
    }
  } catch (error) {
    if (!(error instanceof PeerGoneError)) throw error;
  } finally {
    connection.close();
  }
  console.log(`client pid ${pid}: ${answered} messages answered`);
}

await runMain("ring-server", async () => {
  const { values } = parseCommand({
    name: "ring-server",
    summary: "Serves each client through a pair of rings in a sealed memfd passed over a UNIX socket, answering every message with its SHA-256.",
    options: {
      socket: { type: "string", value: "PATH", description: "the socket file to listen on (required)" },
      capacity: { type: "string", value: "BYTES", description: `data bytes of each ring, a power of two (default ${DEFAULT_RING_SOCKET_CAPACITY})` },
      "allow-uid": { type: "string", value: "UID", description: "also serve clients of this uid (the socket file is then made 0666 so they can connect)" },
    },
  });
  if (values.socket === undefined) throw new Error("--socket PATH is required");
  const capacity = values.capacity === undefined ? DEFAULT_RING_SOCKET_CAPACITY : parseInteger(values.capacity, "--capacity");
  const other = values["allow-uid"] === undefined ? undefined : parseInteger(values["allow-uid"], "--allow-uid");
  const allowUids = other === undefined ? ("same" as const) : [process.geteuid!(), other];
  using listener = RingListener.listen(values.socket, { capacity, allowUids, mode: other === undefined ? 0o600 : 0o666 });
  onTerminationSignal(() => listener.close());
  console.log(`listening on ${values.socket}`);
  const clients = new Set<Promise<void>>();
  for (;;) {
    const connection = await listener.accept({ onClientError: (error) => console.log(error.message) });
    const client = serve(connection, capacity).finally(() => clients.delete(client));
    clients.add(client);
  }
});
