/**
 * server (P11): makes the FIFO (mode 0644), reads it, prints each line a client sent as
 * `Client#: <text>`, and once every writer has gone (end of file) prints `client quit!!!`.
 *
 * What differs from the C, and why:
 * - One `Client#:` per line received. The C prints one per read() chunk: two lines that arrive
 *   together print as one message with the client's "\n" inside, and a long line comes out in
 *   127-byte pieces.
 * - A FIFO of this user already at the path is reused (the C fails with EEXIST); anything else there
 *   is an error. A FIFO another user made there is refused (exit 1, naming its owner): in /tmp it
 *   would be theirs to read what clients send, or to write lines that print as `Client#:`. A
 *   symbolic link at the path is not followed. The check is made on the opened descriptor.
 * - --mode sets the FIFO's mode (less the umask). The C's 0644 is the default: every user may open
 *   it for reading and so take lines meant for the server; 0600 keeps it to this user (and root).
 *   A FIFO this server made is removed at the end and on SIGINT/SIGTERM/SIGHUP (the C leaves it).
 * - The FIFO is opened with O_NONBLOCK and the first writer is awaited on epoll: Node's fs.open
 *   would hold a libuv thread until a client came, and a blocking open through koffi would freeze
 *   the event loop, signal handlers included.
 * - The `Server# ` prompt is printed only when stdout is a terminal, so piped output is one line per
 *   message. A line on stderr says which FIFO it reads, for whoever starts it.
 * - Two-way chat (protocol.ts): clients started with --chat get a reply FIFO; with --chat here, each
 *   line typed on stdin answers the client that spoke last.
 * Exit codes as in the C: 1 if the FIFO cannot be made, 2 if it cannot be opened.
 */
import { createInterface } from "node:readline";
import { runMain, parseCommand, onTerminationSignal, perrorLine, parseMode, usageText, describeUser } from "@linux-ipc/programs";
import { createOrReuseFifo, openFifoForReading, tryOpenFifoForWriting, removeFifoIfPresent, readLineBytes, writeAllAsync, close, isSystemError, SystemError, ForeignFifoError } from "@linux-ipc/core";
import { parseClientLine, replyFifoPath } from "./protocol.ts";

const CLIENT_PREFIX = Buffer.from("Client#: ");
const NEWLINE = Buffer.from("\n");

function note(text: string): void {
  process.stderr.write(`server: ${text}\n`);
}

const reason = (error: unknown): string => (error instanceof SystemError ? perrorLine(error) : String((error as Error).message ?? error));

/** Lets runMain end the program with the C's exit code for this failure. */
const withExitCode = (error: unknown, exitCode: number): Error => Object.assign(error as Error, { exitCode });

/** The clients that asked for answers, and who spoke last. Reply writes run one after another. */
class ChatClients {
  readonly #serverFifo: string;
  readonly #replyFds = new Map<number, number>();
  #lastSpeaker: number | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(serverFifo: string) {
    this.#serverFifo = serverFifo;
  }

  /** Handles one line from the FIFO; returns the text to print as `Client#:`, or null for a control line. */
  receive(line: string): string | null {
    const parsed = parseClientLine(line);
    switch (parsed.kind) {
      case "hello":
        this.#join(parsed.pid);
        return null;
      case "bye":
        this.#enqueue(() => this.#leave(parsed.pid, "left"));
        return null;
      case "message":
        // From a client that never said hello, `@<pid> …` is somebody's one-way text: print it whole.
        if (!this.#replyFds.has(parsed.pid)) {
          this.#lastSpeaker = null;
          return line;
        }
        this.#lastSpeaker = parsed.pid;
        return parsed.text;
      case "plain":
        this.#lastSpeaker = null;
        return parsed.text;
    }
  }

  /** Sends `text` to the client that spoke last. */
  answer(text: string): void {
    const pid = this.#lastSpeaker;
    if (pid === null) {
      note("nobody to answer: the last message came from a one-way writer, or none came yet");
      return;
    }
    this.#enqueue(async () => {
      const fd = this.#replyFds.get(pid);
      if (fd === undefined) return;
      try {
        await writeAllAsync(fd, `${text}\n`);
      } catch (error) {
        if (!isSystemError(error, "EPIPE")) throw error;
        this.#leave(pid, "went away (EPIPE)");
      }
    });
  }

  /** Waits for pending answers, then closes every reply FIFO. */
  async closeAll(): Promise<void> {
    await this.#queue;
    for (const pid of [...this.#replyFds.keys()]) this.#leave(pid, "left");
  }

  #join(pid: number): void {
    const path = replyFifoPath(this.#serverFifo, pid);
    let fd: number | null;
    try {
      fd = tryOpenFifoForWriting(path, { noFollow: true });
    } catch (error) {
      note(`client ${pid} cannot be answered: ${reason(error)}`);
      return;
    }
    if (fd === null) {
      note(`client ${pid} cannot be answered: nobody reads ${path}`);
      return;
    }
    const previous = this.#replyFds.get(pid);
    if (previous !== undefined) close(previous);
    this.#replyFds.set(pid, fd);
    note(`client ${pid} joined; answering over ${path}`);
  }

  #leave(pid: number, how: string): void {
    const fd = this.#replyFds.get(pid);
    if (fd === undefined) return;
    this.#replyFds.delete(pid);
    if (this.#lastSpeaker === pid) this.#lastSpeaker = null;
    close(fd);
    note(`client ${pid} ${how}`);
  }

  #enqueue(task: () => void | Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((error: unknown) => {
      note(`answering failed: ${reason(error)}`);
    });
  }
}

await runMain("server", async () => {
  const spec = {
    name: "server",
    summary: "P11: make a FIFO and print every line clients write to it, until the last one leaves",
    options: {
      fifo: { type: "string", value: "PATH", description: "the FIFO to make (or reuse) and read", default: "./fifo" },
      chat: { type: "boolean", description: "answer chat clients: each line typed on stdin goes to the client that spoke last" },
      mode: { type: "string", value: "MODE", description: "octal mode of the FIFO it makes, less the umask (0644 as in the C: all may read; 0600: this user only)", default: "0644" },
    },
    details: "Any writer is a client: `echo hello > fifo` works. See protocol.ts for the two-way chat.",
  } as const;
  const { values } = parseCommand(spec);
  const path = values.fifo;
  const mode = parseMode(values.mode, "server", usageText(spec));

  let created: boolean;
  try {
    created = createOrReuseFifo(path, mode);
  } catch (error) {
    throw withExitCode(error, 1);
  }
  const removeCreated = (): void => {
    if (created) removeFifoIfPresent(path);
  };
  const stopCleanupOnSignal = onTerminationSignal(removeCreated);

  let fd: number;
  try {
    fd = openFifoForReading(path, { noFollow: true, owner: process.geteuid!() });
  } catch (error) {
    stopCleanupOnSignal();
    removeCreated();
    if (error instanceof ForeignFifoError) {
      const message = `'${path}' is a FIFO of ${describeUser(error.uid)}, not of this user (uid ${error.expectedUid}): refusing to use it; remove it, or choose another --fifo`;
      throw withExitCode(new Error(message), 1);
    }
    throw withExitCode(error, 2);
  }
  note(`reading ${path} (pid ${process.pid})`);

  // Without --chat every line is a one-way message, printed as received whatever it looks like.
  const clients = values.chat ? new ChatClients(path) : null;
  const answers = clients ? createInterface({ input: process.stdin }) : null;
  answers?.on("line", (text) => clients?.answer(text));
  const prompt = (): void => {
    if (process.stdout.isTTY) process.stdout.write("Server# ");
  };

  try {
    prompt();
    for await (const line of readLineBytes(fd)) {
      if (clients) {
        const text = clients.receive(line.toString("utf8"));
        if (text !== null) process.stdout.write(`Client#: ${text}\n`);
      } else {
        // The bytes as the client sent them, as the C prints them: no decoding on the way.
        process.stdout.write(Buffer.concat([CLIENT_PREFIX, line, NEWLINE]));
      }
      prompt();
    }
  } finally {
    answers?.close();
    if (answers) process.stdin.destroy();
    await clients?.closeAll();
    close(fd);
    stopCleanupOnSignal();
    removeCreated();
  }
  console.log("client quit!!!");
});
