/**
 * parent-child (P10): the parent makes a pipe, starts a child that writes `I am a child!!!` into it
 * COUNT times, prints `parent get message from child : <text>` for each message, `child is quit!!!`
 * at end of file, and `child is quit success` once it has reaped the child. Like the C it first
 * prints the pipe's two descriptors.
 *
 * What differs from the C, and why:
 * - No fork(): V8's heap cannot be forked. The child is a fresh program (child.ts) that inherits the
 *   write end as its fd 3, what fork() + exec() would give in C.
 * - The pipe is made with pipe2(O_CLOEXEC), so no other program this process starts inherits it; the
 *   spawn still hands the write end to this child (dup2 onto fd 3 clears the flag there).
 * - The parent closes its own write end right after the spawn, as the C parent does after fork():
 *   a reader sees end of file only when every write end is closed, its own included.
 * - One line per message: the parent splits what it reads at "\n". The C prints whatever each
 *   read() returned, so two messages that arrive together print as one line.
 * - Reading waits on epoll (an AsyncFd, one libuv poll handle for the whole stream), so the event
 *   loop stays free while the child sleeps.
 * - If the child fails, the parent says how it ended and exits 1 instead of printing success.
 */
import { endingWithParent, runMain, parseCommand, ExitError, onTerminationSignal, siblingProgram } from "@linux-ipc/programs";
import { MAX_TIMER_MS, pipe2, close, O_CLOEXEC, spawnWithFds, waitForExit, AsyncFd } from "@linux-ipc/core";

const childProgram = siblingProgram(import.meta.url, "child");

await runMain("parent-child", async () => {
  const { values } = parseCommand({
    name: "parent-child",
    summary: "P10: a parent reads through a pipe what its child writes, until end of file",
    options: {
      count: { type: "integer", value: "N", description: "how many messages the child writes", default: 5, min: 0 },
      interval: { type: "integer", value: "MS", description: "the child's pause between messages", default: 1000, min: 0, max: MAX_TIMER_MS },
    },
  });
  const [readEnd, writeEnd] = pipe2(O_CLOEXEC);
  console.log(`${readEnd}, ${writeEnd}`);

  const child = spawnWithFds(childProgram, ["--count", String(values.count), "--interval", String(values.interval)], { fds: [writeEnd], env: endingWithParent() });
  const exited = waitForExit(child);
  close(writeEnd);
  // A C child forked from a terminal gets the terminal's Ctrl-C too; this one is told explicitly.
  const stopForwarding = onTerminationSignal((signal) => child.kill(signal));
  const messages = new AsyncFd(readEnd);
  try {
    for await (const message of messages.readLines()) console.log(`parent get message from child : ${message}`);
    console.log("child is quit!!!");
  } finally {
    messages.close();
  }

  const { code, signal } = await exited;
  stopForwarding();
  if (code !== 0) throw new ExitError(`the child ended with ${signal ?? `exit code ${code}`}`, 1);
  console.log("child is quit success");
});
