/**
 * notify-server: P13 (the sysv-shm server) woken by the client instead of polling. It creates a
 * 4096-byte segment and a set of two System V semaphores under the same key, prints `key: <hex>`,
 * `shm: <id>` and `sem: <id>`, and then, TICKS times: sleeps until the client says it wrote
 * (semaphore WRITTEN), prints the string in the segment, and tells the client it has read it
 * (semaphore READ). Then it detaches and removes the segment and the semaphores.
 *
 * Differences from the C server, and why:
 * - P13 printed the segment once a second whether or not the client had written: it printed the
 *   same string twice or missed one whenever the two clocks drifted. Here each string the client
 *   writes is printed exactly once, as soon as it is written, and the server uses no CPU while it
 *   waits (`acquireAsync` sleeps in semtimedop on a waiter thread of core, so the event loop stays
 *   free and Ctrl-C still runs its cleanup);
 * - the two semaphores make the segment a one-slot shmfifo: the client writes only after the server
 *   has read the previous string (READ starts at 1, WRITTEN at 0);
 * - the key is given with --key instead of ftok("./tmp"), and SIGINT/SIGTERM/SIGHUP remove the
 *   segment and the semaphores;
 * - a client killed half-way (SIGKILL runs no cleanup) leaves its pid in the segment's last word:
 *   the server sees it gone within PEER_CHECK_MS, says so and ends with exit code 1, removing both
 *   objects, instead of waiting forever;
 * - the objects are the user's own (mode 0600, --mode to share them), not 0666: with 0666 any user
 *   could write into the segment or zero the semaphores;
 * - a segment and semaphore set left under the key by a server killed with SIGKILL are recognised
 *   (same user, creator gone, nothing attached) and replaced, with a line on stderr.
 */
import { createReplacingLeftover, modeOption, onTerminationSignal, parseCommand, runMain } from "@linux-ipc/programs";
import { SharedMemorySegment, SemaphoreSet, cString, int32View, isProcessAlive } from "@linux-ipc/core";
import { CLIENT_PID_OFFSET, NOTIFY_KEY, READ, SEGMENT_SIZE, WRITTEN, acquireWhilePeerLives, notifyKeyOption } from "./notify.ts";

await runMain("notify-server", async () => {
  const { values } = parseCommand({
    name: "notify-server",
    summary: "Creates a segment and two semaphores, then prints the string a notify-client writes each time the client signals a write (P13, woken instead of polling).",
    options: {
      key: notifyKeyOption,
      ticks: { type: "integer", value: "N", description: "how many strings to print", default: 26, min: 0 },
      mode: modeOption(0o600, "only your user can open them"),
    },
    details: `Start it first, then notify-client with the same --key (default 0x${NOTIFY_KEY.toString(16)}).`,
  });

  const mode = values.mode;
  const segment = createReplacingLeftover("notify-server", "segment", values.key, () => SharedMemorySegment.create(values.key, SEGMENT_SIZE, mode));
  let semaphores: SemaphoreSet | undefined;
  const removeAll = (): void => {
    segment.remove();
    semaphores?.remove();
  };
  const stopHandlingSignals = onTerminationSignal(removeAll);
  try {
    semaphores = createReplacingLeftover("notify-server", "semaphore set", values.key, () => SemaphoreSet.create(values.key, 2, [0, 1], mode));
    const set = semaphores;
    console.log(`key: ${(values.key >>> 0).toString(16)}`);
    console.log(`shm: ${segment.id}`);
    console.log(`sem: ${semaphores.id}`);
    using attachment = segment.attach();
    const clientPid = int32View(attachment, CLIENT_PID_OFFSET, 1);
    const clientGone = (): string | null => {
      const pid = Atomics.load(clientPid, 0);
      return pid !== 0 && !isProcessAlive(pid) ? `notify-client (pid ${pid}) died before writing its next string; removed the segment and the semaphores` : null;
    };
    for (let tick = 0; tick < values.ticks; tick++) {
      await acquireWhilePeerLives(set, WRITTEN, clientGone, "the semaphores were removed by someone else");
      console.log(cString(attachment.bytes));
      semaphores.release(READ, 1, { undo: false });
    }
  } finally {
    stopHandlingSignals();
    removeAll();
  }
});
