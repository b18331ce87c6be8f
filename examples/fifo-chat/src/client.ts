/**
 * client (P12): opens the server's FIFO for writing, sends it each line of standard input, and at the
 * end of input prints `client quit!!!`. c/client.c is the C program.
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
 * - With --chat it takes part in the two-way chat of protocol.ts (client-chat.ts): it makes the
 *   folder `<FIFO>.<pid>` (mode 0700) with its two FIFOs, says hello on the shared FIFO, sends its
 *   messages over its own `to-server` FIFO, prints each answer as `Server#: <text>`, and removes the
 *   folder at the end and on SIGINT/SIGTERM/SIGHUP. A folder already at that name is refused (exit
 *   2), and so is a server that has not opened `to-server` within 10 s (not a --chat server, or one
 *   that refused it).
 * Exit code 2 when the FIFO cannot be opened, as in the C.
 */
import { createInterface, type Interface } from "node:readline";
import { runMain, parseCommand, ExitError } from "@linux-ipc/programs";
import { openFifoForWriting, LineSplitter, AsyncFd, PIPE_BUF } from "@linux-ipc/core";
import { joinChat, send, type Chat } from "./client-chat.ts";

const NEWLINE = Buffer.from("\n");

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

  let server: AsyncFd;
  try {
    server = new AsyncFd(await openFifoForWriting(path));
  } catch (error) {
    throw ExitError.from(error, 2);
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
  let chat: Chat | null = null;
  // A last line without "\n" goes out without one, as the C sends what it read; the chat's protocol
  // is made of whole lines, so there it gets one.
  const sendLine = async (line: Buffer, hadNewline = true): Promise<void> => {
    const message = hadNewline || chat ? Buffer.concat([line, NEWLINE]) : line;
    // Only the shared FIFO has other writers: a chat client's own to-server FIFO has none to mix with.
    if (!chat && message.byteLength > PIPE_BUF) {
      process.stderr.write(`client: this line is ${message.byteLength} bytes, more than PIPE_BUF (${PIPE_BUF}): other clients' lines may mix into it\n`);
    }
    if (chat) await send(chat.messages, chat.messagesPath, message);
    else await send(server, path, message);
  };
  try {
    if (values.chat) chat = await joinChat(path, server, showAnswer);
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
      if (last !== null) await sendLine(last, false);
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
  } finally {
    input?.close();
    process.stdin.destroy();
    await chat?.stop();
    server.close();
  }
  console.log("client quit!!!");
});
