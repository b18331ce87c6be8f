// Takes one unit of semaphore 0 of the SysV set SEMID (with SEM_UNDO unless "no-undo"; "async" waits
// on a worker thread), prints "acquired" and keeps it until killed.
import { SemaphoreSet } from "../sys/sem.ts";

const [semid, undo = "undo", mode = "sync"] = process.argv.slice(2) as [string, string?, string?];
const set = SemaphoreSet.fromId(Number(semid));
if (mode === "async") await set.acquireAsync(0, 1, { undo: undo === "undo" });
else set.acquire(0, 1, { undo: undo === "undo" });
console.log("acquired");
setInterval(() => {}, 1000);
