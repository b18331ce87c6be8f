// Posts COUNT times to the unnamed POSIX semaphore at OFFSET of MEMORY (initialised by the test),
// or to the named semaphore NAME when MEMORY is "named:<name>". Prints "posted".
import { NamedSemaphore, UnnamedSemaphore } from "../semaphore.ts";
import { openMemory } from "./memory.ts";

const [spec, offset, count] = process.argv.slice(2) as [string, string, string];
if (spec.startsWith("named:")) {
  using semaphore = NamedSemaphore.open(spec.slice("named:".length));
  for (let i = Number(count); i > 0; i--) semaphore.post();
} else {
  using memory = openMemory(spec);
  const semaphore = UnnamedSemaphore.at(memory, Number(offset));
  for (let i = Number(count); i > 0; i--) semaphore.post();
}
console.log("posted");
