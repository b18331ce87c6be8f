/**
 * client (P12): opens the server's FIFO for writing, sends it each line of standard input, and at the
 * end of input prints `client quit!!!`.
 *
 * What differs from the C, and why:
 * - Waiting for the server holds no thread: the open is a nonblocking one retried while it fails with
 *   ENXIO (no reader yet), where the C blocks in open(). A missing FIFO is an error at once, as in C.
 * - Each line goes out in one write() call, so a line of up to PIPE_BUF (4096) bytes never mixes with
 *   another client's. A longer line is still sent whole, but the kernel may interleave it, and the
 *   client says so on stderr. The C writes whatever one read() of the terminal returned (≤127 bytes).
 * - The `Please Enter# ` prompt is printed only when stdout is a terminal.
 * - If the server has gone, write() fails with EPIPE: the C client dies of SIGPIPE, Node ignores that
 *   signal, so this client says what happened and exits 1.
 * - With --chat it takes part in the two-way chat of protocol.ts: it makes the reply FIFO
 *   `<FIFO>.<pid>`, prints each answer as `Server#: <text>`, and removes the reply FIFO at the end and
 *   on SIGINT/SIGTERM/SIGHUP.
 * Exit code 2 when the FIFO cannot be opened, as in the C.
 */
import { createInterface, type Interface } from "node:readline";
import { runMain, parseCommand, onTerminationSignal, ExitError, describeFailure } from "@linux-ipc/programs";
import { createOrReuseFifo, openFifoForReading, openFifoForWriting, removeFifoIfPresent, LineSplitter, readLines, writeAllAsync, close, PIPE_BUF, isSystemError } from "@linux-ipc/core";
import { byeLine, helloLine, messageLine, replyFifoPath } from "./protocol.ts";

const REPLY_FIFO_MODE = 0o600;
const NEWLINE = Buffer.from("\n");

/** Writes one message; a server that has gone is reported in words rather than as a bare EPIPE. */
async function send(fd: number, path: string, data: string | Buffer): Promise<void> {
  try {
    await writeAllAsync(fd, data);
  } catch (error) {
    if (isSystemError(error, "EPIPE")) throw new ExitError(`write '${path}': Broken pipe (the server has gone)`, 1);
    throw error;
  }
}

/** Joins the two-way chat: makes and reads the reply FIFO, then says hello. `stop()` undoes it. */
async function joinChat(serverFifo: string, fd: number, showAnswer: (text: string) => void): Promise<{ stop(): Promise<void> }> {
  const path = replyFifoPath(serverFifo, process.pid);
  createOrReuseFifo(path, REPLY_FIFO_MODE);
  const remove = (): void => void removeFifoIfPresent(path);
  const stopCleanupOnSignal = onTerminationSignal(remove);
  // Opened before the hello: the server opens its end with O_NONBLOCK, which needs a reader there.
  const replyFd = openFifoForReading(path);
  const stopReading = new AbortController();
  const reading = (async () => {
    for await (const line of readLines(replyFd, { signal: stopReading.signal })) showAnswer(line);
  })().catch((error: unknown) => {
    if (!stopReading.signal.aborted) process.stderr.write(`${describeFailure("client: reading answers", error)}\n`);
  });
  const stop = async (): Promise<void> => {
    stopReading.abort();
    await reading;
    close(replyFd);
    stopCleanupOnSignal();
    remove();
  };
  try {
    await send(fd, serverFifo, helloLine(process.pid));
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}

await runMain("client", async () => {
  const { values } = parseCommand({
    name: "client",
    summary: "P12: send each line of standard input to the server's FIFO",
    options: {
      fifo: { type: "string", value: "PATH", description: "the server's FIFO", default: "./fifo" },
      chat: { type: "boolean", description: "two-way chat: receive the server's answers over a FIFO of this client's own" },
    },
  });
  const path = values.fifo;
  const onTerminal = process.stdout.isTTY === true;

  let fd: number;
  try {
    fd = await openFifoForWriting(path);
  } catch (error) {
    throw Object.assign(error as Error, { exitCode: 2 });
  }

  let input: Interface | null = null;
  const showAnswer = (text: string): void => {
    if (!onTerminal) {
      process.stdout.write(`Server#: ${text}\n`);
      return;
    }
    // The answer takes the prompt's line, and the prompt (with what was typed so far) comes back under it.
    process.stdout.write(`\r\x1b[KServer#: ${text}\n`);
    input?.prompt(true);
  };
  let chat: { stop(): Promise<void> } | null = null;
  const sendLine = async (line: Buffer): Promise<void> => {
    const message = chat ? Buffer.from(messageLine(process.pid, line.toString("utf8"))) : Buffer.concat([line, NEWLINE]);
    if (message.byteLength > PIPE_BUF) {
      process.stderr.write(`client: this line is ${message.byteLength} bytes, more than PIPE_BUF (${PIPE_BUF}): other clients' lines may mix into it\n`);
    }
    await send(fd, path, message);
  };
  try {
    if (values.chat) chat = await joinChat(path, fd, showAnswer);
    if (process.stdin.isTTY !== true) {
      // Input from a pipe or a file goes out byte for byte, as the C writes it: cut into lines, never decoded.
      if (onTerminal) process.stdout.write("Please Enter# ");
      const splitter = new LineSplitter();
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        for (const line of splitter.push(chunk)) {
          await sendLine(line);
          if (onTerminal) process.stdout.write("Please Enter# ");
        }
      }
      const last = splitter.flush();
      if (last !== null) await sendLine(last);
    } else {
      // A person typing: readline edits the line and keeps the prompt in place around answers.
      // Made right before the loop that reads it: lines it parsed earlier would be lost.
      input = createInterface({ input: process.stdin, output: onTerminal ? process.stdout : undefined, terminal: onTerminal, prompt: "Please Enter# " });
      if (onTerminal) input.prompt();
      for await (const line of input) {
        await sendLine(Buffer.from(line));
        if (onTerminal) input.prompt();
      }
    }
    if (chat) await send(fd, path, byeLine(process.pid));
  } finally {
    input?.close();
    process.stdin.destroy();
    await chat?.stop();
    close(fd);
  }
  console.log("client quit!!!");
});
