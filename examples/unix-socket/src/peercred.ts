/**
 * peercred --socket PATH [--count N] [--mode OCTAL]: a server that learns who each client is from the
 * kernel, not from anything the client says. For each connection it prints the client's pid, uid and
 * gid as SO_PEERCRED gives them (recorded when the client called connect(2), so the client cannot lie
 * about them), then greets a client of its own uid (`hello, pid N`) and refuses any other (it closes
 * the connection without a word, and prints why).
 *
 * The socket file is created with --mode (default 0600, only this user may connect), exactly: the
 * umask is set aside while it is created. With 0666 any user may connect, and the uid check is what
 * keeps others out. The file is unlinked on exit and on SIGINT, SIGTERM or SIGHUP; one left by a
 * server killed with SIGKILL is replaced by the next server (connect refused means nobody listens),
 * and a symbolic link or any other file at PATH is refused, never followed. `--socket @NAME` listens
 * on the abstract name NAME instead: no file at all, gone with the server even after SIGKILL, and
 * open to every process of the network namespace (the uid check is then all there is).
 */
import { describeUser, ExitError, modeOption, octalMode, onTerminationSignal, parseCommand, runMain } from "@linux-ipc/programs";
import { ClosedDescriptorError, isSystemError, UnixListener, umask, type UnixSocket } from "@linux-ipc/core";
import { socketAddress } from "./address.ts";

await runMain("peercred", async () => {
  const { values } = parseCommand({
    name: "peercred",
    summary: "A server printing the pid, uid and gid of each client from the kernel (SO_PEERCRED), refusing clients of another uid",
    options: {
      socket: { type: "string", value: "PATH", description: "the socket file to listen on, or @NAME for an abstract name (required)" },
      count: { type: "integer", value: "N", description: "serve N clients, then exit (default 0: until a signal)", default: 0, min: 0 },
      mode: modeOption(0o600, "0600, only this user may connect"),
    },
  });
  if (values.socket === undefined) throw new Error("--socket PATH is required");
  const previousUmask = umask(0);
  let listener: UnixListener;
  try {
    listener = UnixListener.listen(socketAddress(values.socket), { mode: values.mode });
  } catch (error) {
    // The whole message: it says what is at the path (perror's form would drop that).
    if (isSystemError(error, "EADDRINUSE")) throw new ExitError(error.message, 1);
    throw error;
  } finally {
    umask(previousUmask);
  }
  const stopCleanupOnSignal = onTerminationSignal(() => listener.close());
  const myUid = process.getuid!();
  const access = values.socket.startsWith("@") ? "an abstract name: no file, no mode" : `mode ${octalMode(values.mode)}`;
  console.log(`peercred: listening on ${values.socket} (${access}), uid ${myUid}`);
  try {
    for (let served = 0; values.count === 0 || served < values.count; served++) {
      let client: UnixSocket;
      try {
        client = await listener.accept();
      } catch (error) {
        // The listener was closed by the signal handler: the signal ends the program.
        if (error instanceof ClosedDescriptorError) return;
        throw error;
      }
      using connection = client;
      const { pid, uid, gid } = connection.peerCredentials();
      console.log(`client pid ${pid} uid ${uid} gid ${gid}`);
      if (uid !== myUid) {
        console.log(`refused pid ${pid}: ${describeUser(uid)} is not this server's user (${describeUser(myUid)})`);
        continue;
      }
      try {
        await connection.send(`hello, pid ${pid}\n`);
      } catch (error) {
        // A client may leave at any moment (killed, or a rival server's probe): the server goes on.
        if (!isSystemError(error, "EPIPE") && !isSystemError(error, "ECONNRESET")) throw error;
        console.log(`pid ${pid} left before its greeting (${error.code})`);
        continue;
      }
      console.log(`greeted pid ${pid}`);
    }
  } finally {
    stopCleanupOnSignal();
    listener.close();
  }
});
