/**
 * notify-client: P14 (the sysv-shm client) that wakes the server after each write. It opens the
 * segment and the two semaphores notify-server created, prints `key: <hex>` and `shm: <id>`, then
 * writes `A`, `AB`, `ABC`, … one letter per interval: before each write it waits until the server
 * has read the previous string (semaphore READ), after it it posts WRITTEN, which wakes the server.
 *
 * Differences from the C client, and why:
 * - the C wrote on its own clock and the server read on another, so strings were missed or printed
 *   twice; here the two semaphores pass the segment back and forth, one string at a time;
 * - it never creates the segment or the semaphores (the C's IPC_CREAT without permission bits
 *   could create a segment of mode 0): start notify-server first;
 * - each step stores the new NUL before the new letter, so the string is terminated at every moment;
 * - it stores its pid in the segment's last word while it writes (0 when done), so the server can
 *   tell it died; and if the server is killed (SIGKILL: no cleanup), the client sees its creator pid
 *   gone within PEER_CHECK_MS, removes the server's leftover segment and semaphores, says so and
 *   ends with exit code 1, instead of waiting forever.
 */
import { ExitError, parseCommand, runMain } from "@linux-ipc/programs";
import { sleep, MAX_TIMER_MS, isSystemError, formatKey, SharedMemorySegment, SemaphoreSet, int32View, isProcessAlive } from "@linux-ipc/core";
import { CLIENT_PID_OFFSET, READ, SEGMENT_SIZE, WRITTEN, acquireWhilePeerLives, notifyKeyOption } from "./notify.ts";

const LETTER_A = "A".charCodeAt(0);
const LETTERS = 26;
const NUL = 0;

await runMain("notify-client", async () => {
  const { values } = parseCommand({
    name: "notify-client",
    summary: "Writes A, AB, ABC, … into notify-server's segment, waking the server after each write (P14, with semaphores).",
    options: {
      key: notifyKeyOption,
      ticks: { type: "integer", value: "N", description: "how many letters to write", default: LETTERS, min: 0, max: LETTERS },
      interval: { type: "integer", value: "MS", description: "milliseconds between letters (the C sleeps 1 s)", default: 1000, min: 0, max: MAX_TIMER_MS },
    },
  });

  let segment: SharedMemorySegment;
  let semaphores: SemaphoreSet;
  try {
    segment = SharedMemorySegment.open(values.key, SEGMENT_SIZE);
    semaphores = SemaphoreSet.open(values.key, 2);
  } catch (error) {
    if (isSystemError(error, "ENOENT")) throw new ExitError(`nothing at key ${formatKey(values.key)}: start notify-server first, with the same --key`, 1);
    throw error;
  }
  console.log(`key: ${(values.key >>> 0).toString(16)}`);
  console.log(`shm: ${segment.id}`);

  using attachment = segment.attach();
  const memory = attachment.bytes;
  const serverPid = segment.stat().shm_cpid;
  const serverGone = (): string | null => (isProcessAlive(serverPid) ? null : `notify-server (pid ${serverPid}) died; removed the segment and the semaphores it left`);
  const removeLeftovers = (): void => {
    segment.remove();
    semaphores.remove();
  };
  const clientPid = int32View(attachment, CLIENT_PID_OFFSET, 1);
  const other = Atomics.load(clientPid, 0);
  if (other !== 0 && other !== process.pid && isProcessAlive(other)) throw new ExitError(`another notify-client (pid ${other}) is writing to key ${formatKey(values.key)}`, 1);
  Atomics.store(clientPid, 0, process.pid);
  for (let letter = 0; letter < values.ticks; letter++) {
    await acquireWhilePeerLives(semaphores, READ, serverGone, "notify-server ended and removed the semaphores", removeLeftovers);
    memory[letter + 1] = NUL;
    memory[letter] = LETTER_A + letter;
    semaphores.release(WRITTEN, 1, { undo: false });
    await sleep(values.interval);
  }
  Atomics.store(clientPid, 0, 0);
});
