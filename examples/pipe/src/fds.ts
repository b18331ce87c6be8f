/**
 * fds (P9): creates a pipe and prints its two descriptors, read end first: `<read>, <write>`.
 *
 * The C program prints `3, 4`: a fresh C process holds only 0, 1 and 2, and the kernel always hands
 * out the lowest free numbers. A fresh Node process already holds a dozen or more descriptors
 * before the first line of a program runs (libuv's epoll instance, the pipe and eventfds that wake
 * its loops, the loops of V8's worker threads), so the
 * numbers here are higher, and may change from run to run as those threads start. What matters is
 * the same as in C: two descriptors, fd[0] for reading and fd[1] for writing, on one pipe.
 * pipe() is used as in C; programs that spawn children should prefer pipe2(O_CLOEXEC) (see parent-child.ts).
 */
import { runMain, parseCommand } from "@linux-ipc/programs";
import { pipe, close } from "@linux-ipc/core";

await runMain("fds", () => {
  parseCommand({ name: "fds", summary: "P9: create a pipe and print its two descriptors (read end, write end)", options: {} });
  const [readEnd, writeEnd] = pipe();
  console.log(`${readEnd}, ${writeEnd}`);
  close(readEnd);
  close(writeEnd);
});
