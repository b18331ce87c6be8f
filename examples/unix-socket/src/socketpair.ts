/**
 * socketpair [--count N] [--interval MS]: the pipe example's parent-child (P10) over a socketpair,
 * both ways at once. The parent makes a SOCK_SEQPACKET socketpair, starts socketpair-child with one end
 * as its fd 3, and then, at the same time, sends `I am your parent!!!` COUNT times and prints each
 * `I am a child!!!` the child sends, until the child's end of file (`child is quit!!!`); it reaps the
 * child last (`child is quit success`). The child does the mirror image.
 *
 * What a socketpair changes against P10's pipe:
 * - One socketpair is a channel in both directions; P10 would need two pipes for this.
 * - SOCK_SEQPACKET keeps each send a message of its own: one receive, one message, however they were
 *   queued (a pipe, or SOCK_STREAM, is a byte stream that may merge them).
 * - A side that has sent everything says so with shutdown(SHUT_WR): the other reads end of file while
 *   this side can still receive. With a pipe, end of file comes only when every write end is closed.
 */
import { endingWithParent, ExitError, onTerminationSignal, parseCommand, runMain, siblingProgram } from "@linux-ipc/programs";
import { AF_UNIX, close, MAX_TIMER_MS, SHUT_WR, SOCK_CLOEXEC, SOCK_SEQPACKET, sleep, socketpair, spawnWithFds, UnixSocket, waitForExit } from "@linux-ipc/core";

const childProgram = siblingProgram(import.meta.url, "socketpair-child");

await runMain("socketpair", async () => {
  const { values } = parseCommand({
    name: "socketpair",
    summary: "P10 over a socketpair, both ways at once: parent and child each send COUNT messages and print the other's",
    options: {
      count: { type: "integer", value: "N", description: "how many messages each side sends", default: 5, min: 0 },
      interval: { type: "integer", value: "MS", description: "the pause between two messages of a side", default: 1000, min: 0, max: MAX_TIMER_MS },
    },
  });
  const [mine, theirs] = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC);
  console.log(`${mine}, ${theirs}`);
  const child = spawnWithFds(childProgram, ["--count", String(values.count), "--interval", String(values.interval)], { fds: [theirs], env: endingWithParent() });
  const exited = waitForExit(child);
  close(theirs);
  const stopForwarding = onTerminationSignal((signal) => child.kill(signal));
  const socket = new UnixSocket(mine);
  try {
    const sendAll = async (): Promise<void> => {
      for (let i = 0; i < values.count; i++) {
        if (i > 0 && values.interval > 0) await sleep(values.interval);
        await socket.send("I am your parent!!!");
      }
      socket.shutdown(SHUT_WR);
    };
    const printAll = async (): Promise<void> => {
      for (let message = await socket.receive(); message.data.length > 0; message = await socket.receive()) {
        console.log(`parent get message from child : ${message.data.toString()}`);
      }
      console.log("child is quit!!!");
    };
    await Promise.all([sendAll(), printAll()]);
  } finally {
    socket.close();
  }
  const { code, signal } = await exited;
  stopForwarding();
  if (code !== 0) throw new ExitError(`the child ended with ${signal ?? `exit code ${code}`}`, 1);
  console.log("child is quit success");
});
