/**
 * The server's side of the two-way chat (protocol.ts), which the tutorial's one-way server (P11)
 * does not have: `server --chat` hands each `@hello <pid>` line of the shared FIFO to ChatClients,
 * which checks that client's folder and FIFOs, reads its messages, and sends each line typed on the
 * server's stdin to the client that spoke last.
 */
import { lstatSync, readFileSync } from "node:fs";
import { perrorLine, describeUser } from "@linux-ipc/programs";
import { openFifoForReading, tryOpenFifoForWriting, AsyncFd, close, fstat, isSystemError, SystemError, watchProcessExit } from "@linux-ipc/core";
import { chatDirPath, parseHello, toClientPath, toServerPath } from "./protocol.ts";

function note(text: string): void {
  process.stderr.write(`server: ${text}\n`);
}

const reason = (error: unknown): string => (error instanceof SystemError ? perrorLine(error) : String((error as Error).message ?? error));

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
export class ChatClients {
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
