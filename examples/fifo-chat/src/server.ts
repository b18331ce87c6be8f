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
 *   With --chat the default is 0600.
 *   A FIFO this server made is removed at the end and on SIGINT/SIGTERM/SIGHUP (the C leaves it).
 * - The FIFO is opened with O_NONBLOCK and the first writer is awaited on epoll: Node's fs.open
 *   would hold a libuv thread until a client came, and a blocking open through koffi would freeze
 *   the event loop, signal handlers included. Each FIFO is read (and written) through an AsyncFd,
 *   which keeps one libuv poll handle for it rather than making one per read.
 * - The `Server# ` prompt is printed only when stdout is a terminal, so piped output is one line per
 *   message. A line on stderr says which FIFO it reads, for whoever starts it.
 * - Two-way chat (protocol.ts): clients started with --chat send their messages over a FIFO of their
 *   own and get answers over another, both in a 0700 folder the client made and the server checks;
 *   with --chat here, each line typed on stdin answers the client that spoke last. Lines on the
 *   shared FIFO other than `@hello <pid>` are one-way messages, whoever wrote them.
 * Exit codes as in the C: 1 if the FIFO cannot be made, 2 if it cannot be opened.
 */
import { lstatSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { runMain, parseCommand, onTerminationSignal, perrorLine, describeUser } from "@linux-ipc/programs";
import { createOrReuseFifo, openFifoForReading, tryOpenFifoForWriting, removeFifoIfPresent, AsyncFd, close, fstat, isSystemError, SystemError, ForeignFifoError, watchProcessExit } from "@linux-ipc/core";
import { chatDirPath, parseHello, toClientPath, toServerPath } from "./protocol.ts";

const CLIENT_PREFIX = Buffer.from("Client#: ");
const NEWLINE = Buffer.from("\n");

function note(text: string): void {
  process.stderr.write(`server: ${text}\n`);
}

const reason = (error: unknown): string => (error instanceof SystemError ? perrorLine(error) : String((error as Error).message ?? error));

/** Lets runMain end the program with the C's exit code for this failure. */
const withExitCode = (error: unknown, exitCode: number): Error => Object.assign(error as Error, { exitCode });

/** The effective uid process `pid` runs as, from /proc/<pid>/status; null if there is no such process. */
function processUid(pid: number): number | null {
  try {
    const uids = /^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return uids ? Number(uids[1]) : null;
  } catch {
    return null;
  }
}

/** A client that said hello and passed the checks: its two FIFOs and the loop reading its messages. */
interface ChatClient {
  reply: AsyncFd;
  messages: AsyncFd;
  reading: Promise<void>;
}

/** The clients that asked for answers, and who spoke last. Reply writes run one after another. */
class ChatClients {
  readonly #serverFifo: string;
  readonly #print: (text: Buffer) => void;
  readonly #clients = new Map<number, ChatClient>();
  #lastSpeaker: number | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(serverFifo: string, print: (text: Buffer) => void) {
    this.#serverFifo = serverFifo;
    this.#print = print;
  }

  /**
   * Handles one line from the shared FIFO: `@hello <pid>` starts a chat with that client (true), any
   * other line is a one-way message (false), whoever wrote it: the shared FIFO names no writer.
   */
  receive(line: string): boolean {
    const pid = parseHello(line);
    if (pid === null) {
      this.#lastSpeaker = null;
      return false;
    }
    if (!this.#clients.has(pid)) this.#join(pid);
    return true;
  }

  /** Sends `text` to the client that spoke last. */
  answer(text: string): void {
    const pid = this.#lastSpeaker;
    if (pid === null) {
      note("nobody to answer: the last message came from a one-way writer, or none came yet");
      return;
    }
    this.#enqueue(async () => {
      const client = this.#clients.get(pid);
      if (client === undefined) return;
      try {
        await client.reply.writeAll(`${text}\n`);
      } catch (error) {
        if (!isSystemError(error, "EPIPE")) throw error;
        this.#leave(pid, "went away (EPIPE)");
      }
    });
  }

  /** Waits for every client to close its `to-server` FIFO and for pending answers, then closes the rest. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((client) => client.reading));
    await this.#queue;
    for (const pid of [...this.#clients.keys()]) this.#leave(pid, "left");
  }

  #join(pid: number): void {
    const dir = chatDirPath(this.#serverFifo, pid);
    let replyFd: number | null = null;
    let messagesFd: number | null = null;
    try {
      const uid = processUid(pid);
      if (uid === null) throw new Error(`there is no process ${pid}`);
      // lstat: a link to some other folder is refused, not followed.
      const folder = lstatSync(dir);
      if (!folder.isDirectory()) throw new Error(`'${dir}' is not a folder`);
      // Its owner (or root) alone can have made the FIFOs in a folder nobody else may write in.
      if (folder.uid !== uid) throw new Error(`'${dir}' belongs to ${describeUser(folder.uid)}, but process ${pid} runs as ${describeUser(uid)}`);
      if ((folder.mode & 0o022) !== 0) throw new Error(`others may write in '${dir}' (mode 0${(folder.mode & 0o777).toString(8)})`);
      replyFd = tryOpenFifoForWriting(toClientPath(this.#serverFifo, pid), { noFollow: true });
      if (replyFd === null) throw new Error(`nobody reads ${toClientPath(this.#serverFifo, pid)}`);
      const replyOwner = fstat(replyFd).uid;
      if (replyOwner !== uid) throw new Error(`'${toClientPath(this.#serverFifo, pid)}' belongs to ${describeUser(replyOwner)}`);
      messagesFd = openFifoForReading(toServerPath(this.#serverFifo, pid), { noFollow: true, owner: uid });
      note(`client ${pid} joined as ${describeUser(uid)}; answering over ${toClientPath(this.#serverFifo, pid)}`);
    } catch (error) {
      if (replyFd !== null) close(replyFd);
      note(`client ${pid} refused: ${reason(error)}`);
      return;
    }
    const reply = new AsyncFd(replyFd);
    const messages = new AsyncFd(messagesFd);
    // Linux reports no end of file to a reader that has seen no writer yet, so a client that died
    // before opening to-server would keep this loop (and the server's end) waiting for ever. When the
    // process ends, the server opens the FIFO for writing itself, through its own descriptor (the
    // path may be gone), and closes it: the loop then reads what is buffered and sees end of file.
    const stopWatching = watchProcessExit(pid, () => {
      try {
        const writer = tryOpenFifoForWriting(`/proc/self/fd/${messages.fd}`);
        if (writer !== null) close(writer);
      } catch (error) {
        note(`client ${pid} has ended, but its FIFO could not be closed: ${reason(error)}`);
      }
    });
    const reading = (async () => {
      for await (const line of messages.readLineBytes()) {
        this.#lastSpeaker = pid;
        this.#print(line);
      }
    })()
      .catch((error: unknown) => note(`reading client ${pid}: ${reason(error)}`))
      .finally(stopWatching); // before the descriptor is closed and its number reused
    // End of file: the client closed to-server, so it has left (once pending answers are out).
    this.#clients.set(pid, { reply, messages, reading });
    void reading.then(() => this.#enqueue(() => this.#leave(pid, "left")));
  }

  #leave(pid: number, how: string): void {
    const client = this.#clients.get(pid);
    if (client === undefined) return;
    this.#clients.delete(pid);
    if (this.#lastSpeaker === pid) this.#lastSpeaker = null;
    client.reply.close();
    // After EPIPE the reading loop may still run: it ends at end of file, and closes nothing itself.
    void client.reading.then(() => client.messages.close());
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
      mode: { type: "mode", value: "MODE", description: "octal mode of the FIFO it makes, less the umask (default 0644 as in the C: all may read; with --chat 0600: this user only)" },
    },
    details: "Any writer is a client: `echo hello > fifo` works. See protocol.ts for the two-way chat.",
  } as const;
  const { values } = parseCommand(spec);
  const path = values.fifo;
  // The tutorial's one-way mode keeps the C's 0644; the chat, which the C programs never join, is
  // this user's alone unless --mode says otherwise (0644 only ever let other users read, never write).
  const mode = values.mode ?? (values.chat ? 0o600 : 0o644);

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

  let fifo: AsyncFd;
  try {
    fifo = new AsyncFd(openFifoForReading(path, { noFollow: true, owner: process.geteuid!() }));
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
  const printMessage = (line: Buffer): void => {
    // The bytes as the client sent them, as the C prints them: no decoding on the way.
    process.stdout.write(Buffer.concat([CLIENT_PREFIX, line, NEWLINE]));
    prompt();
  };
  const clients = values.chat ? new ChatClients(path, printMessage) : null;
  const answers = clients ? createInterface({ input: process.stdin }) : null;
  answers?.on("line", (text) => clients?.answer(text));
  const prompt = (): void => {
    if (process.stdout.isTTY) process.stdout.write("Server# ");
  };

  try {
    prompt();
    for await (const line of fifo.readLineBytes()) {
      if (!clients?.receive(line.toString("utf8"))) printMessage(line);
    }
  } finally {
    answers?.close();
    if (answers) process.stdin.destroy();
    await clients?.closeAll();
    fifo.close();
    stopCleanupOnSignal();
    removeCreated();
  }
  console.log("client quit!!!");
});
