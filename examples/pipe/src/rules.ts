/**
 * rules: the tutorial's table of pipe rules, each case shown with real processes and printed as a
 * table row saying what happened.
 *
 *   read end      write end     what the kernel does
 *   not reading   writing       write() blocks once the pipe is full
 *   reading       not writing   read() blocks while the pipe is empty
 *   closed        writing       the writer gets SIGPIPE (EPIPE where SIGPIPE is ignored, as in Node)
 *   reading       closed        read() returns 0: end of file
 *
 * This process plays the idle or closed end; the other end is a separate process: `yes` as the
 * writer that fills the pipe, `sh`'s `read` as the reader that waits, pipe-writer.ts (Node) and a
 * shell's `echo` as writers without a reader, pipe-reader.ts as the reader that meets end of file.
 * "Blocks" is not guessed from a delay: /proc shows the process asleep inside write() or read().
 * Every outcome is checked; an unexpected one ends the program with exit code 1.
 *
 * The tutorial says a writer without a reader "is killed by the OS": true of a C program with
 * SIGPIPE's default disposition (the shell row), but Node ignores SIGPIPE, so a Node writer gets
 * write() = -1 with errno EPIPE and carries on. Children started from Node get the default
 * disposition back (libuv resets signals in the child), which is why the shell still dies of it.
 */
import { DemoSide, runMain, parseCommand, onTerminationSignal, siblingProgram } from "@linux-ipc/programs";
import { pipe2, close, writeAll, PIPE_BUF, fcntl, O_CLOEXEC, F_GETPIPE_SZ, bytesInPipe, waitUntilBlocked } from "@linux-ipc/core";

const program = (name: string): string => siblingProgram(import.meta.url, name);

/** Starts an executable of the system (yes, sh) whose output this program reads rather than relays. */
const system = (name: string, args: string[], options: { stdin?: number; stdout?: number } = {}): DemoSide => new DemoSide(name, name, args, { ...options, executable: true, relay: false });

function expectThat(condition: boolean, what: string): void {
  if (!condition) throw new Error(`unexpected: ${what}`);
}

const endedWith = ({ code, signal }: { code: number | null; signal: NodeJS.Signals | null }): string => (signal ? `signal ${signal}` : `exit code ${code}`);

async function readerIdle(): Promise<string> {
  const [readEnd, writeEnd] = pipe2(O_CLOEXEC);
  const yes = system("yes", [], { stdout: writeEnd });
  close(writeEnd);
  try {
    const blocked = await waitUntilBlocked(yes.pid, ["write"]);
    const held = bytesInPipe(readEnd);
    const capacity = fcntl(readEnd, F_GETPIPE_SZ);
    expectThat(held > capacity - PIPE_BUF, `yes blocked with only ${held} of ${capacity} bytes in the pipe`);
    return `yes (pid ${yes.pid}) slept in write() (kernel: ${blocked.wchan}) with ${held} of ${capacity} bytes in the pipe`;
  } finally {
    yes.kill();
    await yes.exited;
    close(readEnd);
  }
}

async function writerIdle(): Promise<string> {
  const [readEnd, writeEnd] = pipe2(O_CLOEXEC);
  const reader = system("sh", ["-c", 'IFS= read -r line && printf "%s\\n" "$line"'], { stdin: readEnd });
  close(readEnd);
  try {
    const blocked = await waitUntilBlocked(reader.pid, ["read"]);
    const held = bytesInPipe(writeEnd);
    expectThat(held === 0, `the pipe held ${held} bytes while the reader slept`);
    writeAll(writeEnd, "a line at last\n");
    // The write end stays open: the read returns because data came, not because of end of file.
    const result = await reader.exited;
    expectThat(result.code === 0 && reader.stdout === "a line at last\n", `the reader ended with ${endedWith(result)}, printing '${reader.stdout}'`);
    return `sh (pid ${reader.pid}) slept in read() (kernel: ${blocked.wchan}) on the empty pipe; it returned once a line was written`;
  } finally {
    reader.kill();
    close(writeEnd);
  }
}

async function readerClosed(): Promise<string> {
  const [readEnd, writeEnd] = pipe2(O_CLOEXEC);
  close(readEnd);
  const nodeWriter = new DemoSide("pipe-writer", program("pipe-writer"), [], { fds: [writeEnd], stdin: "pipe", relay: false });
  const shellWriter = system("sh", ["-c", "echo hello"], { stdout: writeEnd });
  close(writeEnd);
  nodeWriter.write("hello\n");
  nodeWriter.closeStdin();
  const [node, shell] = await Promise.all([nodeWriter.exited, shellWriter.exited]);
  expectThat(node.code === 1 && nodeWriter.stderr.includes("EPIPE"), `the Node writer ended with ${endedWith(node)}: ${nodeWriter.stderr.trim()}`);
  expectThat(shell.signal === "SIGPIPE", `the shell writer ended with ${endedWith(shell)}`);
  return `node writer (pid ${nodeWriter.pid}): write() failed with EPIPE, exit code 1 (Node ignores SIGPIPE); sh writer (pid ${shellWriter.pid}): killed by SIGPIPE`;
}

async function writerClosed(): Promise<string> {
  const [readEnd, writeEnd] = pipe2(O_CLOEXEC);
  const reader = new DemoSide("pipe-reader", program("pipe-reader"), [], { fds: [readEnd], relay: false });
  close(readEnd);
  writeAll(writeEnd, "bye\n");
  close(writeEnd);
  const result = await reader.exited;
  expectThat(result.code === 0 && reader.stdout === "read() returned 0 (end of file) after 4 bytes\n", `the reader ended with ${endedWith(result)}: ${reader.stdout}${reader.stderr}`);
  return `node reader (pid ${reader.pid}): read the 4 bytes written, then read() returned 0 (end of file)`;
}

function row(readEnd: string, writeEnd: string, outcome: string): void {
  console.log(`${readEnd.padEnd(12)} | ${writeEnd.padEnd(12)} | ${outcome}`);
}

await runMain("rules", async () => {
  parseCommand({ name: "rules", summary: "the four pipe rules of the tutorial's table, each shown with real processes", options: {} });
  const stopCleanupOnSignal = onTerminationSignal(() => DemoSide.killAll());
  try {
    row("read end", "write end", "what happened");
    row("not reading", "writing", await readerIdle());
    row("reading", "not writing", await writerIdle());
    row("closed", "writing", await readerClosed());
    row("reading", "closed", await writerClosed());
  } finally {
    stopCleanupOnSignal();
  }
});
