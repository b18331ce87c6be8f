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
 *   waits (it sleeps in semtimedop on a worker thread, so Ctrl-C still runs its cleanup);
 * - the two semaphores make the segment a one-slot shmfifo: the client writes only after the server
 *   has read the previous string (READ starts at 1, WRITTEN at 0);
 * - the key is given with --key instead of ftok("./tmp"), and SIGINT/SIGTERM/SIGHUP remove the
 *   segment and the semaphores.
 */
import { onTerminationSignal, parseCommand, runMain } from "@linux-ipc/programs";
import { SharedMemorySegment, SemaphoreSet, cString } from "@linux-ipc/core";
import { NOTIFY_KEY, READ, SEGMENT_SIZE, WRITTEN, notifyKeyOption } from "./notify.ts";

const MODE = 0o666;

await runMain("notify-server", async () => {
  const { values } = parseCommand({
    name: "notify-server",
    summary: "Creates a segment and two semaphores, then prints the string a notify-client writes each time the client signals a write (P13, woken instead of polling).",
    options: {
      key: notifyKeyOption,
      ticks: { type: "integer", value: "N", description: "how many strings to print", default: 26, min: 0 },
    },
    details: `Start it first, then notify-client with the same --key (default 0x${NOTIFY_KEY.toString(16)}).`,
  });

  const segment = SharedMemorySegment.create(values.key, SEGMENT_SIZE, MODE);
  let semaphores: SemaphoreSet | undefined;
  const removeAll = (): void => {
    segment.remove();
    semaphores?.remove();
  };
  const stopHandlingSignals = onTerminationSignal(removeAll);
  try {
    semaphores = SemaphoreSet.create(values.key, 2, [0, 1], MODE);
    console.log(`key: ${(values.key >>> 0).toString(16)}`);
    console.log(`shm: ${segment.id}`);
    console.log(`sem: ${semaphores.id}`);
    using attachment = segment.attach();
    for (let tick = 0; tick < values.ticks; tick++) {
      await semaphores.acquireAsync(WRITTEN, 1, { undo: false });
      console.log(cString(attachment.bytes));
      semaphores.release(READ, 1, { undo: false });
    }
  } finally {
    stopHandlingSignals();
    removeAll();
  }
});
