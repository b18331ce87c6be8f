/**
 * tour: the anonymous-pipe programs one after another, each in its own process and under its own
 * heading: fds (P9), parent-child (P10) with a short interval, capacity, and rules. Their lines are
 * relayed as they come, labelled with the program's name. Exit code 1 if any of them failed. Nothing is created outside the
 * processes themselves, so there is nothing to remove.
 */
import { DemoSide, printCommand, printHeading, runMain, parseCommand, onTerminationSignal, siblingProgram } from "@linux-ipc/programs";
import { MAX_TIMER_MS } from "@linux-ipc/core";

async function run(heading: string, name: string, args: string[] = []): Promise<boolean> {
  printHeading(heading);
  printCommand(name, args);
  return new DemoSide(name, siblingProgram(import.meta.url, name), args).finished();
}

await runMain("tour", async () => {
  const { values } = parseCommand({
    name: "tour",
    summary: "run fds (P9), parent-child (P10), capacity and rules, each in its own process",
    options: {
      count: { type: "integer", value: "N", description: "messages the child of parent-child writes", default: 5, min: 0 },
      interval: { type: "integer", value: "MS", description: "the child's pause between messages (the C waits 1000)", default: 200, min: 0, max: MAX_TIMER_MS },
    },
  });
  onTerminationSignal((signal) => DemoSide.killAll(signal));
  const outcomes = [
    await run("pipe: the two descriptors of a new pipe (P9)", "fds"),
    await run("pipe: a parent reads what its child writes (P10)", "parent-child", ["--count", String(values.count), "--interval", String(values.interval)]),
    await run("pipe: capacity, measured until EAGAIN, and F_SETPIPE_SZ", "capacity"),
    await run("pipe: the four rules, with real processes", "rules"),
  ];
  return outcomes.every(Boolean) ? 0 : 1;
});
