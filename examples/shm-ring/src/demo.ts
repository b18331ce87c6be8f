/**
 * `pnpm --filter shm-ring demo`: every program of this example as separate processes, briefly.
 *
 * 1. Two producers and two consumers through two 4 KiB rings, far smaller than the 2 × 10,000
 *    messages (about 10 MB) they carry. The consumers share the work by ring: each owns one ring,
 *    and each producer deals its messages over both (message seq to ring seq % 2), taking the
 *    ring's producer lock since two producers write each ring. Every consumer can then check its
 *    share exactly: each producer's sequence numbers arrive in order, in steps of 2.
 * 2. notify-server and notify-client (P13/P14) woken by semaphores instead of polling.
 * 3. lock-demo with the semaphore lock, then without it.
 *
 * It uses keys of its own ("RDM1" … "RDM4"), exits non-zero if any side failed, and checks at the end
 * that no segment or semaphore set it used is left (removing and reporting any that is).
 */
import { parseCommand, runMain, DemoSide, printHeading, siblingProgram } from "@linux-ipc/programs";
import { isSystemError, formatKey, SharedMemorySegment, SemaphoreSet } from "@linux-ipc/core";

const program = (name: string): string => siblingProgram(import.meta.url, name);
const RING_KEYS = [0x52444d31, 0x52444d32];
const NOTIFY_KEY = 0x52444d33;
const LOCK_KEY = 0x52444d34;

await runMain("demo", async () => {
  parseCommand({ name: "demo", summary: "Run producers/consumers, notify-server/notify-client and lock-demo as separate processes.", options: {} });
  let ok = true;

  printHeading("shm-ring: 2 producers, 2 consumers, two 4 KiB rings (shmfifo)");
  const consumers = RING_KEYS.map((key, index) => new DemoSide(`consumer ${index + 1}`, program("consumer"), ["--key", formatKey(key), "--producers", "2", "--capacity", "4096"]));
  for (const consumer of consumers) await consumer.waitForLine("waiting");
  const keys = RING_KEYS.map(formatKey).join(",");
  const producers = [1, 2].map((n) => new DemoSide(`producer ${n}`, program("producer"), ["--key", keys, "--count", "10000", "--size", "1000"]));
  for (const side of [...producers, ...consumers]) ok = (await side.finished()) && ok;

  printHeading("shm-ring: notify-server/notify-client (P13/P14, woken by semaphores)");
  const server = new DemoSide("server", program("notify-server"), ["--key", formatKey(NOTIFY_KEY)]);
  await server.waitForLine("sem:");
  const client = new DemoSide("client", program("notify-client"), ["--key", formatKey(NOTIFY_KEY), "--interval", "10"]);
  ok = (await client.finished()) && ok;
  ok = (await server.finished()) && ok;

  printHeading("shm-ring: lock-demo (semaphore lock), then lock-demo --unlocked");
  ok = (await new DemoSide("lock-demo", program("lock-demo"), ["--key", formatKey(LOCK_KEY), "--rounds", "2000"]).finished()) && ok;
  ok = (await new DemoSide("lock-demo --unlocked", program("lock-demo"), ["--key", formatKey(LOCK_KEY), "--rounds", "2000", "--unlocked"]).finished()) && ok;

  for (const key of [...RING_KEYS, NOTIFY_KEY, LOCK_KEY]) ok = removeLeftovers(key) && ok;
  return ok ? 0 : 1;
});

/** True if nothing is left at `key`; otherwise removes what is and says so. */
function removeLeftovers(key: number): boolean {
  let clean = true;
  for (const [kind, open] of [
    ["segment", () => SharedMemorySegment.open(key)],
    ["semaphore set", () => SemaphoreSet.open(key)],
  ] as const) {
    try {
      open().remove();
      console.error(`demo: a ${kind} was left at key ${formatKey(key)}; removed it`);
      clean = false;
    } catch (error) {
      if (!isSystemError(error, "ENOENT")) throw error;
    }
  }
  return clean;
}
