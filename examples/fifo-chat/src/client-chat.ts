/**
 * The client's side of the two-way chat (protocol.ts), which the tutorial's one-way client (P12)
 * does not have: `client --chat` joins with `joinChat`, sends its messages over its own `to-server`
 * FIFO, and shows each answer that comes back over `to-client`.
 */
import { lstatSync, mkdirSync, rmSync } from "node:fs";
import { onTerminationSignal, ExitError, describeFailure, describeUser } from "@linux-ipc/programs";
import { mkfifo, openFifoForReading, openFifoForWriting, AsyncFd, isSystemError } from "@linux-ipc/core";
import { chatDirPath, helloLine, toClientPath, toServerPath } from "./protocol.ts";

const REPLY_FIFO_MODE = 0o600;

/** Writes one message; a server that has gone is reported in words rather than as a bare EPIPE. */
export async function send(fifo: AsyncFd, path: string, data: string | Buffer): Promise<void> {
  try {
    await fifo.writeAll(data);
  } catch (error) {
    if (isSystemError(error, "EPIPE")) throw new ExitError(`write '${path}': Broken pipe (the server has gone)`, 1);
    throw error;
  }
}

/** How long a chat client waits for the server to open its `to-server` FIFO after the hello. */
const JOIN_TIMEOUT_MS = 10_000;

/** The chat's side of this client: where its messages go, and `stop()` to leave. */
export interface Chat {
  messages: AsyncFd;
  messagesPath: string;
  stop(): Promise<void>;
}

/**
 * Joins the two-way chat (protocol.ts): makes the 0700 folder and its two FIFOs, reads `to-client`,
 * says hello on the shared FIFO, and waits for the server to open `to-server`. `stop()` undoes it.
 */
export async function joinChat(serverFifo: string, server: AsyncFd, showAnswer: (text: string) => void): Promise<Chat> {
  const dir = chatDirPath(serverFifo, process.pid);
  try {
    // mkdir fails if the name is taken: nobody can have prepared FIFOs here to answer in the server's name.
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const owner = lstatSync(dir).uid;
    throw new ExitError(
      `'${dir}' already exists and belongs to ${owner === process.geteuid!() ? "this user" : describeUser(owner)}: refusing to take answers through it; remove it and start again`,
      2,
    );
  }
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  const stopCleanupOnSignal = onTerminationSignal(remove);
  let answers: AsyncFd | null = null;
  let messages: AsyncFd | null = null;
  const stopReading = new AbortController();
  let reading: Promise<void> = Promise.resolve();
  const stop = async (): Promise<void> => {
    // Closing to-server first tells the server this client has left before the shared FIFO closes.
    messages?.close();
    stopReading.abort();
    await reading;
    answers?.close();
    stopCleanupOnSignal();
    remove();
  };
  try {
    mkfifo(toClientPath(serverFifo, process.pid), REPLY_FIFO_MODE);
    mkfifo(toServerPath(serverFifo, process.pid), REPLY_FIFO_MODE);
    // Opened before the hello: the server opens its end with O_NONBLOCK, which needs a reader there.
    const answersFifo = new AsyncFd(openFifoForReading(toClientPath(serverFifo, process.pid), { noFollow: true, owner: process.geteuid!() }));
    answers = answersFifo;
    reading = (async () => {
      for await (const line of answersFifo.readLines({ signal: stopReading.signal })) showAnswer(line);
    })().catch((error: unknown) => {
      if (!stopReading.signal.aborted) process.stderr.write(`${describeFailure("client: reading answers", error)}\n`);
    });
    await send(server, serverFifo, helloLine(process.pid));
    const messagesPath = toServerPath(serverFifo, process.pid);
    try {
      messages = new AsyncFd(await openFifoForWriting(messagesPath, { signal: AbortSignal.timeout(JOIN_TIMEOUT_MS) }));
    } catch (error) {
      if ((error as Error).name !== "TimeoutError") throw error;
      throw new ExitError(`the server did not open '${messagesPath}' within ${JOIN_TIMEOUT_MS / 1000} s: is it running with --chat, as this user or root? (its stderr says why it refused)`, 2);
    }
    return { messages, messagesPath, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
