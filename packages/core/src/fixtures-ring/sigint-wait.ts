// Creates IPC objects under KEY, starts an async wait of KIND that nobody will satisfy, and prints
// "waiting <what it sleeps on>". Its SIGINT cleanup removes the objects and prints "cleanup ran".
import { onTerminationSignal } from "../cli.ts";
import { SharedMemorySegment } from "../sys/shm.ts";
import { SemaphoreSet } from "../sys/sem.ts";
import { NamedSemaphore, UnnamedSemaphore } from "../semaphore.ts";
import { FutexWord } from "../futex.ts";
import { Ring } from "../ring.ts";

const [kind, keyText] = process.argv.slice(2) as [string, string];
const key = Number(keyText);
const segment = SharedMemorySegment.create(key, 4096);
const memory = segment.attach();
const cleanups: (() => void)[] = [() => segment.remove()];
onTerminationSignal(() => {
  for (const cleanup of cleanups) cleanup();
  console.log("cleanup ran");
});

let waiting: Promise<unknown>;
if (kind === "futex") {
  const word = new FutexWord(memory, 0);
  waiting = word.waitAsync(0);
  console.log(`waiting 0x${word.address.toString(16)}`);
} else if (kind === "sysv") {
  const set = SemaphoreSet.create(key, 1, 0);
  cleanups.push(() => set.remove());
  waiting = set.acquireAsync(0);
  console.log(`waiting semid ${set.id}`);
} else if (kind === "named") {
  const name = `/ipc-test-${key.toString(16)}`;
  const semaphore = NamedSemaphore.create(name, 0);
  cleanups.push(() => semaphore.unlink());
  waiting = semaphore.waitAsync();
  console.log(`waiting 0x${semaphore.pointer.toString(16)}`);
} else if (kind === "unnamed") {
  const semaphore = UnnamedSemaphore.init(memory, 64, 0);
  waiting = semaphore.waitAsync();
  console.log(`waiting 0x${semaphore.pointer.toString(16)}`);
} else {
  const reader = Ring.create(memory).reader({ spinMicros: 0 });
  waiting = reader.peekAsync();
  console.log(`waiting 0x${(memory.address + 72n).toString(16)}`);
}
await waiting;
console.log("the wait ended without a signal");
