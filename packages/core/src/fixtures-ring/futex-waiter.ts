// Sleeps on word 0 of MEMORY while it is 0 (MODE sync or async), printing "waiting <address>" first,
// then "woken <value>".
import { FutexWord } from "../futex.ts";
import { openMemory } from "./memory.ts";

const [spec, mode] = process.argv.slice(2) as [string, string];
using memory = openMemory(spec);
const word = new FutexWord(memory, 0);
console.log(`waiting 0x${word.address.toString(16)}`);
while (word.load() === 0) {
  if (mode === "async") await word.waitAsync(0);
  else word.wait(0);
}
console.log(`woken ${word.load()}`);
