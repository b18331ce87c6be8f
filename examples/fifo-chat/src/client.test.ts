import { describe, expect, it } from "vitest";
import { chmodSync, chownSync, existsSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { mkfifo } from "@linux-ipc/core";
import { startProgram, runProgram, runCommand, startCommand, compiledC, cSkipReason, useTempDir, type RunningProgram, compiledProgram } from "@linux-ipc/testing/vitest";

const server = compiledProgram(import.meta.url, "server");
const client = compiledProgram(import.meta.url, "client");
const dir = useTempDir("fifo-chat-client-");

function stopAll(...programs: RunningProgram[]): void {
  for (const program of programs) program.kill("SIGKILL");
}

describe("client (P12)", () => {
  it("writes each line for a plain reader, cat, and prints client quit!!! at the end of input", async () => {
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o644);
    const cat = startCommand("cat", [fifo]);
    try {
      const sent = await runProgram(client, ["--fifo", fifo], { input: "first line\nsecond line\n" });
      // Piped output: no "Please Enter# " prompt.
      expect(sent).toMatchObject({ code: 0, stdout: "client quit!!!\n", stderr: "" });
      expect(await cat.exited).toMatchObject({ code: 0, stdout: "first line\nsecond line\n" });
    } finally {
      stopAll(cat);
    }
  });

  it("sends piped input byte for byte: no decoding, carriage returns and bytes 0x80-0xff kept", async () => {
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o644);
    const cat = startCommand("cat", [fifo]);
    try {
      const everyByteButNewline = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 0x0a));
      const input = Buffer.concat([Buffer.from("a\xffb\r\n", "latin1"), everyByteButNewline, Buffer.from("\n"), Buffer.from("last line, no newline")]);
      const sent = await runProgram(client, ["--fifo", fifo], { input });
      expect(sent).toMatchObject({ code: 0, stdout: "client quit!!!\n" });
      const received = await cat.exited;
      // Exactly what was read: the last line goes out without the "\n" it lacks, as the C sends it.
      expect(received.stdoutBytes.equals(input)).toBe(true);
    } finally {
      stopAll(cat);
    }
  });

  it("waits for a reader to arrive, however late", async () => {
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o644);
    const sender = startProgram(client, ["--fifo", fifo]);
    try {
      sender.write("sent before anyone listened\n");
      sender.closeStdin();
      const cat = startCommand("cat", [fifo]);
      expect(await cat.exited).toMatchObject({ code: 0, stdout: "sent before anyone listened\n" });
      expect(await sender.exited).toMatchObject({ code: 0, stdout: "client quit!!!\n" });
    } finally {
      stopAll(sender);
    }
  });

  it("says so on stderr when a line is too long to be atomic, and still sends it whole", async () => {
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o644);
    const cat = startCommand("cat", [fifo]);
    try {
      const long = "x".repeat(5000);
      const sent = await runProgram(client, ["--fifo", fifo], { input: `${long}\nshort\n` });
      expect(sent.code).toBe(0);
      expect(sent.stderr).toBe("client: this line is 5001 bytes, more than PIPE_BUF (4096): other clients' lines may mix into it\n");
      expect((await cat.exited).stdout).toBe(`${long}\nshort\n`);
    } finally {
      stopAll(cat);
    }
  });

  it("fails with exit code 2 when the FIFO does not exist", async () => {
    const fifo = dir.file("nowhere");
    const result = await runProgram(client, ["--fifo", fifo], { input: "lost\n" });
    expect(result).toMatchObject({ code: 2, stdout: "", stderr: `client: open '${fifo}': No such file or directory\n` });
  });

  it("fails with exit code 2, naming what the path is, when it is a UNIX socket (whose open fails with ENXIO)", async () => {
    const path = dir.file("socket");
    const listener = createServer();
    await new Promise<void>((resolve) => listener.listen(path, resolve));
    try {
      // Before the fix the client took ENXIO for "no server yet" and retried until killed.
      const result = await runProgram(client, ["--fifo", path], { input: "never sent\n", timeoutMs: 10_000 });
      expect(result).toMatchObject({ code: 2, stdout: "", stderr: `client: '${path}' is a socket, not a FIFO\n` });
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it("with --chat, removes its reply FIFO on SIGTERM", async () => {
    const fifo = dir.file("fifo");
    const program = startProgram(server, ["--chat", "--fifo", fifo]);
    const running = [program];
    try {
      await program.waitForLine(`server: reading ${fifo}`, { stream: "stderr" });
      const talker = startProgram(client, ["--chat", "--fifo", fifo]);
      running.push(talker);
      await program.waitForLine(`client ${talker.pid} joined`, { stream: "stderr" });
      expect(existsSync(`${fifo}.${talker.pid}`)).toBe(true);
      talker.kill("SIGTERM");
      expect(await talker.exited).toMatchObject({ signal: "SIGTERM" });
      expect(existsSync(`${fifo}.${talker.pid}`)).toBe(false);
      // The only writer has gone: the server reaches end of file.
      expect(await program.exited).toMatchObject({ code: 0, stdout: "client quit!!!\n" });
    } finally {
      stopAll(...running);
    }
  });
});

describe("client --chat and another user's files", () => {
  it.runIf(process.geteuid?.() === 0)("refuses a name for its answers that another user took first, rather than read answers through it (exit 2)", async () => {
    chmodSync(dir.path, 0o1777);
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o644);
    // Until a reader comes the client waits in its open of the server's FIFO: its pid is known by then.
    const talker = startProgram(client, ["--chat", "--fifo", fifo]);
    try {
      // nobody made a FIFO where the answers used to go, to write lines that print as Server#:.
      const planted = `${fifo}.${talker.pid}`;
      mkfifo(planted, 0o666);
      chownSync(planted, 65534, 65534);
      const chatServer = startProgram(server, ["--chat", "--fifo", fifo]);
      talker.closeStdin();
      const result = await talker.exited;
      expect(result).toMatchObject({
        code: 2,
        stdout: "",
        stderr: `client: '${planted}' already exists and belongs to user nobody (uid 65534): refusing to take answers through it; remove it and start again\n`,
      });
      expect(statSync(planted).isFIFO()).toBe(true);
      expect((await chatServer.exited).code).toBe(0);
    } finally {
      stopAll(talker);
    }
  });
});

/** Resolves once `path` exists: the C server prints nothing before its open() returns. */
async function fifoMade(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} was not made within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(cSkipReason() !== null)("the C programs of the tutorial (c/server.c, c/client.c) against the TypeScript ones", () => {
  it.each([
    ["hello from TypeScript\n", "Server# Client#: hello from TypeScript\n\nServer# client quit!!!\n"],
    ["no newline at the end", "Server# Client#: no newline at the end\nServer# client quit!!!\n"],
  ])("the C server (one Client#: per read, the line's own newline included) reads the TypeScript client's %j", async (input, printed) => {
    const fifo = dir.file("fifo");
    const reader = startCommand(compiledC(import.meta.url, "server"), [fifo]);
    try {
      await fifoMade(fifo);
      expect((await runProgram(client, ["--fifo", fifo], { input })).code).toBe(0);
      expect(await reader.exited).toMatchObject({ code: 0, stdout: printed });
    } finally {
      stopAll(reader);
    }
  });

  it("the C client (one write per read() of its stdin) writes to the TypeScript server", async () => {
    const fifo = dir.file("fifo");
    const program = startProgram(server, ["--fifo", fifo]);
    try {
      await program.waitForLine(`server: reading ${fifo}`, { stream: "stderr" });
      const writer = startCommand(compiledC(import.meta.url, "client"), [fifo]);
      writer.write("from C, line one\nline two\n");
      writer.closeStdin();
      expect(await writer.exited).toMatchObject({ code: 0, stdout: "Please Enter# Please Enter# client quit!!!\n" });
      expect(await program.exited).toMatchObject({ code: 0, stdout: "Client#: from C, line one\nClient#: line two\nclient quit!!!\n" });
    } finally {
      stopAll(program);
    }
  });

  it("the C server and the C client talk as the tutorial shows", async () => {
    const fifo = dir.file("fifo");
    const reader = startCommand(compiledC(import.meta.url, "server"), [fifo]);
    try {
      await fifoMade(fifo);
      const writer = await runCommand(compiledC(import.meta.url, "client"), [fifo], { input: "hello\n" });
      expect(writer).toMatchObject({ code: 0, stdout: "Please Enter# Please Enter# client quit!!!\n" });
      expect(await reader.exited).toMatchObject({ code: 0, stdout: "Server# Client#: hello\n\nServer# client quit!!!\n" });
    } finally {
      stopAll(reader);
    }
  });
});
