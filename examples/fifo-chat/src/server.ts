/**
 * server (P11): makes the FIFO (mode 0644), reads it, prints what clients send as `Client#: <text>`,
 * and once every writer has gone (end of file) prints `client quit!!!`. c/server.c is the C program.
 *
 * What differs from the C, and why:
 * - One `Client#:` line per line read, without the C's blank line after each: each read() is cut at
 *   its newlines. A piece without a newline is printed when it is read, as the C prints it, never
 *   held for bytes still to come: the next bytes may be another client's, and a FIFO does not say
 *   who wrote what. A read takes all the FIFO holds (1 MiB asked), so a line sent in one write()
 *   comes out whole; the C's 127-byte reads cut long lines.
 * - A FIFO of this user already at the path is reused (the C fails with EEXIST); anything else there
 *   is an error. A FIFO another user made there is refused (exit 1, naming its owner): in /tmp it
 *   would be theirs to read what clients send, or to write lines that print as `Client#:`. A
 *   symbolic link at the path is not followed. The check is made on the opened descriptor.
 * - --mode sets the FIFO's mode (less the umask). The C's 0644 is the default: every user may open
 *   it for reading and so take lines meant for the server; 0600 keeps it to this user (and root).
 *   With --chat the default is 0600.
 *   A FIFO this server made is removed at the end and on SIGINT/SIGTERM/SIGHUP (the C leaves it).
 * - The FIFO is opened with O_NONBLOCK and the first writer is awaited on epoll: Node's fs.open
 *   would hold a libuv thread until a client came, and a blocking open through koffi would freeze
 *   the event loop, signal handlers included. The FIFO is read through an AsyncFd.
 * - The `Server# ` prompt is printed only when stdout is a terminal, so piped output is one line per
 *   message. A line on stderr says which FIFO it reads, for whoever starts it.
 * - --chat adds the two-way chat of protocol.ts (server-chat.ts), which the C does not have.
 * Exit codes as in the C: 1 if the FIFO cannot be made, 2 if it cannot be opened.
 */
import { createInterface } from "node:readline";
import { runMain, parseCommand, onTerminationSignal, describeUser, ExitError } from "@linux-ipc/programs";
import { createOrReuseFifo, openFifoForReading, removeFifoIfPresent, AsyncFd, ForeignFifoError } from "@linux-ipc/core";
import { ChatClients } from "./server-chat.ts";

const CLIENT_PREFIX = Buffer.from("Client#: ");
const NEWLINE = Buffer.from("\n");
/** The most an unprivileged process can make a pipe hold (pipe-max-size): one read empties the FIFO. */
const READ_SIZE = 1 << 20;

/** The lines of one read(), without their "\n", and the piece after the last "\n" if there is one. */
function* piecesOf(chunk: Buffer): Generator<Buffer> {
  let start = 0;
  for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
    yield chunk.subarray(start, end);
    start = end + 1;
  }
  if (start < chunk.byteLength) yield chunk.subarray(start);
}

await runMain("server", async () => {
  const { values } = parseCommand({
    name: "server",
    summary: "P11: make a FIFO and print what clients write to it, until the last one leaves",
    options: {
      fifo: { type: "string", value: "PATH", description: "the FIFO to make (or reuse) and read", default: "./fifo" },
      chat: { type: "boolean", description: "answer chat clients: each line typed on stdin goes to the client that spoke last" },
      mode: { type: "mode", value: "MODE", description: "octal mode of the FIFO it makes, less the umask (default 0644 as in the C: all may read; with --chat 0600: this user only)" },
    },
    details: "Any writer is a client: `echo hello > fifo` works. See protocol.ts for the two-way chat.",
  });
  const path = values.fifo;
  // The tutorial's one-way mode keeps the C's 0644; the chat, which the C programs never join, is
  // this user's alone unless --mode says otherwise (0644 only ever let other users read, never write).
  const mode = values.mode ?? (values.chat ? 0o600 : 0o644);

  let created: boolean;
  try {
    created = createOrReuseFifo(path, mode);
  } catch (error) {
    throw ExitError.from(error, 1);
  }
  const removeCreated = (): void => {
    if (created) removeFifoIfPresent(path);
  };
  const stopCleanupOnSignal = onTerminationSignal(removeCreated);

  let fifo: AsyncFd;
  try {
    fifo = new AsyncFd(openFifoForReading(path, { noFollow: true, owner: process.geteuid!() }));
  } catch (error) {
    stopCleanupOnSignal();
    removeCreated();
    if (error instanceof ForeignFifoError) {
      throw new ExitError(`'${path}' is a FIFO of ${describeUser(error.uid)}, not of this user (uid ${error.expectedUid}): refusing to use it; remove it, or choose another --fifo`, 1);
    }
    throw ExitError.from(error, 2);
  }
  process.stderr.write(`server: reading ${path} (pid ${process.pid})\n`);

  const prompt = (): void => {
    if (process.stdout.isTTY) process.stdout.write("Server# ");
  };
  const printMessage = (text: Buffer): void => {
    // The bytes as the client sent them, as the C prints them: no decoding on the way.
    process.stdout.write(Buffer.concat([CLIENT_PREFIX, text, NEWLINE]));
    prompt();
  };
  const chat = values.chat ? new ChatClients(path, printMessage) : null;
  const answers = chat ? createInterface({ input: process.stdin }) : null;
  answers?.on("line", (text) => chat?.answer(text));

  try {
    prompt();
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    for (let count = await fifo.read(buffer); count > 0; count = await fifo.read(buffer)) {
      // Without --chat every piece is a one-way message, printed as received whatever it looks like.
      for (const piece of piecesOf(buffer.subarray(0, count))) {
        if (!chat?.receive(piece.toString("utf8"))) printMessage(piece);
      }
    }
  } finally {
    answers?.close();
    if (answers) process.stdin.destroy();
    await chat?.closeAll();
    fifo.close();
    stopCleanupOnSignal();
    removeCreated();
  }
  console.log("client quit!!!");
});
