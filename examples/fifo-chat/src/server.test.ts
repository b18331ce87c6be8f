import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkfifo, openDescriptors, PIPE_BUF } from "@linux-ipc/core";
import { describeUser } from "@linux-ipc/programs";
import { startProgram, startCommand, runProgram, runCommand, compiledC, cSkipReason, useTempDir, type RunningProgram, compiledProgram } from "@linux-ipc/testing/vitest";

const server = compiledProgram(import.meta.url, "server");
const client = compiledProgram(import.meta.url, "client");
const dir = useTempDir("fifo-chat-server-");
const me = describeUser(process.geteuid!());
const isRoot = process.geteuid?.() === 0;

/** Starts a server on `fifo` and waits until it reads the FIFO. */
async function startServer(fifo: string, extra: string[] = []): Promise<RunningProgram> {
  const program = startProgram(server, ["--fifo", fifo, ...extra]);
  try {
    await program.waitForLine(`server: reading ${fifo}`, { stream: "stderr" });
  } catch (error) {
    program.kill("SIGKILL");
    throw error;
  }
  return program;
}

/** Ends whatever a failed test left running. */
function stopAll(...programs: RunningProgram[]): void {
  for (const program of programs) program.kill("SIGKILL");
}

describe("server (P11)", () => {
  it("makes ./fifo, prints one Client#: line per line, then client quit!!! at end of file, and removes the FIFO", async () => {
    const program = startProgram(server, [], { cwd: dir.path });
    try {
      await program.waitForLine("server: reading ./fifo", { stream: "stderr" });
      expect(statSync(dir.file("fifo")).isFIFO()).toBe(true);
      expect(statSync(dir.file("fifo")).mode & 0o777).toBe(0o644 & ~process.umask());
      const sent = await runProgram(client, [], { cwd: dir.path, input: "hello\nworld\n" });
      expect(sent).toMatchObject({ code: 0, stdout: "client quit!!!\n", stderr: "" });
      const result = await program.exited;
      // Piped output: no "Server# " prompt, one line per message.
      expect(result).toMatchObject({ code: 0, signal: null, stdout: "Client#: hello\nClient#: world\nclient quit!!!\n" });
      expect(existsSync(dir.file("fifo"))).toBe(false);
    } finally {
      stopAll(program);
    }
  });

  it("takes any plain writer as a client: a shell's echo", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    try {
      const echo = await runCommand("sh", ["-c", 'echo "hello from sh" > "$0"', fifo]);
      expect(echo.code).toBe(0);
      expect(await program.exited).toMatchObject({ code: 0, stdout: "Client#: hello from sh\nclient quit!!!\n" });
    } finally {
      stopAll(program);
    }
  });

  it("prints what a writer sent byte for byte, undecoded, as the C does", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    try {
      const line = Buffer.from([0x78, 0xff, 0x80, 0xc3, 0x0d, 0x79]);
      writeFileSync(fifo, Buffer.concat([line, Buffer.from("\n")]));
      const result = await program.exited;
      expect(result.code).toBe(0);
      expect(result.stdoutBytes.equals(Buffer.concat([Buffer.from("Client#: "), line, Buffer.from("\nclient quit!!!\n")]))).toBe(true);
    } finally {
      stopAll(program);
    }
  });

  it("prints lines that look like chat protocol as they are when it is not in --chat mode", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    try {
      const lines = "@42 not a chat message\n@hello 1\n@bye 99\nplain\n";
      expect((await runCommand("sh", ["-c", 'printf "$1" > "$0"', fifo, lines])).code).toBe(0);
      const result = await program.exited;
      expect(result).toMatchObject({ code: 0, stdout: "Client#: @42 not a chat message\nClient#: @hello 1\nClient#: @bye 99\nClient#: plain\nclient quit!!!\n" });
      expect(result.stderr).not.toContain("cannot be answered");
    } finally {
      stopAll(program);
    }
  });

  it("ends with just client quit!!! when a writer opens and closes without writing", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    try {
      expect((await runCommand("sh", ["-c", ': > "$0"', fifo])).code).toBe(0);
      expect(await program.exited).toMatchObject({ code: 0, stdout: "client quit!!!\n" });
    } finally {
      stopAll(program);
    }
  });

  it("reuses a FIFO that already exists and leaves it in place", async () => {
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o600);
    const program = await startServer(fifo);
    try {
      await runProgram(client, ["--fifo", fifo], { input: "again\n" });
      expect(await program.exited).toMatchObject({ code: 0, stdout: "Client#: again\nclient quit!!!\n" });
      expect(statSync(fifo).isFIFO()).toBe(true);
    } finally {
      stopAll(program);
    }
  });

  it("refuses a regular file at the path (exit 1) and leaves it untouched", async () => {
    const path = dir.file("notes");
    writeFileSync(path, "keep me");
    const result = await runProgram(server, ["--fifo", path]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: `server: '${path}' is a regular file, not a FIFO\n` });
    expect(readFileSync(path, "utf8")).toBe("keep me");
  });

  it("reports a FIFO it cannot make in one line, exit 1", async () => {
    const path = dir.file("missing/fifo");
    const result = await runProgram(server, ["--fifo", path]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: `server: mkfifo '${path}': No such file or directory\n` });
  });

  it("answers --help on stdout (exit 0) and a bad option with the usage (exit 1)", async () => {
    const help = await runProgram(server, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: server [--fifo PATH] [--chat]");
    const bad = await runProgram(server, ["--colour"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^server: Unknown option '--colour'/);
  });

  it("removes its FIFO on SIGTERM while it waits for a first client (its event loop is free)", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    program.kill("SIGTERM");
    expect(await program.exited).toMatchObject({ signal: "SIGTERM", stdout: "" });
    expect(existsSync(fifo)).toBe(false);
  });

  it("removes its FIFO on SIGINT in the middle of a conversation; the client then learns the server has gone", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    const talker = startProgram(client, ["--fifo", fifo]);
    try {
      talker.write("first\n");
      await program.waitForLine("Client#: first");
      program.kill("SIGINT");
      expect(await program.exited).toMatchObject({ signal: "SIGINT" });
      expect(existsSync(fifo)).toBe(false);
      talker.write("anyone there?\n");
      expect(await talker.exited).toMatchObject({ code: 1, stderr: `client: write '${fifo}': Broken pipe (the server has gone)\n` });
    } finally {
      stopAll(program, talker);
    }
  });

  it("keeps messages of two concurrent clients whole (PIPE_BUF-sized lines, each in one write)", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    const count = 150;
    const message = (who: string, i: number): string => `${who}${String(i).padStart(5, "0")}`.padEnd(PIPE_BUF - 1, who.toLowerCase());
    const clients = ["A", "B"].map((who) => ({ who, program: startProgram(client, ["--fifo", fifo]) }));
    try {
      // Both are connected before either sends the bulk: the server ends only when both have gone.
      for (const { who, program: sender } of clients) {
        sender.write(`${message(who, 0)}\n`);
        await program.waitForLine(`Client#: ${who}00000`);
      }
      for (const { who, program: sender } of clients) {
        const bulk = Array.from({ length: count - 1 }, (_, i) => `${message(who, i + 1)}\n`).join("");
        sender.write(bulk);
        sender.closeStdin();
      }
      for (const { program: sender } of clients) expect(await sender.exited).toMatchObject({ code: 0, stderr: "" });
      const result = await program.exited;
      expect(result.code).toBe(0);
      const lines = result.stdout.trimEnd().split("\n");
      expect(lines.pop()).toBe("client quit!!!");
      for (const who of ["A", "B"]) {
        const received = lines.filter((line) => line.startsWith(`Client#: ${who}`)).map((line) => line.slice("Client#: ".length));
        expect(received).toEqual(Array.from({ length: count }, (_, i) => message(who, i)));
      }
      expect(lines.length).toBe(2 * count);
    } finally {
      stopAll(program, ...clients.map(({ program: sender }) => sender));
    }
  });

  it("passes a 1 MiB stream of lines byte-exact and in order", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    try {
      const lines = Array.from({ length: 16384 }, (_, i) => `${String(i).padStart(6, "0")} ${createHash("md5").update(String(i)).digest("hex")}`.padEnd(63, "."));
      const input = `${lines.join("\n")}\n`;
      expect(Buffer.byteLength(input)).toBe(1 << 20);
      const sent = await runProgram(client, ["--fifo", fifo], { input });
      expect(sent.code).toBe(0);
      const result = await program.exited;
      expect(result.code).toBe(0);
      const received = result.stdout
        .split("\n")
        .filter((line) => line.startsWith("Client#: "))
        .map((line) => `${line.slice("Client#: ".length)}\n`)
        .join("");
      expect(createHash("sha256").update(received).digest("hex")).toBe(createHash("sha256").update(input).digest("hex"));
    } finally {
      stopAll(program);
    }
  });

  it("prints a piece without a newline as it arrives: never held until the end, never glued onto another client's line", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    const second = startProgram(client, ["--fifo", fifo]);
    let first: RunningProgram | undefined;
    try {
      // The second client is connected (its line was printed), so the server sees no end of file below.
      second.write("connected\n");
      await program.waitForLine(/^Client#: connected$/);
      first = startProgram(client, ["--fifo", fifo]);
      first.write("abc");
      first.closeStdin();
      expect(await first.exited).toMatchObject({ code: 0, stderr: "" });
      await program.waitForLine(/^Client#: abc$/);
      second.write("def\n");
      await program.waitForLine(/^Client#: def$/);
      second.closeStdin();
      expect(await program.exited).toMatchObject({ code: 0, stdout: "Client#: connected\nClient#: abc\nClient#: def\nclient quit!!!\n" });
    } finally {
      stopAll(program, second, ...(first ? [first] : []));
    }
  });

  it.skipIf(cSkipReason() !== null)("prints each line the C client (P12) writes at once, and a piece without a newline once it is read", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo);
    const writer = startCommand(compiledC(import.meta.url, "client"), [fifo]);
    try {
      // The C client writes what one read() of its stdin returned in one write(): two lines and a piece.
      writer.write("one\ntwo\nthr");
      await program.waitForLine("Client#: thr");
      writer.closeStdin();
      expect(await writer.exited).toMatchObject({ code: 0, stderr: "" });
      expect(await program.exited).toMatchObject({ code: 0, stdout: "Client#: one\nClient#: two\nClient#: thr\nclient quit!!!\n" });
    } finally {
      stopAll(program, writer);
    }
  });
});

describe("server and who else may use its FIFO", () => {
  it.runIf(process.getuid?.() === 0)("refuses a FIFO another user made at its path (exit 1), naming the path and the owner, and leaves it there", async () => {
    // As in a sticky /tmp: nobody made the FIFO first, to read what root's clients send or to write as a client.
    chmodSync(dir.path, 0o1777);
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o666);
    chownSync(fifo, 65534, 65534);
    // Before the check the server reused it and waited for a writer until the timeout killed it.
    const result = await runProgram(server, ["--fifo", fifo], { timeoutMs: 10_000 });
    expect(result).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `server: '${fifo}' is a FIFO of user nobody (uid 65534), not of this user (uid 0): refusing to use it; remove it, or choose another --fifo\n`,
    });
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it("with --chat, makes its FIFO 0600 by default (0644 let every user read the chat), and --mode still decides", async () => {
    const fifo = dir.file("fifo");
    chmodSync(dir.path, 0o1777); // a folder everybody may enter, as /tmp
    const chat = await startServer(fifo, ["--chat"]);
    expect(statSync(fifo).mode & 0o777).toBe(0o600 & ~process.umask());
    if (isRoot) {
      // Another user cannot open it to read (and so take) the clients' lines.
      const thief = await runCommand("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "cat", fifo]);
      expect(thief).toMatchObject({ code: 1, stderr: `cat: ${fifo}: Permission denied\n` });
    }
    chat.kill("SIGTERM");
    expect((await chat.exited).signal).toBe("SIGTERM");
    const open = await startServer(fifo, ["--chat", "--mode", "0644"]);
    expect(statSync(fifo).mode & 0o777).toBe(0o644 & ~process.umask());
    open.kill("SIGTERM");
    expect((await open.exited).signal).toBe("SIGTERM");
    expect(existsSync(fifo)).toBe(false);
  });

  it("makes its FIFO with --mode (less the umask), 0644 as in the C by default", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo, ["--mode", "0600"]);
    try {
      expect(statSync(fifo).mode & 0o777).toBe(0o600 & ~process.umask());
      const sent = await runProgram(client, ["--fifo", fifo], { input: "private\n" });
      expect(sent.code).toBe(0);
      expect(await program.exited).toMatchObject({ code: 0, stdout: "Client#: private\nclient quit!!!\n" });
    } finally {
      stopAll(program);
    }
  });
});

describe("server --chat (two-way)", () => {
  it("answers the client that spoke last over that client's reply FIFO", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo, ["--chat"]);
    const alice = startProgram(client, ["--chat", "--fifo", fifo]);
    const bob = startProgram(client, ["--chat", "--fifo", fifo]);
    try {
      await program.waitForLine(`client ${alice.pid} joined as ${me}; answering over ${fifo}.${alice.pid}/to-client`, { stream: "stderr" });
      await program.waitForLine(`client ${bob.pid} joined`, { stream: "stderr" });
      alice.write("hi, I am alice\n");
      await program.waitForLine("Client#: hi, I am alice");
      program.write("hello alice\n");
      await alice.waitForLine("Server#: hello alice");
      bob.write("and I am bob\n");
      await program.waitForLine("Client#: and I am bob");
      program.write("hello bob\n");
      await bob.waitForLine("Server#: hello bob");
      alice.closeStdin();
      bob.closeStdin();
      expect(await alice.exited).toMatchObject({ code: 0, stdout: "Server#: hello alice\nclient quit!!!\n" });
      expect(await bob.exited).toMatchObject({ code: 0, stdout: "Server#: hello bob\nclient quit!!!\n" });
      const result = await program.exited;
      expect(result).toMatchObject({ code: 0, stdout: "Client#: hi, I am alice\nClient#: and I am bob\nclient quit!!!\n" });
      expect(result.stderr).toContain(`client ${alice.pid} left`);
      expect(existsSync(`${fifo}.${alice.pid}`)).toBe(false);
      expect(existsSync(`${fifo}.${bob.pid}`)).toBe(false);
      expect(existsSync(fifo)).toBe(false);
    } finally {
      stopAll(program, alice, bob);
    }
  });

  it("says there is nobody to answer after a one-way message", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo, ["--chat"]);
    const plain = startProgram(client, ["--fifo", fifo]);
    try {
      plain.write("one way only\n");
      await program.waitForLine("Client#: one way only");
      program.write("hello?\n");
      await program.waitForLine("server: nobody to answer: the last message came from a one-way writer, or none came yet", { stream: "stderr" });
      plain.closeStdin();
      expect(await program.exited).toMatchObject({ code: 0, stdout: "Client#: one way only\nclient quit!!!\n" });
    } finally {
      stopAll(program, plain);
    }
  });

  it("keeps no descriptor once a chat client has left", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo, ["--chat"]);
    // A one-way client holds the FIFO open meanwhile, so the server does not reach end of file.
    const keeper = startProgram(client, ["--fifo", fifo]);
    const visitor = startProgram(client, ["--chat", "--fifo", fifo]);
    try {
      keeper.write("keep going\n");
      await program.waitForLine("Client#: keep going");
      await program.waitForLine(`client ${visitor.pid} joined`, { stream: "stderr" });
      visitor.write("just visiting\n");
      await program.waitForLine("Client#: just visiting");
      program.write("welcome\n");
      await visitor.waitForLine("Server#: welcome");
      const during = openDescriptors(program.pid);
      // Its two FIFOs: to-client (answers) and to-server (its messages).
      expect(during.filter((line) => line.includes(`${fifo}.${visitor.pid}/`))).toHaveLength(2);
      visitor.closeStdin();
      expect((await visitor.exited).code).toBe(0);
      await program.waitForLine(`client ${visitor.pid} left`, { stream: "stderr" });
      const after = openDescriptors(program.pid);
      // Gone: its two FIFOs, and the pidfd that watched for the client's end.
      const notPidfd = (line: string): boolean => !line.endsWith("anon_inode:[pidfd]");
      expect(after.filter(notPidfd)).toEqual(during.filter(notPidfd).filter((line) => !line.includes(`${fifo}.${visitor.pid}/`)));
      expect(after).toHaveLength(during.length - 3);
      keeper.closeStdin();
      expect((await program.exited).code).toBe(0);
    } finally {
      stopAll(program, keeper, visitor);
    }
  });

  it("takes @<pid> and @bye <pid> on the shared FIFO as one-way text: another writer can neither speak nor leave for a chat client", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo, ["--chat"]);
    const alice = startProgram(client, ["--chat", "--fifo", fifo]);
    try {
      await program.waitForLine(new RegExp(`^server: client ${alice.pid} .*joined`), { stream: "stderr" });
      // Any process that may open the FIFO for writing can send these lines; none of them is alice.
      const forged = await runProgram(client, ["--fifo", fifo], { input: `@${alice.pid} it is me, send the password\n@bye ${alice.pid}\n` });
      expect(forged.code).toBe(0);
      await program.waitForLine(`Client#: @bye ${alice.pid}`);
      program.write("the password is 1234\n");
      await program.waitForLine("server: nobody to answer: the last message came from a one-way writer, or none came yet", { stream: "stderr" });
      alice.write("hello, the real alice\n");
      await program.waitForLine("Client#: hello, the real alice");
      program.write("hello alice\n");
      await alice.waitForLine("Server#: hello alice");
      alice.closeStdin();
      expect(await alice.exited).toMatchObject({ code: 0, stdout: "Server#: hello alice\nclient quit!!!\n" });
      const result = await program.exited;
      expect(result.stdout).toBe(`Client#: @${alice.pid} it is me, send the password\nClient#: @bye ${alice.pid}\nClient#: hello, the real alice\nclient quit!!!\n`);
      expect(result.stderr.match(/left/g)).toHaveLength(1);
    } finally {
      stopAll(program, alice);
    }
  });

  it.runIf(isRoot)("refuses a hello whose folder belongs to another user than the process it names", async () => {
    const fifo = dir.file("fifo");
    const program = await startServer(fifo, ["--chat"]);
    try {
      // nobody prepares FIFOs under the name of a process of root (this test's own), then says hello for it.
      chmodSync(dir.path, 0o1777);
      const forged = `${fifo}.${process.pid}`;
      mkdirSync(forged, { mode: 0o700 });
      mkfifo(`${forged}/to-client`, 0o600);
      mkfifo(`${forged}/to-server`, 0o600);
      for (const path of [forged, `${forged}/to-client`, `${forged}/to-server`]) chownSync(path, 65534, 65534);
      const reader = startCommand("cat", [`${forged}/to-client`]);
      const hello = await runProgram(client, ["--fifo", fifo], { input: `@hello ${process.pid}\n` });
      expect(hello.code).toBe(0);
      await program.waitForLine(`server: client ${process.pid} refused: '${forged}' belongs to user nobody (uid 65534), but process ${process.pid} runs as ${me}`, { stream: "stderr" });
      reader.kill("SIGKILL");
      expect((await program.exited).stdout).toBe("client quit!!!\n");
    } finally {
      stopAll(program);
    }
  });
});
