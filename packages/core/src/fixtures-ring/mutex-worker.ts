// Takes the FutexMutex at offset 0 of MEMORY ITERATIONS times and, holding it, increments word 1 with
// a plain (non-atomic) read and write; prints "done". With "hold", takes it once, prints "locked" and
// keeps it until killed.
import { FutexMutex, int32View } from "../futex.ts";
import { openMemory } from "./memory.ts";

const [spec, iterations, mode = "sync"] = process.argv.slice(2) as [string, string, string?];
const memory = openMemory(spec);
const mutex = new FutexMutex(memory, 0);
const words = int32View(memory, 0, 2);
if (mode === "hold") {
  mutex.lock();
  console.log("locked");
  setInterval(() => {}, 1000);
} else {
  for (let i = Number(iterations); i > 0; i--) {
    if (mode === "async") await mutex.lockAsync();
    else mutex.lock();
    words[1] = words[1]! + 1;
    mutex.unlock();
  }
  console.log("done");
}
