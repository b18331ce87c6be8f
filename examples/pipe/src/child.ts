/**
 * child: the child half of parent-child (P10). It writes `I am a child!!!` COUNT times into the pipe
 * it inherited as descriptor 3, INTERVAL milliseconds apart, then closes it and exits.
 *
 * Differs from the C child, which runs after fork() in the parent's own program: this is a program
 * of its own, started by parent-child with the pipe's write end as fd 3 (fork() is unusable from
 * Node). Each message ends in "\n", so the parent can print one line per message whatever read()
 * returns, and goes out in one write() (16 bytes, far below PIPE_BUF: never split). It does not
 * sleep after the last message, as the C does, so the parent sees end of file at once.
 */
import { runMain, parseCommand } from "@linux-ipc/programs";
import { sleep, MAX_TIMER_MS, inheritedFds, writeAll, close } from "@linux-ipc/core";

const MESSAGE = "I am a child!!!\n";

await runMain("child", async () => {
  const { values } = parseCommand({
    name: "child",
    summary: "P10's child: write 'I am a child!!!' COUNT times into the pipe inherited as fd 3",
    options: {
      count: { type: "integer", value: "N", description: "how many messages", default: 5, min: 0 },
      interval: { type: "integer", value: "MS", description: "pause between messages", default: 1000, min: 0, max: MAX_TIMER_MS },
    },
  });
  const [writeEnd] = inheritedFds();
  if (writeEnd === undefined) throw new Error("no pipe to write to: run it through parent-child, which passes one as fd 3");
  for (let i = 0; i < values.count; i++) {
    if (i > 0 && values.interval > 0) await sleep(values.interval);
    writeAll(writeEnd, MESSAGE);
  }
  close(writeEnd);
});
