// Counts SIGUSR2 with a JS handler, prints "waiting", then makes a sync wait of KIND (futex, sysv,
// unnamed, ring) on what TARGET names ("shm:<id>" memory, or a SysV semaphore set id). A signal
// interrupts the system call (EINTR); the wait must go on. Prints "done", then, once the handler has
// run (the event loop runs it after the wait), "handled <n>".
import { FutexWord } from "../futex.ts";
import { SemaphoreSet } from "../sys/sem.ts";
import { UnnamedSemaphore } from "../semaphore.ts";
import { Ring } from "../ring.ts";
import { openMemory } from "./memory.ts";

const [kind, target] = process.argv.slice(2) as [string, string];
let handled = 0;
let reportHandled = (): void => {};
process.on("SIGUSR2", () => {
  handled++;
  reportHandled();
});
console.log("waiting");
if (kind === "sysv") {
  SemaphoreSet.fromId(Number(target)).acquire(0, 1, { undo: false });
} else {
  const memory = openMemory(target);
  if (kind === "futex") {
    const word = new FutexWord(memory, 0);
    while (word.load() === 0) word.wait(0);
  } else if (kind === "unnamed") {
    UnnamedSemaphore.at(memory, 64).wait();
  } else {
    using reader = Ring.attach(memory, 512).reader({ spinMicros: 0 });
    reader.peek();
  }
}
console.log("done");
// A signal listener does not keep the event loop alive: this timer does, until the handler has run.
const keepAlive = setInterval(() => {}, 1000);
reportHandled = () => {
  console.log(`handled ${handled}`);
  clearInterval(keepAlive);
  process.removeAllListeners("SIGUSR2");
};
if (handled > 0) reportHandled();
