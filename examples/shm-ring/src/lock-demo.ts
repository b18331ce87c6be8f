/**
 * lock-demo [--unlocked]: two processes (lock-peer A and B) take turns answering each other's message
 * in one 64 KiB System V segment, each reply carrying the hash of the message it answers, so each
 * side checks every reply it gets. With the lock, a System V semaphore both take with SEM_UNDO around
 * each read-and-reply, no message is ever corrupt, over many thousand rounds. With --unlocked the
 * sides only watch whose turn it is, and the corruption the tutorials warn of ("shared memory
 * brings no synchronisation of its own") shows up and is counted: a side starts reading a reply
 * while the other is still writing it.
 *
 * lock-demo creates the segment and the semaphore (value 1: free) under one key, runs the two sides,
 * prints what they printed and the total, and removes both objects, also on Ctrl-C. It exits 1 if
 * a side failed, or if anything was corrupt with the lock; --unlocked is a demonstration and exits 0.
 *
 * The objects are the user's own (0600; --mode to share them). The sides end with lock-demo, even
 * when it is killed with SIGKILL (PR_SET_PDEATHSIG); the segment and semaphore such a kill leaves are
 * recognised on the next start (same user, creator and last users gone, nothing attached) and
 * replaced, with a line on stderr.
 */
import { createReplacingLeftover, modeOption, onTerminationSignal, parseCommand, runMain, DemoSide, siblingProgram } from "@linux-ipc/programs";
import { SharedMemorySegment, SemaphoreSet } from "@linux-ipc/core";
import { SEGMENT_SIZE } from "./lock-buffer.ts";

const peer = siblingProgram(import.meta.url, "lock-peer");

await runMain("lock-demo", async () => {
  const { values } = parseCommand({
    name: "lock-demo",
    summary: "Two processes answer each other's messages in one shared buffer, with a semaphore lock (or --unlocked), and count corrupt messages.",
    options: {
      key: { type: "integer", value: "K", description: "System V key for the segment and the semaphore", default: 0x4c4f434b, min: 1, max: 0x7fffffff },
      rounds: { type: "integer", value: "N", description: "how many messages each side writes", default: 10_000, min: 1 },
      unlocked: { type: "boolean", description: "run the sides without the lock" },
      mode: modeOption(0o600, "only your user can open them"),
    },
  });
  const mode = values.mode;
  const segment = createReplacingLeftover("lock-demo", "segment", values.key, () => SharedMemorySegment.create(values.key, SEGMENT_SIZE, mode));
  let lock: SemaphoreSet | undefined;
  let sides: DemoSide[] = [];
  const removeAll = (): void => {
    for (const side of sides) side.kill("SIGTERM");
    segment.remove();
    lock?.remove();
  };
  const stopHandlingSignals = onTerminationSignal(removeAll);
  try {
    lock = createReplacingLeftover("lock-demo", "semaphore set", values.key, () => SemaphoreSet.create(values.key, 1, 1, mode));
    const args = ["--key", String(values.key), "--rounds", String(values.rounds), ...(values.unlocked ? ["--unlocked"] : [])];
    sides = [new DemoSide("A", peer, [...args, "--side", "A"]), new DemoSide("B", peer, [...args, "--side", "B"])];
    // A side that fails leaves the other waiting for a turn that never comes: end that one too.
    const results = await Promise.all(
      sides.map(async (side) => {
        const finished = await side.finished();
        if (!finished) for (const other of sides) if (other !== side) other.kill("SIGTERM");
        return finished;
      }),
    );
    const ok = results.every(Boolean);
    let checked = 0;
    let corrupt = 0;
    for (const side of sides) {
      const report = /(\d+) replies checked, (\d+) corrupt/.exec(side.stdout);
      checked += Number(report?.[1] ?? 0);
      corrupt += Number(report?.[2] ?? 0);
    }
    const how = values.unlocked ? "without a lock" : "with the semaphore lock";
    console.log(`lock-demo: ${checked} replies checked ${how}, ${corrupt} corrupt`);
    if (!ok) return 1;
    return values.unlocked || corrupt === 0 ? 0 : 1;
  } finally {
    stopHandlingSignals();
    removeAll();
  }
});
