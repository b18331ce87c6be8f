// Adds 1 to word 0 of MEMORY COUNT times with Atomics.add, after a barrier on word 1 so that the two
// processes of the test add at the same time. Prints "done".
import { int32View } from "../futex.ts";
import { openMemory } from "./memory.ts";

const [spec, count, parties] = process.argv.slice(2) as [string, string, string];
using memory = openMemory(spec);
const words = int32View(memory, 0, 2);
Atomics.add(words, 1, 1);
while (Atomics.load(words, 1) < Number(parties));
for (let i = Number(count); i > 0; i--) Atomics.add(words, 0, 1);
console.log("done");
